"""Live sessions the server sustains: N devices at 100 Hz through ingestion and the live hub.

Each simulated device sends a 10-sample batch every 100 ms (100 Hz) for ``--seconds``; every
batch goes through :class:`exoshare.telemetry.ingest.Ingestor` (decode, validation, Parquet
write, SQL index on SQLite) on a pool of worker threads, then the live hub (decimation, rolling
gait analysis, alerts) and a viewer's asyncio queue, as the WebSocket endpoint uses it. Latency
is from the moment the batch's last sample was measured to the moment the viewer's queue hands
the frame out. Not included: the MQTT broker hop and the WebSocket write (see docs/telerehab.md).

    uv run python benchmarks/telerehab_live.py --sessions 25 50 100 200 --seconds 15
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.world builds the network

from exoshare.db import make_engine, make_sessionmaker, session_scope, upgrade
from exoshare.demo.gait_profiles import healthy_profile
from exoshare.demo.gait_simulator import VirtualExoskeleton
from exoshare.telemetry import service as telemetry
from exoshare.telemetry.ingest import Ingestor
from exoshare.telemetry.protocol import SampleBatch, SessionAnnounce, encode
from exoshare.telemetry.store import RawStore
from exoshare.telerehab.live import LiveHub
from exoshare.telerehab.runtime import TelerehabRuntime


def _world(factory, n: int):  # type: ignore[no-untyped-def]
    from tests.world import build_world

    world = build_world(factory)
    from exoshare.devices.models import DeviceUnit

    secrets = []
    with session_scope(factory) as s:
        template = s.get(DeviceUnit, world.ids["unit_madrid"])
        for i in range(n):
            unit = DeviceUnit(
                serial_number=f"BENCH-{i:04d}",
                model_id=template.model_id,  # type: ignore[union-attr]
                org_unit_id=template.org_unit_id,  # type: ignore[union-attr]
            )
            s.add(unit)
            s.flush()
            secret, _ = telemetry.issue_device_credential(s, None, unit.id)
            secrets.append((unit.serial_number, secret))
    return world, secrets


async def run(n_sessions: int, seconds: float, workers: int) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="exo-bench-"))
    url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    upgrade(url)
    factory = make_sessionmaker(make_engine(url))
    world, devices = _world(factory, n_sessions)
    ingestor = Ingestor(factory, RawStore(str(tmp / "telemetry")))
    runtime = TelerehabRuntime(factory)
    runtime.attach(ingestor)
    hub: LiveHub = runtime.hub
    pool = ThreadPoolExecutor(workers)
    loop = asyncio.get_running_loop()
    start = time.time() + 1.0
    patient = world.ids["patient_carlos"]
    exo = VirtualExoskeleton(healthy_profile(), seed=1)
    names = exo.channel_names()
    template = exo.next_batch(int((seconds + 2) * 100))
    therapy_ids = []
    from exoshare.auth import service as auth_service
    from exoshare.auth.models import User
    from exoshare.telerehab import service as telerehab
    from exoshare.telerehab.models import TherapyLocation

    with session_scope(factory) as s:
        user = s.get(User, world.ids["therapist_madrid"])
        principal = auth_service.principal_for(s, user)  # type: ignore[arg-type]
        from sqlalchemy import select

        from exoshare.devices.models import DeviceUnit

        units = {u.serial_number: u.id for u in s.scalars(select(DeviceUnit))}
        for serial, _ in devices:
            rec = telerehab.plan_session(s, principal, patient, units[serial], TherapyLocation.home)
            therapy_ids.append(rec.id)
    for serial, secret in devices:
        wire = SessionAnnounce(
            "bench", serial, patient, start, 100.0, {n: exo_unit(n) for n in names},
            settings=exo.settings,
        ).to_wire()  # fmt: skip
        wire["auth"] = secret
        ingestor.handle(encode(wire))
    latencies: list[float] = []
    received = 0

    async def viewer(therapy_id: str) -> None:
        nonlocal received
        sub = hub.subscribe(therapy_id)
        while True:
            frame = await sub.queue.get()
            data = json.loads(frame)
            if data.get("type") == "batch":
                latencies.append(time.time() - data["sent_s"])
                received += 1

    viewers = [asyncio.create_task(viewer(t)) for t in therapy_ids]
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    n_batches = int(seconds * 10)

    async def device(i: int, serial: str, secret: str) -> None:
        offset = (i / n_sessions) * 0.1  # devices are not in lockstep
        for seq in range(n_batches):
            due = start + offset + (seq + 1) * 0.1
            await asyncio.sleep(max(0.0, due - time.time()))
            first = seq * 10
            values = {n: template[n][first : first + 10] for n in names}
            batch = SampleBatch("bench", seq, start + offset + first / 100.0, 10, values)
            wire = batch.to_wire()
            wire["auth"] = secret
            batch_sent = start + offset + (first + 9) / 100.0
            del batch_sent
            loop.run_in_executor(pool, ingestor.handle, encode(wire))

    t0 = time.perf_counter()
    await asyncio.gather(*(device(i, s, k) for i, (s, k) in enumerate(devices)))
    await asyncio.sleep(1.0)
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    for v in viewers:
        v.cancel()
    pool.shutdown(wait=True)
    cpu_s = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    lat = np.array(latencies) * 1000
    expected = n_sessions * n_batches
    return {
        "sessions": n_sessions,
        "frames": received,
        "expected": expected,
        "p50_ms": float(np.percentile(lat, 50)) if lat.size else float("nan"),
        "p99_ms": float(np.percentile(lat, 99)) if lat.size else float("nan"),
        "cpu_pct_per_session": 100 * cpu_s / wall / n_sessions,
        "cpu_cores": cpu_s / wall,
        "stage_s": dict(ingestor.times.seconds),  # type: ignore[dict-item]
    }


def exo_unit(name: str) -> str:
    from exoshare.gait.channels import channel

    return channel(name).unit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[25, 50, 100, 200])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    header = ("sessions", "frames", "p50 ms", "p99 ms", "CPU %/session", "cores")
    print(" ".join(f"{h:>8}" for h in header))
    for n in args.sessions:
        r = asyncio.run(run(n, args.seconds, args.workers))
        print(
            f"{r['sessions']:>8} {r['frames']:>5}/{r['expected']:<5} {r['p50_ms']:>8.0f} "
            f"{r['p99_ms']:>8.0f} {r['cpu_pct_per_session']:>14.2f} {r['cpu_cores']:>6.2f}"
        )
        stages = r["stage_s"]
        total = sum(stages.values()) or 1.0  # type: ignore[union-attr]
        print(
            "         ingestion time shares: "
            + ", ".join(
                f"{k} {100 * v / total:.0f}%"
                for k, v in stages.items()  # type: ignore[union-attr]
            )
        )


if __name__ == "__main__":
    main()
