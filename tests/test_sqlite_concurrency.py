"""Concurrent writers on one SQLite file wait for the write lock instead of failing.

Both tests run against a real SQLite file from many threads started together: logins through
a real HTTP server (each writes a credential), and transactions that read inside a savepoint
before they write, the pattern SQLite refuses at once ("database is locked") when a
transaction begins deferred.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from exoshare.app import create_app
from exoshare.auth import service as auth
from exoshare.auth.models import Credential, User
from exoshare.auth.schemas import CredentialKind
from exoshare.config import Settings
from exoshare.db import make_engine, make_sessionmaker, session_scope
from exoshare.runtime import runtime_of
from tests.e2e.conftest import free_port
from tests.world import PASSWORD

WRITERS = 20


@pytest.fixture
def sqlite_url(_sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "exoshare.sqlite3"
    shutil.copy(_sqlite_template, path)
    return f"sqlite:///{path}"


def _together(work: list[threading.Thread]) -> None:
    for thread in work:
        thread.start()
    for thread in work:
        thread.join(timeout=120)


def test_concurrent_logins_all_get_a_token(sqlite_url: str, tmp_path: Path) -> None:
    factory = make_sessionmaker(make_engine(sqlite_url))
    with session_scope(factory) as session:
        for i in range(WRITERS):
            auth.create_user(session, f"user{i}@test.exoshare.org", f"User {i}", PASSWORD)
    app = create_app(
        Settings(
            database_url=sqlite_url,
            data_dir=tmp_path / "data",
            secret_key="test-secret",
            cookie_secure=False,
        )
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started
        statuses: Counter[int] = Counter()
        bodies: list[str] = []
        start = threading.Barrier(WRITERS)

        def login(i: int) -> None:
            start.wait()
            response = httpx.post(
                f"http://127.0.0.1:{port}/api/v1/auth/token",
                json={"email": f"user{i}@test.exoshare.org", "password": PASSWORD},
                timeout=120,
            )
            statuses[response.status_code] += 1
            if response.status_code != 201:
                bodies.append(response.text)

        _together([threading.Thread(target=login, args=(i,)) for i in range(WRITERS)])
    finally:
        server.should_exit = True
        serving.join(timeout=30)
        runtime_of(app).engine.dispose()
    assert statuses == {201: WRITERS}, bodies
    with session_scope(factory) as session:
        tokens = session.scalar(
            select(func.count())
            .select_from(Credential)
            .where(Credential.kind == CredentialKind.api_token)
        )
    assert tokens == WRITERS
    factory.kw["bind"].dispose()


def test_transactions_that_read_before_writing_all_commit(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    factory = make_sessionmaker(engine)
    outcomes: Counter[str] = Counter()
    start = threading.Barrier(WRITERS)

    def read_then_write(i: int) -> None:
        start.wait()
        try:
            with session_scope(factory) as session, session.begin_nested():
                seen = session.scalar(select(func.count()).select_from(User))
                time.sleep(0.02)  # others commit meanwhile: a deferred snapshot is now stale
                session.add(
                    User(
                        email=f"writer{i}@test.exoshare.org",
                        display_name=f"Writer {i} (saw {seen})",
                        password_hash="not-a-login",
                    )
                )
            outcomes["committed"] += 1
        except Exception as exc:  # the test reports whatever went wrong, by message
            outcomes[str(exc).splitlines()[0]] += 1

    _together([threading.Thread(target=read_then_write, args=(i,)) for i in range(WRITERS)])
    assert outcomes == {"committed": WRITERS}
    with session_scope(factory) as session:
        assert session.scalar(select(func.count()).select_from(User)) == WRITERS
        # Each writer saw the users committed before it took the lock: 0, 1, ..., 19.
        seen = sorted(
            int(name.split("saw ")[1][:-1]) for name in session.scalars(select(User.display_name))
        )
    assert seen == list(range(WRITERS))
    engine.dispose()
