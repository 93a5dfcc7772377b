"""HTTP routes of password reset: ask for a link, set the new password with it."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, BackgroundTasks, Request, status

from exoshare.auth.mail import send_later
from exoshare.auth.password_reset import service as password_reset
from exoshare.auth.schemas import AcceptedOut, PasswordResetConfirm, PasswordResetRequest
from exoshare.deps import DbSession
from exoshare.runtime import runtime_of

router = APIRouter(prefix="/api/v1", tags=["accounts"])

RESET_REQUESTED = (
    "if an account uses this e-mail address, a link to reset its password is on its way"
)


@router.post(
    "/auth/password-reset", response_model=AcceptedOut, status_code=status.HTTP_202_ACCEPTED
)
def request_password_reset(
    body: PasswordResetRequest,
    request: Request,
    session: DbSession,
    background: BackgroundTasks,
) -> AcceptedOut:
    """Mail a reset link. Answers the same whether or not the address has an account."""
    settings = runtime_of(request).settings
    ttl = timedelta(minutes=settings.password_reset_ttl_minutes)
    found = password_reset.request_reset(session, body.email, ttl)
    if found is not None:
        user, token = found
        subject, text = password_reset.reset_mail(settings.resolved_public_url(), token, ttl)
        background.add_task(send_later, settings, user.email, subject, text)
    return AcceptedOut(detail=RESET_REQUESTED)


@router.post("/auth/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT)
def confirm_password_reset(
    body: PasswordResetConfirm, request: Request, session: DbSession
) -> None:
    """Set a new password with the mailed token; every session and token of the account ends."""
    _, revoked = password_reset.reset_password(session, body.token, body.password)
    runtime_of(request).live_sockets.close_when_committed(session, revoked, "password reset")
