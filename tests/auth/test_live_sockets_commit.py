"""A revoked credential's live sockets close only once the revocation is committed."""

from __future__ import annotations

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
