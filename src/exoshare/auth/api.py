"""HTTP routes of identity: tokens, the caller, users and their role grants."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request, status

from exoshare.auth import grants, service
from exoshare.auth.gate import CurrentPrincipal, require
from exoshare.auth.invitations import service as invitations
from exoshare.auth.login import sign_in
from exoshare.auth.mail import send_later
from exoshare.auth.schemas import (
    CredentialKind,
    GrantCreate,
    GrantOut,
    GrantRecordOut,
    MeOut,
    PersonInvitedOut,
    TokenOut,
    TokenRequest,
    UserCreate,
    UserOut,
)
from exoshare.auth.scope import Permission, Principal
from exoshare.auth.secret_box import totp_box
from exoshare.auth.sessions import service as sessions
from exoshare.deps import DbSession, Paging
from exoshare.errors import NotAuthenticated
from exoshare.pagination import Page
from exoshare.runtime import runtime_of

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/token", response_model=TokenOut, status_code=status.HTTP_201_CREATED)
def create_token(body: TokenRequest, request: Request, session: DbSession) -> TokenOut:
    """Exchange e-mail and password (and the second-factor code, when the account has one)
    for a bearer token. Repeated failures for one e-mail or from one address answer 429 with
    Retry-After, whether or not the account exists."""
    address = request.client.host if request.client else None
    user = sign_in(
        session,
        runtime_of(request).login_throttler,
        body.email,
        body.password,
        body.totp_code,
        address,
        totp_box(runtime_of(request).settings),
    )
    ttl = timedelta(days=runtime_of(request).settings.api_token_ttl_days)
    secret, credential = service.issue_credential(
        session,
        user,
        CredentialKind.api_token,
        ttl,
        body.label,
        client_address=address,
        user_agent=request.headers.get("user-agent"),
    )
    return TokenOut(access_token=secret, expires_at=credential.expires_at)


@router.delete("/auth/token", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(request: Request, session: DbSession, principal: CurrentPrincipal) -> None:
    """Revoke the bearer token this request was made with."""
    _, _, secret = request.headers.get("authorization", "").partition(" ")
    credential = service.credential_for_secret(session, secret.strip(), CredentialKind.api_token)
    if credential is None:
        raise NotAuthenticated("only a bearer token can be revoked here")
    service.revoke_credential(session, credential)
    runtime_of(request).live_sockets.close_when_committed(session, [credential.id])


@router.get("/me", response_model=MeOut)
def me(principal: CurrentPrincipal) -> MeOut:
    return MeOut(
        id=principal.user_id,
        email=principal.email,
        display_name=principal.display_name,
        locale=principal.locale,
        grants=[GrantOut(role=g.role, org_unit_id=g.org_unit_id) for g in principal.grants],
    )


@router.get("/users", response_model=Page[UserOut])
def list_users(session: DbSession, principal: CurrentPrincipal, paging: Paging) -> Page[UserOut]:
    users, total = service.list_users(session, principal, paging.limit, paging.offset)
    return Page.of(UserOut, users, total, paging.limit, paging.offset)


@router.post("/users", response_model=PersonInvitedOut, status_code=status.HTTP_202_ACCEPTED)
def create_user(
    body: UserCreate,
    request: Request,
    background: BackgroundTasks,
    session: DbSession,
    principal: Annotated[Principal, Depends(require(Permission.users_manage))],
) -> PersonInvitedOut:
    """Invite a person to a role no wider than your own; the account (or the role, for someone
    already registered) exists once they accept with their own password.

    202 with the same answer, and the same pending invitation in GET /api/v1/invitations,
    whether the address is new or belongs to someone you do not manage: nothing tells which
    addresses have an account. 409 for someone you already manage."""
    settings = runtime_of(request).settings
    invitation, token = invitations.invite_to_role(
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
    # Sent after the answer, so neither its outcome nor its time tells the address apart.
    background.add_task(send_later, settings, invitation.email, subject, text)
    return PersonInvitedOut.model_validate(invitation)


@router.post(
    "/users/{user_id}/grants", response_model=GrantOut, status_code=status.HTTP_201_CREATED
)
def grant(
    user_id: str, body: GrantCreate, session: DbSession, principal: CurrentPrincipal
) -> GrantOut:
    return GrantOut.model_validate(
        service.grant_role(session, principal, user_id, body.role, body.org_unit_id)
    )


@router.get("/users/{user_id}/grants", response_model=list[GrantRecordOut])
def list_grants(
    user_id: str, session: DbSession, principal: CurrentPrincipal
) -> list[GrantRecordOut]:
    """The user's grants within your ``users:manage`` scope, revoked ones included."""
    return [GrantRecordOut.model_validate(g) for g in grants.grants_of(session, principal, user_id)]


@router.delete("/users/{user_id}/grants/{grant_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_grant(
    user_id: str,
    grant_id: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
) -> None:
    """Take a grant back (audited); it no longer counts from the user's next request, and the
    user's open live views close (they may reconnect, and are checked again)."""
    grants.revoke_grant(session, principal, user_id, grant_id)
    # Which socket watched thanks to this grant is not recorded, so all of the user's close,
    # after the commit, so a socket that reconnects at once is checked without this grant.
    credential_ids = [c.id for c in sessions.active_credentials(session, user_id)]
    runtime_of(request).live_sockets.close_when_committed(session, credential_ids, "grant revoked")
