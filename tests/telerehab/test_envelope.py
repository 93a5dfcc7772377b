"""The safety-envelope check: absolute bounds, maximum step, unknown settings."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exoshare.demo.gait_profiles import healthy_profile
from exoshare.demo.gait_simulator import DeviceLimits, VirtualExoskeleton
from exoshare.demo.network_data import MODELS, ModelSpec
from exoshare.devices.envelope import SettingLimit, check_setting_change
from exoshare.errors import SettingOutsideEnvelope, UnknownSetting

ENVELOPE = {
    "guidance_force_pct": SettingLimit("guidance_force_pct", "%", 0, 100, 10),
    "treadmill_speed_mps": SettingLimit("treadmill_speed_mps", "m/s", 0.1, 3.2, 0.2),
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


# ------------------------------------------------ the server and the device run the same rule


def _server_accepts(limit: SettingLimit, current: float, proposed: float) -> bool:
    try:
        check_setting_change({limit.setting: limit}, limit.setting, current, proposed)
    except SettingOutsideEnvelope:
        return False
    return True


def _device_accepts(model: ModelSpec, limit: SettingLimit, current: float, proposed: float) -> bool:
    # The demo's device firmware, given its model's registered envelope (as the device client
    # builds it), starting from the value the server last saw confirmed.
    limits = DeviceLimits(
        settings={s.setting: s for s in model.envelope}, device_type=model.device_type.value
    )
    exo = VirtualExoskeleton(healthy_profile(), limits, initial_settings={limit.setting: current})
    accepted, _ = exo.apply_setting(limit.setting, proposed)
    return accepted


_SETTINGS = [(model, limit) for model in MODELS for limit in model.envelope]


@st.composite
def _changes(draw: st.DrawFn) -> tuple[ModelSpec, SettingLimit, float, float]:
    model, limit = draw(st.sampled_from(_SETTINGS))
    span = limit.max_value - limit.min_value
    # Current values on the grid a therapist walks (default plus whole steps) or anywhere.
    assert limit.default_value is not None
    on_grid = [
        v
        for k in range(-60, 61)
        if limit.min_value <= (v := limit.default_value + k * limit.max_step) <= limit.max_value
    ]
    current = draw(
        st.sampled_from(on_grid)
        | st.floats(limit.min_value, limit.max_value, allow_nan=False)
        | st.sampled_from([limit.min_value, limit.max_value])
    )
    # Proposals right at the edges of the rule: one step up or down, give or take a rounding
    # error or a millionth of the range, the bounds, just outside them, anything in between.
    sign = draw(st.sampled_from([-1.0, 1.0]))
    fuzz = draw(st.sampled_from([0.0, 1e-12, -1e-12, 1e-9, -1e-9, 5e-7, -5e-7, 2e-6, -2e-6]))
    proposed = draw(
        st.just(current + sign * limit.max_step + fuzz * span)
        | st.just(current + sign * limit.max_step * 0.5)
        | st.sampled_from([limit.min_value, limit.max_value])
        | st.just(limit.min_value - abs(fuzz) * span - 1e-12)
        | st.just(limit.max_value + abs(fuzz) * span + 1e-12)
        | st.floats(limit.min_value - span, limit.max_value + span, allow_nan=False)
    )
    return model, limit, current, proposed


@settings(max_examples=400, deadline=None, derandomize=True)
@given(_changes())
def test_server_and_device_accept_the_same_values(
    change: tuple[ModelSpec, SettingLimit, float, float],
) -> None:
    model, limit, current, proposed = change
    assert _server_accepts(limit, current, proposed) == _device_accepts(
        model, limit, current, proposed
    ), (model.key, limit.setting, current, proposed)


def test_a_step_the_server_passes_within_its_rounding_the_device_applies() -> None:
    """The device once allowed a step only 1e-9 over the maximum and the server a millionth of
    the range: a step of 0.0500001 m passed the server's check and the device rejected it."""
    model = next(m for m in MODELS if any(s.setting == "step_length_m" for s in m.envelope))
    limit = next(s for s in model.envelope if s.setting == "step_length_m")
    assert _server_accepts(limit, 0.30, 0.3500001)
    assert _device_accepts(model, limit, 0.30, 0.3500001)
    assert not _server_accepts(limit, 0.30, 0.351)
    assert not _device_accepts(model, limit, 0.30, 0.351)
