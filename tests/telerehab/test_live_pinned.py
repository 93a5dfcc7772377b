"""What a therapist sees from a known input is pinned: display points (min/max per bucket, NaN as
null), vitals, metrics, link quality and alerts of every frame, as JSON text exactly as viewers
get it. The hub's per-batch path is tuned for speed; this proves a tuning changes nothing.

The pinned file was written by the straightforward per-channel implementation; regenerate it
only for an intended change of what is shown: ``uv run python -m tests.telerehab.test_live_pinned``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np

from exoshare.telemetry.protocol import SampleBatch
from exoshare.telerehab.alerts import AlertRules
from exoshare.telerehab.live import LiveHub

PINNED = Path(__file__).parent / "data" / "live_frames.json"
START_S = 1_700_000_000.0
FS = 100.0
SECONDS = 22


def _signals() -> dict[str, np.ndarray]:
    """22 s of gait-like channels with dropouts, a hot cuff, a force spike, an impact and a
    draining battery."""
    rng = np.random.default_rng(7)
    n = int(SECONDS * FS)
    t = np.arange(n) / FS
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


def _batches() -> list[SampleBatch]:
    """Batches as the link delivers them: mostly in order, some resent, a late run of three,
    batches of 8 and 7 samples, a batch without one display channel."""
    signals = _signals()
    # A batch of 8 samples between two full display buckets lacks one display channel.
    bounds = [0, 10, 20, 30, 40, 48, *range(58, 500, 10), 505, *range(515, int(SECONDS * FS), 10)]
    chunks = list(zip(bounds, [*bounds[1:], int(SECONDS * FS)], strict=True))
    batches = []
    for seq, (lo, hi) in enumerate(chunks):
        values = {name: v[lo:hi].copy() for name, v in signals.items()}
        if seq == 4:
            del values["ankle_angle_right_deg"]
        batches.append(SampleBatch("dev", seq, START_S + lo / FS, hi - lo, values))
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


if __name__ == "__main__":
    PINNED.write_text(json.dumps(feed(), indent=0) + "\n")
