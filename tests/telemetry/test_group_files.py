"""One Parquet file per ingestion group: every batch reads back exactly as it was written."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq

from exoshare.telemetry.store import RawStore

# Device models with different channels; the third has the first's in another order.
CHANNEL_SETS = (
    ("hip_angle_left_deg", "knee_angle_left_deg", "battery_pct"),
    ("knee_angle_left_deg", "skin_temp_left_c"),
    ("battery_pct", "hip_angle_left_deg", "knee_angle_left_deg"),
)


def _batches(rng: np.random.Generator, sets: tuple[tuple[str, ...], ...], count: int) -> list:
    out = []
    for seq in range(count):
        names = sets[int(rng.integers(len(sets)))]
        n = int(rng.integers(1, 13))
        block = rng.normal(0, 50, (len(names), n)).astype(np.float32).astype(np.float64)
        block[rng.random(block.shape) < 0.05] = np.nan  # a sensor's missing samples
        values = dict(zip(names, block, strict=True))
        times = 100.0 + seq + np.arange(n) / 100
        # Half as read from MessagePack (with the channels' block), half as from JSON.
        out.append((seq, names, times, values, block if seq % 2 else None))
    return out


def _written_and_read(tmp_path, sets, count, seed):
    rng = np.random.default_rng(seed)
    batches = _batches(rng, sets, count)
    store = RawStore(str(tmp_path / "raw"))
    writer = store.group()
    names = [
        writer.write_batch("DEV-1", f"s{seq % 3}", seq, times, values, block)
        for seq, _, times, values, block in batches
    ]
    writer.flush()
    return store, batches, names


def test_a_group_of_several_device_models_reads_back_each_batch_exactly(tmp_path) -> None:
    store, batches, names = _written_and_read(tmp_path, CHANNEL_SETS, 120, seed=7)
    assert len({name.partition("#")[0] for name in names}) == 1  # one file for the group
    for (seq, channels, times, values, _), name in zip(batches, names, strict=True):
        stored = store.read_batch(name)
        np.testing.assert_array_equal(stored.time_s, times)
        assert set(stored.values) == set(channels), seq  # no channel of another model
        for channel in channels:
            np.testing.assert_array_equal(stored.values[channel], values[channel])
    table = pq.read_table(tmp_path / "raw" / names[0].partition("#")[0])
    # A channel a batch's model lacks is null there; a missing sample is NaN, not null.
    rows = 0
    for _, channels, times, _, _ in batches:
        for column in ("skin_temp_left_c", "hip_angle_left_deg"):
            cells = table.column(column).slice(rows, times.size)
            if column in channels:
                assert cells.null_count == 0
            else:
                assert cells.null_count == times.size
        rows += times.size
    assert rows == table.num_rows


def test_a_group_of_one_device_model_has_no_empty_cells(tmp_path) -> None:
    store, batches, names = _written_and_read(tmp_path, CHANNEL_SETS[:1], 40, seed=3)
    table = pq.read_table(tmp_path / "raw" / names[0].partition("#")[0])
    assert all(table.column(c).null_count == 0 for c in CHANNEL_SETS[0])
    for (_, _, _, values, _), name in zip(batches, names, strict=True):
        stored = store.read_batch(name).values
        for channel, samples in values.items():
            np.testing.assert_array_equal(stored[channel], samples)
