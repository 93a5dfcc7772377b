"""The route matrix as test modules: one per endpoint group, one test per kind of caller.

The world is built once per session in a SQLite file; each module starts from a copy of it with
its own app, and restores that copy whenever a request may have written (see ``Snapshot``), so
every (route, caller) pair sees the same state and the modules can run in any order.
"""

from __future__ import annotations

import enum
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from exoshare.runtime import runtime_of
from tests.security.matrix import MatrixRun, RouteSpec, Snapshot, run_route
from tests.security.matrix_world import MatrixWorld
from tests.security.route_table import EXPECTED, visible


class CallerKind(enum.Enum):
    """Who calls: the Madrid clinic's people, the network-wide roles, or no person at all."""

    clinic = ("clinic_admin", "therapist", "patient")
    network = ("consortium_operator", "researcher", "manufacturer", "trainer")
    outsider = ("anonymous", "expired_token", "revoked_token", "device_madrid")


GROUPS = (
    "auth",
    "network",
    "patients",
    "devices",
    "fleet",
    "scheduling",
    "matchmaking",
    "translations",
    "telemetry",
    "telerehab",
    "careplan",
    "reminders",
    "outcomes",
    "academy",
    "sharing",
    "web",
    "platform",
)
"""Endpoint groups: the capability owning each route; tests/security/routes has one module each."""


@dataclass
class MatrixEnv:
    client: TestClient
    matrix: MatrixWorld
    snapshot: Snapshot
    specs: list[RouteSpec]


def sqlite_snapshot(client: TestClient, path: Path) -> Snapshot:
    """A snapshot of the app's SQLite file as it is now, and the means to go back to it."""
    engine = runtime_of(client.app).engine
    engine.dispose()
    copy = path.with_suffix(".snapshot")
    shutil.copy(path, copy)

    def restore() -> None:
        engine.dispose()
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copy(copy, path)

    return Snapshot(restore)


def summary(label: str, routes: int, callers: int, run: MatrixRun, seconds: float) -> str:
    return (
        f"\nroute matrix ({label}): {routes} routes x {callers} callers, "
        f"{len(run.cases)} requests, {len(run.oracles)} existence oracles, "
        f"{len(run.mismatches)} unexpected answers, {seconds:.1f} s"
        + "".join(f"\n  oracle: {oracle}" for oracle in run.oracles)
        + "".join(f"\n  unexpected: {line}" for line in run.mismatches)
    )


def check(env: MatrixEnv, group: str, kind: CallerKind) -> None:
    """Every route of ``group`` as every caller of ``kind``: the table's answer, no oracle."""
    specs = [spec for spec in env.specs if spec.group == group]
    assert specs, f"no routes in group {group!r}"
    started = time.monotonic()
    run = MatrixRun()
    for spec in specs:
        for caller in kind.value:
            run_route(
                env.client, env.matrix, spec, caller, EXPECTED[spec.key][caller], env.snapshot,
                visible=visible, run=run,
            )  # fmt: skip
    label = f"sqlite, {group}, {kind.name}"
    print(summary(label, len(specs), len(kind.value), run, time.monotonic() - started))
    assert [str(oracle) for oracle in run.oracles] == []
    assert run.mismatches == []
