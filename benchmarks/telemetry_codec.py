"""MessagePack vs JSON for the telemetry sample batch: size and encode/decode speed.

Run: ``uv run python benchmarks/telemetry_codec.py``. One batch = 1 s at 100 Hz of the 25
channels an overground exoskeleton sends (joint angles, shank IMU, torques, forces, EMG, skin
temperature, battery, assistance), realistic values from the device simulator.
"""

from __future__ import annotations

import time

import numpy as np

from exoshare.demo.gait_profiles import healthy_profile
from exoshare.demo.gait_simulator import VirtualExoskeleton
from exoshare.telemetry.protocol import SampleBatch, decode, encode, encode_json, parse_message

CHANNELS = [
    *(f"{j}_angle_{s}_deg" for j in ("hip", "knee", "ankle") for s in ("left", "right")),
    *(
        f"shank_{q}_{a}_{s}_{u}"
        for q, u in (("acc", "mps2"), ("gyr", "dps"))
        for a in ("x", "y", "z")
        for s in ("left", "right")
    ),
    "hip_torque_left_nm",
    "hip_torque_right_nm",
    "knee_torque_left_nm",
    "knee_torque_right_nm",
    "interaction_force_left_n",
    "interaction_force_right_n",
    "skin_temp_left_c",
    "battery_pct",
    "assistance_pct",
]


def _timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1e6


def main(n_samples: int = 100, repeat: int = 2000) -> None:
    produced = VirtualExoskeleton(healthy_profile(), seed=3).next_batch(n_samples)
    values = {name: produced[name] for name in CHANNELS if name in produced}
    batch = SampleBatch("2026-01-01-s1", 42, 1_767_225_600.0, n_samples, values)
    variants = {
        "JSON (number lists)": (
            lambda: encode_json(batch.to_wire(binary=False)),
            batch.to_wire(binary=False),
            encode_json,
        ),
        "MessagePack (float64 lists)": (
            lambda: encode(batch.to_wire(binary=False)),
            batch.to_wire(binary=False),
            encode,
        ),
        "MessagePack (float32 bin)": (lambda: encode(batch.to_wire()), batch.to_wire(), encode),
    }
    print(f"one batch: {len(values)} channels x {n_samples} samples")
    print(f"{'format':30} {'bytes':>8} {'encode µs':>10} {'decode µs':>10} {'vs JSON size':>12}")
    json_size = None
    for name, (build_and_encode, _wire, _enc) in variants.items():
        payload = build_and_encode()
        size = len(payload)
        json_size = json_size or size
        enc = _timed(build_and_encode, repeat)
        dec = _timed(lambda p=payload: parse_message(decode(p)), repeat)
        print(f"{name:30} {size:8d} {enc:10.1f} {dec:10.1f} {size / json_size:12.2f}")
    exact = parse_message(decode(encode(batch.to_wire())))
    assert isinstance(exact, SampleBatch)
    err = max(float(np.nanmax(np.abs(exact.values[n] - values[n]))) for n in values)
    print(f"largest float32 rounding error over the batch: {err:.2e} (channel units)")


if __name__ == "__main__":
    main()
