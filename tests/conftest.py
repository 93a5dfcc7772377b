"""Test fixtures: every database-backed test runs on SQLite and on PostgreSQL.

The PostgreSQL leg uses EXOSHARE_TEST_POSTGRES_URL (default: the local server with trust auth)
and is skipped, with the reason printed, only when no server answers there.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from exoshare.app import create_app
from exoshare.config import Settings
from exoshare.db import make_engine, make_sessionmaker, upgrade
from exoshare.runtime import runtime_of

ROOT = Path(__file__).resolve().parents[1]
SHARED_SERVICES = frozenset(
    {
        "tests/demo/test_device_client.py",
        "tests/scale/test_relay.py",
        "tests/scale/test_serve_workers.py",
        "tests/scale/test_two_processes.py",
        "tests/telemetry/test_transports.py",
        "tests/telerehab/test_commands_mqtt.py",
    }
)
"""Modules that use the machine's own Mosquitto (port 1883, subscribing to every device topic),
Redis or a fixed port: run in parallel they would hear each other's devices."""
SPREAD = frozenset({"tests/test_api_fuzz.py"})
"""Modules whose tests are long and independent: spread over the workers one by one."""
POSTGRES_URL = os.environ.get(
    "EXOSHARE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]


@pytest.hookimpl(tryfirst=True)  # the groups must be marked before xdist reads them
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Where ``dev.py test`` runs the tests in parallel (pytest-xdist, ``--dist loadgroup``):
    a module's tests stay on one worker, so its module-scoped fixtures are built once, and the
    modules that share the machine's broker and Redis run one after another on one worker.

    The longest work comes first, the modules sharing the machine's services (one chain,
    minutes long) and then the long independent tests: xdist hands work out in collection
    order, and either started last would run on alone after every other test had finished."""
    items.sort(key=_first_or_last)  # stable: modules stay whole
    for item in items:
        module = _module(item)
        if module in SPREAD:
            continue
        group = "shared-services" if module in SHARED_SERVICES else module
        item.add_marker(pytest.mark.xdist_group(group))


def _module(item: pytest.Item) -> str:
    return item.path.relative_to(ROOT).as_posix()


def _first_or_last(item: pytest.Item) -> int:
    module = _module(item)
    return 0 if module in SHARED_SERVICES else 1 if module in SPREAD else 2


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Refuse to run in parallel without the groups: xdist joins a test to its group by adding
    ``@<group>`` to the test's id, and when that silently stops working (a hook order, a pytest
    that no longer reads the id xdist sets) the modules sharing the machine's broker run at the
    same time and reject each other's devices, failing at random."""
    if not session.config.getoption("loadgroup", default=False):
        return
    ungrouped = [
        item.nodeid
        for item in session.items
        if any(item.iter_markers("xdist_group")) and "@" not in item.nodeid
    ]
    if ungrouped:
        raise pytest.UsageError(
            f"pytest-xdist did not put {len(ungrouped)} tests in their groups (first: "
            f"{ungrouped[0]}); check that this pytest works with this pytest-xdist's "
            "--dist loadgroup, or run with -n 0"
        )


def _postgres_reason() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means: no server here
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL leg skipped: no server at {POSTGRES_URL} ({first_line})"
    return None


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _postgres_template() -> Iterator[str]:
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    name = f"exo_tpl_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    upgrade(make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False))
    yield name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def fresh_database(
    request: pytest.FixtureRequest, backend: str, directory: Path, prefix: str = "exo_t"
) -> Iterator[str]:
    """A fully migrated database cloned from the session's template, dropped afterwards."""
    if backend == "sqlite":
        path = directory / "exoshare.sqlite3"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("_postgres_template")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, fully migrated database for one test."""
    with fresh_database(request, request.param, tmp_path) as url:
        yield url


@pytest.fixture
def session_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret",
        cookie_secure=False,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app) as test_client:
        yield test_client
    runtime_of(app).engine.dispose()


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """Every test leaves the process environment as it found it: commands under test (``serve``
    turns ingestion and reminders on with ``os.environ.setdefault``) must not switch on
    background work in the apps of every later test."""
    before = dict(os.environ)
    yield
    if os.environ != before:
        os.environ.clear()
        os.environ.update(before)


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """argon2 is slow on purpose; tests check behaviour, so they use the cheapest profile."""
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from exoshare.auth import passwords

    original = passwords._hasher
    passwords._hasher = PasswordHasher.from_parameters(CHEAPEST)
    yield
    passwords._hasher = original
