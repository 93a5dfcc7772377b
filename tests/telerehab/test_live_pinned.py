"""What a therapist sees from a known input is pinned: display points (min/max per bucket, NaN as
null), vitals, metrics, link quality and alerts of every frame, as JSON text exactly as viewers
get it. The hub's per-batch path is tuned for speed; this proves a tuning changes nothing.

The pinned file was written by the straightforward per-channel implementation; regenerate it
only for an intended change of what is shown: ``uv run python -m tests.telerehab.test_live_pinned``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from exoshare.telemetry.protocol import SampleBatch, decode, encode, parse_message
from exoshare.telerehab import live as live_module
from exoshare.telerehab.alerts import AlertRules
from exoshare.telerehab.live import LiveHub, _frame_json

PINNED = Path(__file__).parent / "data" / "live_frames.json"
START_S = 1_700_000_000.0
FS = 100.0
SECONDS = 22


def _signals(seed: int = 7, fs: float = FS) -> dict[str, np.ndarray]:
    """22 s of gait-like channels with dropouts, a hot cuff, a force spike, an impact and a
    draining battery."""
    rng = np.random.default_rng(seed)
    n = int(SECONDS * fs)
    t = np.arange(n) / fs
    out: dict[str, np.ndarray] = {}
    for k, side in enumerate(("left", "right")):
        # The right leg is slower in swing: step times differ, so the symmetry index is not 0.
        phase = 2 * np.pi * (t / 1.1 - 0.5 * k) + (0.6 * k) * np.sin(2 * np.pi * t / 1.1)
        out[f"hip_angle_{side}_deg"] = 10 + 25 * np.sin(phase) + rng.normal(0, 0.5, n)
        out[f"knee_angle_{side}_deg"] = 30 + 30 * np.sin(phase - 1.0) + rng.normal(0, 0.5, n)
        out[f"ankle_angle_{side}_deg"] = 5 * np.sin(phase + 0.7) + rng.normal(0, 0.3, n)
        out[f"shank_gyr_z_{side}_dps"] = 250 * np.maximum(np.sin(phase), -0.3) + rng.normal(0, 3, n)
        for axis, g in zip("xyz", (0.0, 0.0, 9.81), strict=True):
            out[f"shank_acc_{axis}_{side}_mps2"] = g + rng.normal(0, 1.0, n)
        out[f"interaction_force_{side}_n"] = 20 * np.sin(phase) + rng.normal(0, 2, n)
        out[f"skin_temp_{side}_c"] = 33.0 + 0.1 * k + rng.normal(0, 0.05, n)
    out["battery_pct"] = np.linspace(17.0, 14.0, n)
    out["assistance_pct"] = np.full(n, 50.0)
    # Dropouts: one sample, a whole display bucket, and one leg's gyro for half a second.
    out["knee_angle_left_deg"][123] = np.nan
    out["hip_angle_right_deg"][400:416] = np.nan
    out["shank_gyr_z_right_dps"][760:810] = np.nan
    out["skin_temp_left_c"][300:450] = 41.5  # hot for 1.5 s: raised after 1 s, then cleared
    out["interaction_force_right_n"][600:630] = -300.0  # pulling: the magnitude counts
    out["shank_acc_z_left_mps2"][900] = 80.0  # ~8 g impact
    out["interaction_force_left_n"][950] = np.nan
    out["battery_pct"][1000:1003] = np.nan
    return out


def _batches(seed: int = 7, fs: float = FS) -> list[SampleBatch]:
    """Batches as the link delivers them: mostly in order, some resent, a late run of three,
    batches of 8 and 7 samples, a batch without one display channel."""
    signals = _signals(seed, fs)
    # A batch of 8 samples between two full display buckets lacks one display channel.
    n = int(SECONDS * fs)
    bounds = [0, 10, 20, 30, 40, 48, *range(58, 500, 10), 505, *range(515, n, 10)]
    chunks = list(zip(bounds, [*bounds[1:], n], strict=True))
    batches = []
    for seq, (lo, hi) in enumerate(chunks):
        values = {name: v[lo:hi].copy() for name, v in signals.items()}
        if seq == 4:
            del values["ankle_angle_right_deg"]
        batches.append(SampleBatch("dev", seq, START_S + lo / fs, hi - lo, values))
    order = list(range(len(batches)))
    late = order[70:73]
    del order[70:73]
    order[80:80] = late  # a gap of three batches, delivered later
    order[20:20] = [15, 19]  # resends: shown once
    return [batches[i] for i in order]


def feed() -> list[str]:
    """Every frame text a viewer receives and every alert the hub reports, in order."""

    async def run() -> list[str]:
        hub = LiveHub()
        live = hub.follow("therapy", "telemetry", FS, START_S, AlertRules(), meta={})
        viewer = hub.subscribe("therapy")
        out: list[str] = []
        for i, batch in enumerate(_batches()):
            shown = hub.on_batch(live, batch, received_wall_s=START_S + 0.1 * i + 0.3)
            if shown is None:
                out.append(f"already shown: {batch.seq}")
                continue
            frame, alerts = shown
            hub.publish("therapy", frame)
            out.append(viewer.queue.get_nowait())
            out += [repr(alert) for alert in alerts]
        out.append(json.dumps(hub.snapshot("therapy", START_S + 20.0), allow_nan=False))
        return out

    return asyncio.run(run())


def test_frames_and_alerts_from_a_known_input_are_unchanged() -> None:
    expected = json.loads(PINNED.read_text())
    got = feed()
    assert len(got) == len(expected)
    for i, (mine, theirs) in enumerate(zip(got, expected, strict=True)):
        assert mine == theirs, f"line {i} differs"


def test_the_known_input_exercises_alerts_gaps_and_missing_samples() -> None:
    text = "\n".join(json.loads(PINNED.read_text()))
    for kind in ("skin_temperature", "interaction_force", "fall", "battery_low"):
        assert f"AlertKind.{kind}" in text
    assert "cleared=True" in text
    assert "already shown" in text
    assert "null" in text
    assert '"cadence_steps_per_min":null' in text  # a window with missing samples
    assert '"steps":16,"cadence_steps_per_min":109.1' in text  # the clean window at 20 s


def _wired(batch: SampleBatch) -> SampleBatch:
    message = parse_message(decode(encode(batch.to_wire())))
    assert isinstance(message, SampleBatch) and message.block is not None
    return message


def _one_by_one_and_in_turns(
    streams: list[list[SampleBatch]], rates: list[float], seed: int
) -> tuple[list[str], list[str]]:
    """The streams of several sessions merged at random (each in its own order) and cut into
    turns of 1 to 40 batches, through one hub batch by batch and through another a turn at a
    time: what each reports and, at the end, each session's snapshot."""
    rng = np.random.default_rng(seed)
    order = [k for k, stream in enumerate(streams) for _ in stream]
    rng.shuffle(order)
    position = [0] * len(streams)
    merged = []
    for k in order:
        merged.append((k, streams[k][position[k]]))
        position[k] += 1
    turns = []
    while merged:
        size = int(rng.integers(1, 41))
        turns.append(merged[:size])
        merged = merged[size:]

    def run(together: bool) -> list[str]:
        hub = LiveHub()
        lives = [
            hub.follow(f"therapy-{k}", f"telemetry-{k}", fs, START_S, AlertRules(), meta={})
            for k, fs in enumerate(rates)
        ]
        out: list[str] = []
        for t, turn in enumerate(turns):
            items = [(lives[k], batch) for k, batch in turn]
            now = START_S + 0.1 * t + 0.3
            if together:
                results = hub.on_batches(items, received_wall_s=now)
            else:
                results = [hub.on_batch(live, batch, received_wall_s=now) for live, batch in items]
            for (k, batch), shown in zip(turn, results, strict=True):
                if shown is None:
                    out.append(f"{k} already shown: {batch.seq}")
                    continue
                frame, alerts = shown
                out.append(f"{k} {_frame_json(frame)} {alerts!r}")
        out += [json.dumps(hub.snapshot(f"therapy-{k}", START_S + 20.0)) for k in range(len(rates))]
        return out

    return run(False), run(True)


def test_a_turn_of_many_sessions_shows_each_batch_as_taking_them_one_by_one_would() -> None:
    """The hub takes a turn's batches together, the NumPy work of like-shaped batches in one go.
    Sessions with their own signals (at 100 and 50 Hz), alerts, dropouts, resends, late batches
    and odd batch sizes, several batches of one session in a turn: the same frames, alerts and
    snapshots as one batch at a time, which the pinned input above holds to what was shown
    before."""
    rates = [FS, FS, FS, 50.0, FS, FS]
    # As the tap gets them: read from MessagePack (channels as one block, float32 samples).
    streams = [[_wired(b) for b in _batches(seed=11 + k, fs=fs)] for k, fs in enumerate(rates)]
    one_by_one, in_turns = _one_by_one_and_in_turns(streams, rates, seed=3)
    assert any(line.startswith("3 ") and "AlertKind" in line for line in one_by_one)
    assert sum("already shown" in line for line in one_by_one) == 2 * len(rates)
    assert len(in_turns) == len(one_by_one)
    for i, (mine, theirs) in enumerate(zip(in_turns, one_by_one, strict=True)):
        assert mine == theirs, f"line {i} differs"


def _turn_by_turn(broken: int | None = None) -> list[list[str]]:
    """Four sessions, each turn one batch of each, through one hub: per session, what it
    reports. ``broken``: that session's alert monitor fails on every batch."""
    streams = [_batches(seed=21 + k) for k in range(4)]
    hub = LiveHub()
    lives = [
        hub.follow(f"therapy-{k}", f"telemetry-{k}", FS, START_S, AlertRules(), meta={})
        for k in range(4)
    ]
    if broken is not None:

        def fail(*args: object, **kwargs: object) -> list[object]:
            raise RuntimeError("a defect the hub has not met yet")

        lives[broken].monitor.observe = fail  # type: ignore[method-assign]
    out: list[list[str]] = [[] for _ in streams]
    for t in range(len(streams[0])):
        items = [(lives[k], stream[t]) for k, stream in enumerate(streams)]
        for k, shown in enumerate(hub.on_batches(items, received_wall_s=START_S + 0.1 * t)):
            out[k].append("none" if shown is None else f"{_frame_json(shown[0])} {shown[1]!r}")
    return out


def test_a_batch_the_hub_fails_on_costs_only_its_own_frame(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A batch that makes the hub fail (a defect, say, that one device's data meets) is logged
    and not shown; the other sessions of its turns get every frame and alert as before."""
    healthy = _turn_by_turn()
    assert sum("AlertKind" in line for line in healthy[2]) >= 4
    with caplog.at_level(logging.ERROR):
        one_broken = _turn_by_turn(broken=1)
    assert one_broken[1] == ["none"] * len(healthy[1])
    assert [one_broken[k] for k in (0, 2, 3)] == [healthy[k] for k in (0, 2, 3)]
    assert "live hub failed on batch 0 of therapy session therapy-1" in caplog.text


def test_the_grouped_work_failing_falls_back_to_one_batch_at_a_time(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Should the grouped decimation or the grouped alert pre-check fail, each batch of the
    group is worked out alone: the same frames and alerts, nothing lost."""
    healthy = _turn_by_turn()

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a defect the hub has not met yet")

    monkeypatch.setattr(live_module, "_pick_group", fail)
    monkeypatch.setattr(live_module, "quiet_batches", fail)
    with caplog.at_level(logging.ERROR):
        assert _turn_by_turn() == healthy
    assert "display decimation failed on a group of 4 batches" in caplog.text
    assert "the alerts' pre-check failed" in caplog.text


if __name__ == "__main__":
    PINNED.write_text(json.dumps(feed(), indent=0) + "\n")
