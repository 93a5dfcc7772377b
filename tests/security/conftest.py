"""Fixtures of the route matrix: the world built once, a fresh copy of it for each module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from exoshare.app import create_app
from exoshare.config import Settings
from exoshare.runtime import runtime_of
from tests.security.matrix import enumerate_routes
from tests.security.matrix_suite import MatrixEnv, sqlite_snapshot
from tests.security.matrix_world import MatrixWorld, build_matrix_world


def _settings(path: Path, data_dir: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{path}",
        data_dir=data_dir,
        secret_key="test-secret",
        cookie_secure=False,
    )


@pytest.fixture(scope="session")
def matrix_template(
    tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path
) -> tuple[Path, Path, MatrixWorld]:
    """The matrix world in a SQLite file (and the data dir holding its recordings)."""
    folder = tmp_path_factory.mktemp("matrix")
    path, data_dir = folder / "world.sqlite3", folder / "data"
    shutil.copy(_sqlite_template, path)
    app = create_app(_settings(path, data_dir))
    with TestClient(app) as client:
        matrix = build_matrix_world(client, runtime_of(app).sessionmaker)
    runtime_of(app).engine.dispose()
    return path, data_dir, matrix


@pytest.fixture(scope="module")
def matrix_env(
    matrix_template: tuple[Path, Path, MatrixWorld], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MatrixEnv]:
    template, data_dir, matrix = matrix_template
    path = tmp_path_factory.mktemp("matrix_module") / "world.sqlite3"
    shutil.copy(template, path)
    app = create_app(_settings(path, data_dir))
    with TestClient(app) as client:
        yield MatrixEnv(client, matrix, sqlite_snapshot(client, path), enumerate_routes(app))
    runtime_of(app).engine.dispose()
