"""Which open WebSockets each credential holds, so revoking it closes them too."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker
from starlette.websockets import WebSocket

from exoshare.auth.models import Credential, User
from exoshare.db import session_scope

log = logging.getLogger(__name__)

# RFC 6455 "policy violation": the credential behind the socket is no longer good.
POLICY_VIOLATION = 1008
CHECK_S = 15.0
"""How often the credentials of the open sockets are checked for what no sign-out announces:
expiry, or a revocation made by another server process. All of them in one query: one per
socket cost ~6 ms of the web process's CPU each (a tenth of it at 150 live viewers)."""


@dataclass
class LiveSocketRegistry:
    """Open sockets by credential id. Register and unregister from the event loop; close from
    any thread (sign-out routes run in the thread pool)."""

    _sockets: dict[str, set[WebSocket]] = field(default_factory=lambda: defaultdict(set))
    _loop: asyncio.AbstractEventLoop | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, credential_id: str, websocket: WebSocket) -> None:
        self._loop = asyncio.get_running_loop()
        with self._lock:
            self._sockets[credential_id].add(websocket)

    def unregister(self, credential_id: str, websocket: WebSocket) -> None:
        with self._lock:
            sockets = self._sockets.get(credential_id)
            if sockets is not None:
                sockets.discard(websocket)
                if not sockets:
                    del self._sockets[credential_id]

    def held(self) -> list[str]:
        """The credentials that hold open sockets."""
        with self._lock:
            return list(self._sockets)

    def open_count(self, credential_id: str) -> int:
        with self._lock:
            return len(self._sockets.get(credential_id, ()))

    def close_when_committed(
        self, session: Session, credential_ids: list[str], reason: str = "signed out"
    ) -> None:
        """Close these credentials' sockets once ``session`` commits their revocation.

        Told earlier, a live page goes to the login page while its sign-in still counts (the
        revocation not yet committed), and the login page sends it straight back where it was.
        A request that rolls back revoked nothing and closes nothing.
        """
        ids = list(credential_ids)
        if not ids:
            return
        pending = [True]

        def committed(_: Session) -> None:
            if pending:
                pending.clear()
                self.close_for(ids, reason)

        def rolled_back(_: Session, previous: SessionTransaction) -> None:
            if not previous.nested:  # a savepoint's rollback leaves the revocation standing
                pending.clear()

        event.listen(session, "after_commit", committed)
        event.listen(session, "after_soft_rollback", rolled_back)

    def close_for(self, credential_ids: list[str], reason: str = "signed out") -> int:
        """Close every socket of these credentials; returns how many were asked to close."""
        with self._lock:
            doomed = [ws for cid in credential_ids for ws in self._sockets.pop(cid, ())]
        loop = self._loop
        if not doomed or loop is None or loop.is_closed():
            return 0
        for websocket in doomed:
            asyncio.run_coroutine_threadsafe(_close(websocket, reason), loop)
        return len(doomed)

    async def watch(self, factory: sessionmaker[Session]) -> None:
        """Every ``CHECK_S``, close the sockets of every credential that no longer signs its
        user in (runs for the server's life)."""
        last = time.monotonic()
        while True:
            await asyncio.sleep(min(1.0, CHECK_S))
            if time.monotonic() - last < CHECK_S:
                continue
            last = time.monotonic()
            held = self.held()
            if not held:
                continue
            try:
                ended = await asyncio.to_thread(_ended, factory, held)
            except Exception:
                # The database away for a moment must not end the checks for the server's life.
                log.exception("could not check the live sockets' sign-ins; trying again")
                continue
            if ended:
                self.close_for(ended, "sign-in ended")


async def _close(websocket: WebSocket, reason: str) -> None:
    # The socket may be closing on its own at the same time; either way it ends closed.
    with contextlib.suppress(RuntimeError, OSError):
        await websocket.close(code=POLICY_VIOLATION, reason=reason)


def _ended(factory: sessionmaker[Session], credential_ids: list[str]) -> list[str]:
    with session_scope(factory) as session:
        return ended_credentials(session, credential_ids)


def ended_credentials(session: Session, credential_ids: list[str]) -> list[str]:
    """Of these credentials, those that no longer sign their user in: unknown, revoked, expired,
    or their user made inactive."""
    now = datetime.now(UTC)
    good: set[str] = set()
    for at in range(0, len(credential_ids), 500):  # bounded IN lists
        rows = session.execute(
            select(Credential.id, Credential.expires_at)
            .join(User, User.id == Credential.user_id)
            .where(
                Credential.id.in_(credential_ids[at : at + 500]),
                Credential.revoked_at.is_(None),
                User.active.is_(True),
            )
        )
        good.update(credential_id for credential_id, expires_at in rows if expires_at > now)
    return [credential_id for credential_id in credential_ids if credential_id not in good]
