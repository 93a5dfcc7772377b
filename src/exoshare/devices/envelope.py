"""A device model's safety envelope: the bounds and largest change of every adjustable setting.

One class (:class:`SettingLimit`, one adjustable setting of a model) and one rule
(:func:`breach`, "may this setting go from ``current`` to ``proposed``?"). Pure: no web or
database imports. The server checks every remote setting change with :func:`check_setting_change`
and the device simulator's firmware (``demo/gait_simulator.py``) runs the same :func:`breach` as
its last line of safety, so a value the server accepts the device accepts too, and the other way
round; each only words its refusal in its own way. :func:`check_envelope` is the rule for an
envelope a maker registers.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from exoshare.errors import InvalidInput, SettingOutsideEnvelope, UnknownSetting

STEP_TOLERANCE = 1e-6
"""A change may exceed the maximum step by this fraction of the setting's range: float noise of
unit conversions and of summed steps (0.5 + 0.2 is not exactly 0.7) is not a bigger step."""


@dataclass(frozen=True)
class SettingLimit:
    """One adjustable setting of a device model: absolute bounds, the largest change per step
    and the value at power-on (None: the device keeps its own starting value)."""

    setting: str
    unit: str
    min_value: float
    max_value: float
    max_step: float
    default_value: float | None = None

    @classmethod
    def of(cls, row: Any) -> SettingLimit:
        """The limit of a stored envelope row (anything with the same attributes)."""
        return cls(
            row.setting, row.unit, row.min_value, row.max_value, row.max_step, row.default_value
        )

    def step_too_big(self, current: float, proposed: float) -> bool:
        """Whether going from ``current`` to ``proposed`` is more than one step."""
        tolerance = STEP_TOLERANCE * (self.max_value - self.min_value)
        return abs(proposed - current) > self.max_step + tolerance


class Breach(enum.Enum):
    """Why a proposed value is not a safe next value of a setting."""

    unknown_setting = "unknown-setting"
    not_finite = "not-finite"
    out_of_range = "out-of-range"
    step_too_big = "step-too-big"


def breach(
    envelope: Mapping[str, SettingLimit],
    setting: str,
    current_value: float | None,
    proposed_value: float,
) -> Breach | None:
    """The one envelope rule: None when ``proposed_value`` is a safe next value of ``setting``.

    ``current_value`` is the value the device last confirmed; ``None`` (never confirmed) allows
    any value within the bounds, which is how a session's starting settings are checked.

    >>> env = {"guidance_force_pct": SettingLimit("guidance_force_pct", "%", 0, 100, 10)}
    >>> breach(env, "guidance_force_pct", 60, 50) is None
    True
    >>> breach(env, "guidance_force_pct", 60, 30)
    <Breach.step_too_big: 'step-too-big'>
    """
    limit = envelope.get(setting)
    if limit is None:
        return Breach.unknown_setting
    if not math.isfinite(proposed_value):
        return Breach.not_finite
    if not limit.min_value <= proposed_value <= limit.max_value:
        return Breach.out_of_range
    if current_value is not None and limit.step_too_big(current_value, proposed_value):
        return Breach.step_too_big
    return None


def check_setting_change(
    envelope: Mapping[str, SettingLimit],
    setting: str,
    current_value: float | None,
    proposed_value: float,
) -> None:
    """The server's check: raise unless :func:`breach` finds nothing, saying why in its words.

    >>> env = {"guidance_force_pct": SettingLimit("guidance_force_pct", "%", 0, 100, 10)}
    >>> check_setting_change(env, "guidance_force_pct", 60, 50)
    >>> try:
    ...     check_setting_change(env, "guidance_force_pct", 60, 30)
    ... except SettingOutsideEnvelope as refusal:
    ...     print(refusal.detail.split(";")[0])
    guidance_force_pct: a change from 60 to 30 % is 30 %, more than the model's maximum step of 10 %
    """
    found = breach(envelope, setting, current_value, proposed_value)
    if found is None:
        return
    if found is Breach.unknown_setting:
        known = ", ".join(sorted(envelope)) or "none"
        raise UnknownSetting(
            f"{setting!r} is not an adjustable setting of this model; adjustable: {known}",
            field="setting",
        )
    limit = envelope[setting]
    if found is Breach.not_finite:
        raise SettingOutsideEnvelope(f"{setting}: the value must be a finite number", field="value")
    if found is Breach.out_of_range:
        raise SettingOutsideEnvelope(
            f"{setting}: {_fmt(proposed_value)} {limit.unit} is outside the model's range "
            f"{_fmt(limit.min_value)}–{_fmt(limit.max_value)} {limit.unit}",
            field="value",
        )
    assert current_value is not None
    step = abs(proposed_value - current_value)
    raise SettingOutsideEnvelope(
        f"{setting}: a change from {_fmt(current_value)} to {_fmt(proposed_value)} "
        f"{limit.unit} is {_fmt(step)} {limit.unit}, more than the model's maximum step "
        f"of {_fmt(limit.max_step)} {limit.unit}; change it in steps",
        field="value",
    )


def check_envelope(limits: Iterable[SettingLimit]) -> None:
    """The rule for an envelope a maker registers: each setting once, a real range, a step no
    larger than the range, a power-on value within it (InvalidInput naming the field)."""
    seen: set[str] = set()
    for i, spec in enumerate(limits):
        where = f"envelope[{i}] ({spec.setting})"
        if spec.setting in seen:
            raise InvalidInput(f"{where}: setting listed twice", field=f"envelope.{i}.setting")
        seen.add(spec.setting)
        if spec.min_value >= spec.max_value:
            raise InvalidInput(f"{where}: min_value must be below max_value", field=f"envelope.{i}")
        if not 0 < spec.max_step <= spec.max_value - spec.min_value:
            raise InvalidInput(
                f"{where}: max_step must be positive and no larger than the range",
                field=f"envelope.{i}.max_step",
            )
        if spec.default_value is None or not (
            spec.min_value <= spec.default_value <= spec.max_value
        ):
            raise InvalidInput(
                f"{where}: default_value must lie within min_value..max_value",
                field=f"envelope.{i}.default_value",
            )


def _fmt(value: float) -> str:
    return f"{value:g}"
