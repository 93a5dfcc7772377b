"""The safety-envelope check: absolute bounds, maximum step, unknown settings."""

from __future__ import annotations

import math

import pytest

from exoshare.errors import SettingOutsideEnvelope, UnknownSetting
from exoshare.telerehab.envelope import EnvelopeLimit, check_setting_change

ENVELOPE = {
    "guidance_force_pct": EnvelopeLimit("guidance_force_pct", "%", 0, 100, 10),
    "treadmill_speed_mps": EnvelopeLimit("treadmill_speed_mps", "m/s", 0.1, 3.2, 0.2),
}


def test_within_bounds_and_step_is_accepted() -> None:
    check_setting_change(ENVELOPE, "guidance_force_pct", 60, 50)
    check_setting_change(ENVELOPE, "guidance_force_pct", 60, 70)
    check_setting_change(ENVELOPE, "treadmill_speed_mps", 0.5, 0.7)  # float step exactly 0.2
    check_setting_change(ENVELOPE, "guidance_force_pct", None, 100)


@pytest.mark.parametrize(
    ("setting", "current", "proposed", "words"),
    [
        ("guidance_force_pct", 60, 40, "maximum step of 10 %"),
        ("guidance_force_pct", 100, 110, "outside the model's range 0–100 %"),
        ("treadmill_speed_mps", 0.2, 0.0, "outside the model's range 0.1–3.2 m/s"),
        ("guidance_force_pct", 60, math.nan, "finite"),
    ],
)
def test_refusals_say_why(setting: str, current: float, proposed: float, words: str) -> None:
    with pytest.raises(SettingOutsideEnvelope, match=words) as info:
        check_setting_change(ENVELOPE, setting, current, proposed)
    assert info.value.field == "value"


def test_unknown_setting_lists_the_adjustable_ones() -> None:
    with pytest.raises(UnknownSetting, match="guidance_force_pct, treadmill_speed_mps"):
        check_setting_change(ENVELOPE, "body_weight_support_pct", 10, 20)
