"""HTTP routes of a user's own sessions and tokens: list them, end one or all others."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from exoshare.auth.gate import CurrentPrincipal
from exoshare.auth.schemas import RevokedOut, SessionOut
from exoshare.auth.sessions import service as sessions
from exoshare.deps import DbSession
from exoshare.runtime import runtime_of

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.get("/auth/sessions", response_model=list[SessionOut])
def list_sessions(
    request: Request, session: DbSession, principal: CurrentPrincipal
) -> list[SessionOut]:
    """Your active browser sessions and API tokens; ``current`` marks this request's."""
    current = getattr(request.state, "credential_id", None)
    out = []
    for credential in sessions.active_credentials(session, principal.user_id):
        item = SessionOut.model_validate(credential)
        item.current = credential.id == current
        out.append(item)
    return out


@router.delete("/auth/sessions/{credential_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_session(
    credential_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> None:
    """End one of your sessions or tokens (its open live views close)."""
    sessions.revoke_own(session, principal.user_id, credential_id)
    runtime_of(request).live_sockets.close_when_committed(session, [credential_id])


@router.post("/auth/sessions/revoke-others", response_model=RevokedOut)
def revoke_other_sessions(
    request: Request, session: DbSession, principal: CurrentPrincipal
) -> RevokedOut:
    """End every session and token of yours except the one of this request."""
    keep = getattr(request.state, "credential_id", None)
    revoked = sessions.revoke_all(session, principal.user_id, keep=keep)
    runtime_of(request).live_sockets.close_when_committed(session, revoked)
    return RevokedOut(revoked=len(revoked))
