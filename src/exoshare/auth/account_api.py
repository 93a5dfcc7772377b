"""HTTP routes of accounts: invitations, password reset, the TOTP second factor, own sessions."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request, status

from exoshare.auth import invitations, password_reset, sessions, totp
from exoshare.auth.gate import CurrentPrincipal, require
from exoshare.auth.mail import MailNotSent, send_mail
from exoshare.auth.models import User
from exoshare.auth.schemas import (
    AcceptedOut,
    InvitationAccept,
    InvitationCreate,
    InvitationOut,
    PasswordResetConfirm,
    PasswordResetRequest,
    RecoveryCodesOut,
    RevokedOut,
    SessionOut,
    TotpCode,
    TotpEnrolmentOut,
    TotpStatusOut,
    UserOut,
)
from exoshare.auth.scope import Permission, Principal
from exoshare.auth.secret_box import totp_box
from exoshare.config import Settings
from exoshare.deps import DbSession, Paging
from exoshare.errors import MailUnavailable, PermissionDenied
from exoshare.pagination import Page
from exoshare.runtime import runtime_of

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["accounts"])


RESET_REQUESTED = (
    "if an account uses this e-mail address, a link to reset its password is on its way"
)


def _settings(request: Request) -> Settings:
    settings: Settings = runtime_of(request).settings
    return settings


def send_or_fail(settings: Settings, to: str, subject: str, body: str) -> None:
    """Send now; an unreachable server fails the request so nothing half-done is kept."""
    try:
        send_mail(settings, to, subject, body)
    except MailNotSent as exc:
        raise MailUnavailable(f"{exc}; nothing was saved, try again later") from exc


def send_later(settings: Settings, to: str, subject: str, body: str) -> None:
    """Send after the answer has gone out, so its timing tells nothing about the address."""
    try:
        send_mail(settings, to, subject, body)
    except MailNotSent:
        log.exception("e-mail %r not sent", subject)


def _user(principal: Principal, session: DbSession) -> User:
    user = session.get(User, principal.user_id)
    assert user is not None  # the principal was just read from it
    return user


# ----------------------------------------------------------------------------- invitations


@router.post("/invitations", response_model=InvitationOut, status_code=status.HTTP_201_CREATED)
def invite(
    body: InvitationCreate, request: Request, session: DbSession, principal: CurrentPrincipal
) -> InvitationOut:
    """E-mail an invitation to take ``role`` on ``org_unit_id`` (no wider than your own)."""
    if not principal.can(Permission.users_manage):
        raise PermissionDenied("you may not invite people")
    settings = _settings(request)
    invitation, token = invitations.invite(
        session,
        principal,
        body.email,
        body.role,
        body.org_unit_id,
        timedelta(hours=settings.invitation_ttl_hours),
    )
    subject, text = invitations.invitation_mail(
        session, settings.resolved_public_url(), invitation, token
    )
    send_or_fail(settings, invitation.email, subject, text)
    return InvitationOut.model_validate(invitation)


@router.get("/invitations", response_model=Page[InvitationOut])
def list_invitations(
    session: DbSession,
    principal: Annotated[Principal, Depends(require(Permission.users_manage))],
    paging: Paging,
) -> Page[InvitationOut]:
    """Pending invitations (not accepted, not withdrawn; expired ones included, to send again)
    on org units within your ``users:manage`` scope, newest first."""
    rows, total = invitations.pending(session, principal, paging.limit, paging.offset)
    return Page.of(InvitationOut, rows, total, paging.limit, paging.offset)


@router.delete("/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
def withdraw_invitation(
    invitation_id: str, session: DbSession, principal: CurrentPrincipal
) -> None:
    """Withdraw a pending invitation (audited); its link stops working at once."""
    invitations.withdraw(session, principal, invitation_id)


@router.post("/invitations/{invitation_id}/resend", response_model=InvitationOut)
def resend_invitation(
    invitation_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> InvitationOut:
    """Mail a new link for a pending invitation, valid for the full time again; the previous
    link stops working."""
    settings = _settings(request)
    invitation, token = invitations.resend(
        session, principal, invitation_id, timedelta(hours=settings.invitation_ttl_hours)
    )
    subject, text = invitations.invitation_mail(
        session, settings.resolved_public_url(), invitation, token
    )
    send_or_fail(settings, invitation.email, subject, text)
    return InvitationOut.model_validate(invitation)


@router.post("/invitations/accept", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def accept_invitation(body: InvitationAccept, request: Request, session: DbSession) -> UserOut:
    """Use an invitation's token: the account is created (or, when the e-mail has one, its
    password checked) and given the invited role."""
    user, _ = invitations.accept(
        session,
        body.token,
        body.password,
        body.display_name,
        runtime_of(request).login_throttler,
        request.client.host if request.client else None,
    )
    return UserOut.model_validate(user)


# -------------------------------------------------------------------------- password reset


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
    settings = _settings(request)
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
    runtime_of(request).live_sockets.close_for(revoked, "password reset")


# ----------------------------------------------------------------------------- second factor


@router.get("/auth/totp", response_model=TotpStatusOut)
def totp_status(request: Request, session: DbSession, principal: CurrentPrincipal) -> TotpStatusOut:
    return TotpStatusOut(
        enabled=totp.has_second_factor(session, principal.user_id),
        required=totp.is_required(principal, _settings(request).require_totp_for_admins),
        unused_recovery_codes=totp.unused_recovery_codes(session, principal.user_id),
    )


@router.post("/auth/totp", response_model=TotpEnrolmentOut, status_code=status.HTTP_201_CREATED)
def start_totp(
    request: Request, session: DbSession, principal: CurrentPrincipal
) -> TotpEnrolmentOut:
    """Start enrolment: the secret, shown this once, as text and as an otpauth:// URI."""
    secret, uri = totp.start_enrolment(
        session, _user(principal, session), totp_box(_settings(request))
    )
    return TotpEnrolmentOut(secret=secret, otpauth_uri=uri)


@router.post("/auth/totp/confirm", response_model=RecoveryCodesOut)
def confirm_totp(
    body: TotpCode, request: Request, session: DbSession, principal: CurrentPrincipal
) -> RecoveryCodesOut:
    """Activate the second factor with a first code; returns the recovery codes, once."""
    box = totp_box(_settings(request))
    codes = totp.confirm_enrolment(session, _user(principal, session), body.code, box)
    return RecoveryCodesOut(recovery_codes=codes)


@router.post("/auth/totp/recovery-codes", response_model=RecoveryCodesOut)
def renew_recovery_codes(
    body: TotpCode, request: Request, session: DbSession, principal: CurrentPrincipal
) -> RecoveryCodesOut:
    """New recovery codes (the old ones stop working); needs a current code."""
    user = _user(principal, session)
    totp.require_code(session, user, body.code, totp_box(_settings(request)))
    return RecoveryCodesOut(recovery_codes=totp.new_recovery_codes(session, user))


@router.post("/auth/totp/disable", status_code=status.HTTP_204_NO_CONTENT)
def disable_totp(
    body: TotpCode, request: Request, session: DbSession, principal: CurrentPrincipal
) -> None:
    """Remove the second factor; needs a current code or an unused recovery code."""
    totp.disable(session, _user(principal, session), body.code, totp_box(_settings(request)))


# -------------------------------------------------------------------------------- sessions


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
    runtime_of(request).live_sockets.close_for([credential_id])


@router.post("/auth/sessions/revoke-others", response_model=RevokedOut)
def revoke_other_sessions(
    request: Request, session: DbSession, principal: CurrentPrincipal
) -> RevokedOut:
    """End every session and token of yours except the one of this request."""
    keep = getattr(request.state, "credential_id", None)
    revoked = sessions.revoke_all(session, principal.user_id, keep=keep)
    runtime_of(request).live_sockets.close_for(revoked)
    return RevokedOut(revoked=len(revoked))
