"""Errors of telemetry ingestion; each names the problem with a stable ``code``."""

from __future__ import annotations

from typing import Any

from exoshare.errors import ExoshareError, InvalidInput, NotAuthenticated


class TelemetryRejected(InvalidInput):
    """A message or file that is refused as a whole; nothing of it is stored.

    ``code`` is a stable machine name of the problem (``unknown-channel``, ``wrong-unit``,
    ``non-monotonic-timestamps``, ``duplicate-timestamps``, ``nan-burst``, ``out-of-range``,
    ``wrong-sampling-rate``, ``unknown-device``, ``unknown-session``, ``unknown-patient``,
    ``malformed``, ``overlapping-batch``, ``session-conflict``, ``session-ended``, ...).
    """

    slug = "telemetry-rejected"
    title = "Telemetry rejected"

    def __init__(self, code: str, detail: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail, field=field, code=code, **extra)
        self.code = code


class DeviceNotAuthenticated(NotAuthenticated):
    """The device credential is missing, unknown or revoked, or belongs to another device."""

    slug = "device-not-authenticated"
    title = "Device not authenticated"


class UploadTooLarge(ExoshareError):
    """A recording upload larger than ``telemetry_max_upload_mb``; nothing of it is stored."""

    status = 413
    slug = "upload-too-large"
    title = "Upload too large"
