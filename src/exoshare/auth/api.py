"""HTTP routes of identity: tokens, the caller, users and their role grants, the audit log."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, status

from exoshare.auth import service
from exoshare.auth.models import CredentialKind
from exoshare.auth.schemas import (
    GrantCreate,
    GrantOut,
    MeOut,
    TokenOut,
    TokenRequest,
    UserCreate,
    UserOut,
)
from exoshare.auth.scope import Permission
from exoshare.deps import CurrentPrincipal, DbSession, Paging
from exoshare.errors import NotAuthenticated, PermissionDenied
from exoshare.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/token", response_model=TokenOut, status_code=status.HTTP_201_CREATED)
def create_token(body: TokenRequest, request: Request, session: DbSession) -> TokenOut:
    """Exchange e-mail and password for a bearer token."""
    user = service.authenticate(session, body.email, body.password)
    ttl = timedelta(days=request.app.state.settings.api_token_ttl_days)
    secret, credential = service.issue_credential(
        session, user, CredentialKind.api_token, ttl, body.label
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


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, session: DbSession, principal: CurrentPrincipal) -> UserOut:
    """Create an account with its first role; the role may be no wider than the caller's own."""
    if not principal.can(Permission.users_manage):
        raise PermissionDenied("you may not create users")
    user = service.create_user(session, body.email, body.display_name, body.password, body.locale)
    service.grant_role(session, principal, user.id, body.role, body.org_unit_id)
    return UserOut.model_validate(user)


@router.post(
    "/users/{user_id}/grants", response_model=GrantOut, status_code=status.HTTP_201_CREATED
)
def grant(
    user_id: str, body: GrantCreate, session: DbSession, principal: CurrentPrincipal
) -> GrantOut:
    return GrantOut.model_validate(
        service.grant_role(session, principal, user_id, body.role, body.org_unit_id)
    )
