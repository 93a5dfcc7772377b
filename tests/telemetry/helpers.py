"""Helpers of the telemetry tests: a device with a credential, walking signals, message builders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.devices.models import DeviceUnit
from exoshare.telemetry import credentials
from exoshare.telemetry.ingest import Ingestor
from exoshare.telemetry.models import TelemetryBatch, TelemetryEvent, TelemetrySession
from exoshare.telemetry.protocol import SampleBatch, SessionAnnounce, SessionEnd, encode
from exoshare.telemetry.store import RawStore
from tests.world import World, build_world

FS_HZ = 100.0
START_S = 1_767_225_600.0  # 2026-01-01T00:00:00Z
CHANNELS = {
    "shank_gyr_z_left_dps": "deg/s",
    "shank_gyr_z_right_dps": "deg/s",
    "knee_angle_left_deg": "deg",
    "knee_angle_right_deg": "deg",
}
SERIAL = "SX2-0001"
ORG = "ES-MAD-01"


@dataclass
class Env:
    world: World
    factory: sessionmaker[Session]
    store: RawStore
    ingestor: Ingestor
    secret: str
    patient_id: str


def make_env(factory: sessionmaker[Session], tmp_path: Path) -> Env:
    world = build_world(factory)
    with session_scope(factory) as s:
        secret, _ = credentials.issue_device_credential(s, SYSTEM_SEEDING, world.ids["unit_madrid"])
    store = RawStore(str(tmp_path / "telemetry"))
    return Env(world, factory, store, Ingestor(factory, store), secret, world.ids["patient_carlos"])


def walking(n_samples: int, first: int = 0) -> dict[str, np.ndarray]:
    """1 Hz strides (120 steps/min): shank angular rate and knee angle, right half a cycle later."""
    t = (first + np.arange(n_samples)) / FS_HZ
    return {
        "shank_gyr_z_left_dps": 200 * np.sin(2 * np.pi * t),
        "shank_gyr_z_right_dps": 200 * np.sin(2 * np.pi * (t - 0.5)),
        "knee_angle_left_deg": 30 + 30 * np.sin(2 * np.pi * t),
        "knee_angle_right_deg": 30 + 30 * np.sin(2 * np.pi * (t - 0.5)),
    }


def announce(env: Env, session_id: str = "s-1") -> SessionAnnounce:
    return SessionAnnounce(session_id, SERIAL, env.patient_id, START_S, FS_HZ, dict(CHANNELS))


def batch(seq: int, n: int = 100, session_id: str = "s-1") -> SampleBatch:
    return SampleBatch(session_id, seq, START_S + seq * n / FS_HZ, n, walking(n, seq * n))


def end(n_batches: int, n: int = 100, session_id: str = "s-1") -> SessionEnd:
    return SessionEnd(session_id, START_S + n_batches * n / FS_HZ, n_batches, n_batches * n)


def send(env: Env, message: object, **kwargs: object) -> str:
    wire = message.to_wire()  # type: ignore[attr-defined]
    wire["auth"] = env.secret
    receipt = env.ingestor.handle(encode(wire), **kwargs)  # type: ignore[arg-type]
    return receipt.status if receipt.code is None else f"{receipt.status}:{receipt.code}"


def counts(env: Env) -> tuple[int, int, int, int]:
    """(sessions, batches, samples in the index, files in the store)."""
    with session_scope(env.factory) as s:
        sessions = s.scalar(select(func.count()).select_from(TelemetrySession)) or 0
        batches = s.scalar(select(func.count()).select_from(TelemetryBatch)) or 0
        samples = s.scalar(select(func.coalesce(func.sum(TelemetryBatch.n_samples), 0))) or 0
    return sessions, batches, int(samples), len(env.store.files())


def event_count(env: Env) -> int:
    with session_scope(env.factory) as s:
        return s.scalar(select(func.count()).select_from(TelemetryEvent)) or 0


def only_session(env: Env) -> TelemetrySession:
    with session_scope(env.factory) as s:
        return s.scalars(select(TelemetrySession)).one()


def device(s: Session) -> DeviceUnit:
    return s.scalars(select(DeviceUnit).where(DeviceUnit.serial_number == SERIAL)).one()


def simulated_angles(n_samples: int, seed: int = 1) -> dict[str, np.ndarray]:
    """Hip and knee angles of a healthy simulated walker (about 110 steps/min) at 100 Hz."""
    from exoshare.demo.gait_profiles import healthy_profile
    from exoshare.demo.gait_simulator import VirtualExoskeleton

    produced = VirtualExoskeleton(healthy_profile(), seed=seed).next_batch(n_samples)
    names = ("hip_angle_left_deg", "hip_angle_right_deg", "knee_angle_left_deg")
    return {name: produced[name] for name in (*names, "knee_angle_right_deg")}
