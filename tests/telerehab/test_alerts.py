"""Safety alert rules on known signals: raised once per episode, after the sustain time."""

from __future__ import annotations

import numpy as np

from exoshare.telerehab.alerts import AlertKind, AlertMonitor, AlertRules, quiet_batches

FS = 100.0


def _batches(values: np.ndarray, channel: str, size: int = 10) -> list[tuple[float, dict]]:
    return [(i / FS, {channel: values[i : i + size]}) for i in range(0, len(values), size)]


def test_skin_temperature_alert_after_sustain_and_once_per_episode() -> None:
    monitor = AlertMonitor(AlertRules(skin_temp_limit_c=41.0, sustain_s=1.0), FS)
    # 2 s at 40 °C, 3 s at 41.5 °C, 2 s at 40 °C, then another 2 s hot.
    temp = np.concatenate(
        [np.full(200, 40.0), np.full(300, 41.5), np.full(200, 40.0), np.full(200, 41.6)]
    )
    alerts = [
        a for start, ch in _batches(temp, "skin_temp_left_c") for a in monitor.observe(start, ch)
    ]
    raised = [a for a in alerts if not a.cleared]
    cleared = [a for a in alerts if a.cleared]
    assert [a.kind for a in raised] == [AlertKind.skin_temperature] * 2
    # Hot from t = 2.0 s; held for 1 s, the alert fires at the sample at 3.0 s.
    assert raised[0].at_s == 3.0
    assert raised[0].value == 41.5 and raised[0].limit == 41.0
    assert len(cleared) == 1 and cleared[0].at_s == 5.0
    assert AlertKind.skin_temperature in monitor.active()


def test_short_spike_does_not_alarm() -> None:
    monitor = AlertMonitor(AlertRules(skin_temp_limit_c=41.0, sustain_s=1.0), FS)
    temp = np.full(300, 40.0)
    temp[100:150] = 45.0  # half a second
    alerts = [
        a for start, ch in _batches(temp, "skin_temp_right_c") for a in monitor.observe(start, ch)
    ]
    assert alerts == []


def test_fall_from_shank_acceleration() -> None:
    monitor = AlertMonitor(AlertRules(fall_impact_g=6.0), FS)
    n = 200
    channels = {
        "shank_acc_x_left_mps2": np.full(n, 9.81),
        "shank_acc_y_left_mps2": np.zeros(n),
        "shank_acc_z_left_mps2": np.zeros(n),
    }
    channels["shank_acc_y_left_mps2"][120] = 80.0  # ~8.2 g impact
    alerts = monitor.observe(0.0, channels)
    assert len(alerts) == 1 and alerts[0].kind is AlertKind.fall
    assert alerts[0].at_s == 1.2
    assert round(alerts[0].value, 1) == 8.2


def test_link_lost_and_restored() -> None:
    monitor = AlertMonitor(AlertRules(link_lost_after_s=5.0), FS)
    monitor.observe(0.0, {"battery_pct": np.full(100, 80.0)})
    assert monitor.tick(4.0) == []
    lost = monitor.tick(7.0)
    assert [a.kind for a in lost] == [AlertKind.link_lost] and lost[0].value > 5.0
    assert monitor.tick(8.0) == []  # once per episode
    restored = monitor.observe(8.5, {"battery_pct": np.full(10, 80.0)})
    assert restored[0].cleared and restored[0].kind is AlertKind.link_lost


def test_battery_and_force_and_asymmetry() -> None:
    monitor = AlertMonitor(AlertRules(battery_low_pct=15, interaction_force_limit_n=200), FS)
    force = np.full(100, 100.0)
    force[40:70] = -260.0  # pushing the cuff the other way counts too
    alerts = monitor.observe(
        0.0, {"battery_pct": np.linspace(16, 14, 100), "interaction_force_right_n": force}
    )
    kinds = {a.kind for a in alerts if not a.cleared}
    assert kinds == {AlertKind.battery_low, AlertKind.interaction_force}
    assert monitor.observe_asymmetry(10.0, 12.0) == []
    raised = monitor.observe_asymmetry(20.0, -35.0)
    assert raised[0].kind is AlertKind.gait_asymmetry and raised[0].value == 35.0
    assert monitor.observe_asymmetry(30.0, 27.0) == []  # hysteresis: clears below 24 %
    assert monitor.observe_asymmetry(40.0, 20.0)[0].cleared


def test_nan_samples_neither_alarm_nor_crash() -> None:
    monitor = AlertMonitor(AlertRules(), FS)
    assert monitor.observe(0.0, {"skin_temp_left_c": np.full(200, np.nan)}) == []


def test_batches_checked_together_are_quiet_exactly_when_nothing_crosses_a_limit() -> None:
    """The hub checks a turn's batches together (one block per plan): a batch with one sample
    past a limit is not quiet and takes the rules' exact path, and its neighbours in the block
    stay quiet, whichever rules each session has."""
    rng = np.random.default_rng(5)
    strict = AlertRules(skin_temp_limit_c=38.0, interaction_force_limit_n=120.0)
    monitors = [AlertMonitor(AlertRules(), 100.0), AlertMonitor(strict, 100.0)]
    loud_values = [
        ("skin_temp_right_c", 41.5),
        ("interaction_force_left_n", -300.0),
        ("shank_acc_z_right_mps2", 80.0),
        ("battery_pct", 10.0),
    ]
    batches, sent, loud = [], [], []
    for i in range(80):
        channels = {
            "skin_temp_left_c": rng.normal(34.0, 0.1, 10),
            "skin_temp_right_c": rng.normal(34.0, 0.1, 10),
            "interaction_force_left_n": rng.normal(0.0, 20.0, 10),
            "interaction_force_right_n": rng.normal(0.0, 20.0, 10),
            "battery_pct": np.full(10, 60.0),
        }
        for side in ("left", "right"):
            for axis, g in zip("xyz", (0.0, 0.0, 9.81), strict=True):
                channels[f"shank_acc_{axis}_{side}_mps2"] = rng.normal(g, 1.0, 10)
        if i % 5 == 2:
            name, value = loud_values[(i // 5) % len(loud_values)]
            channels[name][int(rng.integers(10))] = value
        if i % 7 == 3:
            channels["skin_temp_left_c"][4] = np.nan  # a missing sample never alarms
        monitor = monitors[i % 2]
        plan = monitor.quiet_plan(channels)
        assert plan is not None
        batches.append((plan, plan.rows_of(channels, 10)))
        sent.append(channels)
        loud.append(i % 5 == 2)
    together = quiet_batches(batches)
    assert together == [quiet_batches([batch])[0] for batch in batches]
    assert together == [not is_loud for is_loud in loud]
    for i, (channels, quiet) in enumerate(zip(sent, together, strict=True)):
        if quiet:  # skipping the rules is safe: their exact path starts nothing either
            exact = AlertMonitor(monitors[i % 2].rules, 100.0)
            assert exact.observe(0.0, channels, quiet=False) == []
            assert all(e.above_since_s is None for e in exact._episodes.values())
