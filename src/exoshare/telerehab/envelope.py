"""The safety-envelope check every remote setting change must pass before it reaches a device.

Pure: no web or database imports, so the same rule runs in the server, in tests and in the
device simulator's own last-line check.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from exoshare.errors import SettingOutsideEnvelope, UnknownSetting


@dataclass(frozen=True)
class EnvelopeLimit:
    """One adjustable setting of a device model: absolute bounds and the largest change per step."""

    setting: str
    unit: str
    min_value: float
    max_value: float
    max_step: float


def check_setting_change(
    envelope: Mapping[str, EnvelopeLimit],
    setting: str,
    current_value: float | None,
    proposed_value: float,
) -> None:
    """Raise unless ``proposed_value`` is a safe next value for ``setting``.

    ``current_value`` is the value the device last confirmed; ``None`` (never confirmed) allows
    any value within the bounds, which is how a session's starting settings are checked.

    >>> env = {"guidance_force_pct": EnvelopeLimit("guidance_force_pct", "%", 0, 100, 10)}
    >>> check_setting_change(env, "guidance_force_pct", 60, 50)
    >>> try:
    ...     check_setting_change(env, "guidance_force_pct", 60, 30)
    ... except SettingOutsideEnvelope as refusal:
    ...     print(refusal.detail.split(";")[0])
    guidance_force_pct: a change from 60 to 30 % is 30 %, more than the model's maximum step of 10 %
    """
    limit = envelope.get(setting)
    if limit is None:
        known = ", ".join(sorted(envelope)) or "none"
        raise UnknownSetting(
            f"{setting!r} is not an adjustable setting of this model; adjustable: {known}",
            field="setting",
        )
    if not math.isfinite(proposed_value):
        raise SettingOutsideEnvelope(f"{setting}: the value must be a finite number", field="value")
    if not limit.min_value <= proposed_value <= limit.max_value:
        raise SettingOutsideEnvelope(
            f"{setting}: {_fmt(proposed_value)} {limit.unit} is outside the model's range "
            f"{_fmt(limit.min_value)}–{_fmt(limit.max_value)} {limit.unit}",
            field="value",
        )
    if current_value is not None:
        step = abs(proposed_value - current_value)
        # A tolerance of a millionth of the range absorbs float noise from unit conversions.
        if step > limit.max_step + 1e-6 * (limit.max_value - limit.min_value):
            raise SettingOutsideEnvelope(
                f"{setting}: a change from {_fmt(current_value)} to {_fmt(proposed_value)} "
                f"{limit.unit} is {_fmt(step)} {limit.unit}, more than the model's maximum step "
                f"of {_fmt(limit.max_step)} {limit.unit}; change it in steps",
                field="value",
            )


def _fmt(value: float) -> str:
    return f"{value:g}"
