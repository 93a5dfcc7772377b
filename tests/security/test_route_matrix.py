"""The route matrix's own completeness, and its oracle pairs on PostgreSQL.

Every route the app serves must have a row in ``route_table.EXPECTED`` and belong to an
endpoint group with a module under ``tests/security/routes`` (which run the full matrix on
SQLite). PostgreSQL runs the foreign-vs-missing pairs of the three Madrid callers over every
route: their foreign requests are all refused, so they write nothing and one database serves.
``pytest -s`` prints the numbers.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from exoshare.app import create_app
from exoshare.config import Settings
from exoshare.runtime import runtime_of
from tests.conftest import POSTGRES_URL
from tests.security.matrix import MatrixRun, enumerate_routes, openapi_keys, run_route
from tests.security.matrix_suite import GROUPS, CallerKind, summary
from tests.security.matrix_world import build_matrix_world
from tests.security.route_table import EXPECTED, visible

ROUTE_MODULES = Path(__file__).parent / "routes"


def test_every_route_has_a_row_and_a_group_module(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        data_dir=tmp_path,
        secret_key="test-secret",
    )
    app = create_app(settings)
    specs = enumerate_routes(app)
    keys = {spec.key for spec in specs}
    assert openapi_keys(app) <= keys
    assert sorted(keys - EXPECTED.keys()) == [], "routes without a row in route_table.EXPECTED"
    assert sorted(EXPECTED.keys() - keys) == [], "rows for routes that no longer exist"
    assert {spec.group for spec in specs} <= set(GROUPS)
    assert sorted(path.stem for path in ROUTE_MODULES.glob("test_*.py")) == sorted(
        f"test_{group}" for group in GROUPS
    )
    # A WebSocket route and the static mount are rows too, not only what OpenAPI lists.
    assert {"WS /api/v1/telerehab/sessions/{session_id}/live", "GET /static/{path}"} <= keys
    runtime_of(app).engine.dispose()


@pytest.fixture
def postgres_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    template = request.getfixturevalue("_postgres_template")
    name = f"exo_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    yield Settings(
        database_url=url, data_dir=tmp_path / "data", secret_key="test-secret", cookie_secure=False
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_no_existence_oracle_on_postgresql(postgres_settings: Settings) -> None:
    app = create_app(postgres_settings)
    callers = CallerKind.clinic.value
    with TestClient(app) as client:
        matrix = build_matrix_world(client, runtime_of(app).sessionmaker)
        specs = enumerate_routes(app)
        started = time.monotonic()
        run = MatrixRun()
        for spec in specs:
            for caller in callers:
                run_route(
                    client, matrix, spec, caller, None, None, own_case=False, visible=visible,
                    run=run,
                )  # fmt: skip
    runtime_of(app).engine.dispose()
    print(summary("postgresql", len(specs), len(callers), run, time.monotonic() - started))
    assert len(run.cases) > 2 * len(specs)
    assert [str(oracle) for oracle in run.oracles] == []
