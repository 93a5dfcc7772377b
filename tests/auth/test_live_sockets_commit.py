"""A revoked credential's live sockets close only once the revocation is committed."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.live_sockets import LiveSocketRegistry


class _Recording(LiveSocketRegistry):
    def __init__(self) -> None:
        super().__init__()
        self.closed: list[tuple[list[str], str]] = []

    def close_for(self, credential_ids: list[str], reason: str = "signed out") -> int:
        self.closed.append((credential_ids, reason))
        return len(credential_ids)


def test_sockets_close_after_the_commit_not_before(session_factory: sessionmaker[Session]) -> None:
    registry = _Recording()
    with session_factory() as session:
        registry.close_when_committed(session, ["c1", "c2"], "password reset")
        session.flush()
        assert registry.closed == []
        session.commit()
        assert registry.closed == [(["c1", "c2"], "password reset")]
        session.commit()  # a later commit of the same session closes nothing again
        assert len(registry.closed) == 1


def test_a_rolled_back_revocation_closes_nothing(session_factory: sessionmaker[Session]) -> None:
    registry = _Recording()
    with session_factory() as session:
        registry.close_when_committed(session, ["c1"])
        session.execute(select(1))  # the request's transaction is under way, as a revocation's
        session.rollback()
        session.commit()
    assert registry.closed == []


def test_the_periodic_check_finds_every_credential_that_no_longer_signs_in(
    session_factory: sessionmaker[Session],
) -> None:
    from datetime import UTC, datetime, timedelta

    from exoshare.auth import service as auth_service
    from exoshare.auth.live_sockets import ended_credentials
    from exoshare.auth.models import Credential, User
    from exoshare.auth.schemas import CredentialKind
    from exoshare.db import session_scope
    from tests.world import build_world

    world = build_world(session_factory)
    with session_scope(session_factory) as s:
        maria = s.get(User, world.ids["therapist_madrid"])
        admin = s.get(User, world.ids["admin_madrid"])
        assert maria is not None and admin is not None

        def issue(user: User) -> str:
            _, credential = auth_service.issue_credential(
                s, user, CredentialKind.api_token, timedelta(hours=1)
            )
            s.flush()
            return credential.id

        good, revoked, expired, inactive = issue(maria), issue(maria), issue(maria), issue(admin)
        s.get_one(Credential, revoked).revoked_at = datetime.now(UTC)
        s.get_one(Credential, expired).expires_at = datetime.now(UTC) - timedelta(seconds=1)
        admin.active = False
    with session_scope(session_factory) as s:
        ended = ended_credentials(s, [good, revoked, "no-such-credential", expired, inactive])
    assert ended == [revoked, "no-such-credential", expired, inactive]


def test_the_periodic_check_outlives_a_database_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    import exoshare.auth.live_sockets as live_sockets

    class Held(_Recording):
        def held(self) -> list[str]:
            return ["c1"]

    answers: list[object] = [OSError("database away"), ["c1"]]

    def ended(factory: object, credential_ids: list[str]) -> list[str]:
        answer = answers.pop(0) if answers else []
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    monkeypatch.setattr(live_sockets, "CHECK_S", 0.01)
    monkeypatch.setattr(live_sockets, "_ended", ended)
    registry = Held()

    async def run() -> None:
        task = asyncio.create_task(registry.watch(None))  # type: ignore[arg-type]
        for _ in range(200):
            await asyncio.sleep(0.01)
            if registry.closed:
                break
        task.cancel()

    asyncio.run(run())
    # The first check failed and was logged; the next one closed the ended sign-in's sockets.
    assert registry.closed[:1] == [(["c1"], "sign-in ended")]
