"""Telemetry tests migrate their databases to the telemetry branch only (0001 + 0002).

Telemetry needs no table of the other capability branches, so a work-in-progress migration on
another branch cannot break these tests; the full tree is exercised by the rest of the suite.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from exoshare.db import upgrade
from tests.conftest import POSTGRES_URL, _postgres_reason

TELEMETRY_REVISION = "0002"


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("telemetry-template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}", TELEMETRY_REVISION)
    return path


@pytest.fixture(scope="session")
def _postgres_template() -> Iterator[str]:
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    name = f"exo_tel_tpl_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url, TELEMETRY_REVISION)
    yield name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
