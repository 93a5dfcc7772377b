"""HTTP routes of invitations: send, list, withdraw, send again, accept."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from exoshare.auth.gate import CurrentPrincipal, require
from exoshare.auth.invitations import service as invitations
from exoshare.auth.mail import send_or_fail
from exoshare.auth.schemas import InvitationAccept, InvitationCreate, InvitationOut, UserOut
from exoshare.auth.scope import Permission, Principal
from exoshare.deps import DbSession, Paging
from exoshare.errors import PermissionDenied
from exoshare.pagination import Page
from exoshare.runtime import runtime_of

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.post("/invitations", response_model=InvitationOut, status_code=status.HTTP_201_CREATED)
def invite(
    body: InvitationCreate, request: Request, session: DbSession, principal: CurrentPrincipal
) -> InvitationOut:
    """E-mail an invitation to take ``role`` on ``org_unit_id`` (no wider than your own)."""
    if not principal.can(Permission.users_manage):
        raise PermissionDenied("you may not invite people")
    settings = runtime_of(request).settings
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
    settings = runtime_of(request).settings
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
