"""Every route x every caller: the expected answer class, and no existence oracle anywhere.

SQLite runs the whole matrix, each (route, caller) from the same database state (the file is
restored in between, so a write by one caller never changes what the next one sees). PostgreSQL
runs the oracle pairs of the three Madrid callers, whose foreign requests are all refused and so
write nothing, against one database. ``pytest -s`` prints the numbers.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from exoshare.app import create_app
from exoshare.config import Settings
from tests.security.matrix import (
    MatrixRun,
    RouteSpec,
    Snapshot,
    enumerate_routes,
    openapi_keys,
    run_route,
)
from tests.security.matrix_world import CALLERS, CLINIC_CALLERS, MatrixWorld, build_matrix_world
from tests.security.route_table import EXPECTED, visible

ALL_CALLERS = (*CALLERS, "device_madrid")


@pytest.fixture
def matrix_client(settings: Settings) -> Iterator[tuple[TestClient, MatrixWorld]]:
    app = create_app(settings)
    with TestClient(app) as client:
        yield client, build_matrix_world(client, app.state.sessionmaker)
    app.state.engine.dispose()


def test_every_route_has_a_row_and_every_row_a_route(
    matrix_client: tuple[TestClient, MatrixWorld],
) -> None:
    client, _ = matrix_client
    app = client.app
    keys = {spec.key for spec in enumerate_routes(app)}  # type: ignore[arg-type]
    assert openapi_keys(app) <= keys  # type: ignore[arg-type]
    assert sorted(keys - EXPECTED.keys()) == [], "routes without a row in route_table.EXPECTED"
    assert sorted(EXPECTED.keys() - keys) == [], "rows for routes that no longer exist"


def _sqlite_snapshot(client: TestClient, database_url: str) -> Snapshot:
    path = Path(make_url(database_url).database or "")
    engine = client.app.state.engine  # type: ignore[attr-defined]
    engine.dispose()
    snapshot = path.with_suffix(".snapshot")
    shutil.copy(path, snapshot)
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0

    def restore() -> None:
        engine.dispose()
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copy(snapshot, path)

    return Snapshot(restore)


def _summary(label: str, specs: list[RouteSpec], callers: tuple[str, ...], run: MatrixRun,
             seconds: float) -> str:  # fmt: skip
    return (
        f"\nroute matrix ({label}): {len(specs)} routes x {len(callers)} callers, "
        f"{len(run.cases)} requests, {len(run.oracles)} existence oracles, "
        f"{len(run.mismatches)} unexpected answers, {seconds:.1f} s"
        + "".join(f"\n  oracle: {oracle}" for oracle in run.oracles)
        + "".join(f"\n  unexpected: {line}" for line in run.mismatches)
    )


def test_route_matrix(matrix_client: tuple[TestClient, MatrixWorld], database_url: str) -> None:
    client, matrix = matrix_client
    specs = enumerate_routes(client.app)  # type: ignore[arg-type]
    started = time.monotonic()
    run = MatrixRun()
    if database_url.startswith("sqlite"):
        snapshot = _sqlite_snapshot(client, database_url)
        callers: tuple[str, ...] = ALL_CALLERS
        for spec in specs:
            for caller in callers:
                run_route(
                    client, matrix, spec, caller, EXPECTED[spec.key][caller], snapshot,
                    visible=visible, run=run,
                )  # fmt: skip
    else:
        callers = tuple(sorted(CLINIC_CALLERS))
        for spec in specs:
            for caller in callers:
                run_route(
                    client, matrix, spec, caller, None, None, own_case=False,
                    visible=visible, run=run,
                )  # fmt: skip
    print(_summary(database_url.split(":")[0], specs, callers, run, time.monotonic() - started))
    assert [str(oracle) for oracle in run.oracles] == []
    assert run.mismatches == []
