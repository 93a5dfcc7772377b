"""Domain errors of tele-rehabilitation (each maps to one HTTP problem)."""

from __future__ import annotations

from exoshare.errors import Conflict, InvalidInput, PermissionDenied


class InvalidTransition(Conflict):
    """The session cannot go from its current state to the one asked for."""

    slug = "invalid-session-transition"
    title = "Invalid session transition"


class SessionNotLive(Conflict):
    slug = "session-not-live"
    title = "Session not live"


class UnitBusy(Conflict):
    slug = "unit-busy"
    title = "Device unit busy"


class CommandPending(Conflict):
    slug = "command-pending"
    title = "A change of this setting is still waiting for the device"


class NotCertified(PermissionDenied):
    """The therapist holds no valid certificate for the device model."""

    slug = "not-certified"
    title = "Not certified for this device model"


class AlreadyAcknowledged(Conflict):
    slug = "alert-already-acknowledged"
    title = "Alert already acknowledged"


class NoteRequired(InvalidInput):
    slug = "note-required"
    title = "A note is required"


class ReasonRequired(InvalidInput):
    """Aborting a session needs a reason, kept in the record and the audit log."""

    slug = "reason-required"
    title = "A reason is required"
