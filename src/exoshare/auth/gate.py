"""The one gate in front of every route: who the caller is, and what a route requires of them.

HTTP requests resolve their caller in :func:`optional_principal` (cookie, CSRF,
bearer token), the live WebSocket in :func:`exoshare.auth.websocket_guard.socket_caller`
(cookie with an Origin check, bearer token), both through the one credential lookup
:func:`exoshare.auth.service.credential_for_request`. Routes state a permission they need
with :func:`require` (API: 403 for a signed-in caller without it) or :func:`page_requires`
(pages: 404, so a page's existence is not advertised). Which ids a caller may touch is decided
in the services, with the filters of :mod:`exoshare.auth.scope`.

>>> UserManager = Annotated[Principal, Depends(require(Permission.users_manage))]  # doctest: +SKIP
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from exoshare.auth import service as auth_service
from exoshare.auth.enrolment_gate import require_enrolment_if_due
from exoshare.auth.schemas import CredentialKind
from exoshare.auth.scope import Permission, Principal
from exoshare.deps import SAFE_METHODS, DbSession
from exoshare.errors import NotAuthenticated, NotFound, PermissionDenied
from exoshare.runtime import runtime_of

SESSION_COOKIE = "exoshare_session"
CSRF_HEADER = "X-CSRF-Token"


def _client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


async def form_csrf(request: Request) -> None:
    """Lift a form's csrf_token field into request state before the caller is resolved."""
    content_type = request.headers.get("content-type", "")
    if request.method not in SAFE_METHODS and (
        content_type.startswith("application/x-www-form-urlencoded")
        or content_type.startswith("multipart/form-data")
    ):
        form = await request.form()
        token = form.get("csrf_token")
        request.state.form_csrf = token if isinstance(token, str) else None


def optional_principal(
    request: Request, session: DbSession, _form: Annotated[None, Depends(form_csrf)]
) -> Principal | None:
    """The caller, from a bearer token (API) or the session cookie (browser), or None."""
    # The same lookup as the live WebSocket's (auth.websocket_guard.socket_caller).
    credential = auth_service.credential_for_request(
        session, request.headers.get("authorization", ""), request.cookies.get(SESSION_COOKIE)
    )
    if credential is None:
        return None
    auth_service.note_credential_use(runtime_of(request).sessionmaker, credential, session)
    if credential.kind is CredentialKind.browser_session:
        request.state.csrf_token = credential.csrf_token
        # A cookie rides along on cross-site requests, so a state change needs proof that the
        # page itself made it: the CSRF token, as a header (htmx/fetch) or a form field.
        if request.method not in SAFE_METHODS and not request.url.path.startswith("/login"):
            sent = request.headers.get(CSRF_HEADER) or getattr(request.state, "form_csrf", None)
            if not sent or not secrets.compare_digest(sent, credential.csrf_token or ""):
                raise PermissionDenied(
                    "missing or wrong CSRF token: reload the page and submit the form again"
                )
    principal = auth_service.principal_for(
        session,
        credential.user,
        client_address=_client_address(request),
        user_agent=request.headers.get("user-agent"),
        request_path=request.url.path,
    )
    request.state.principal = principal
    request.state.credential_id = credential.id
    require_enrolment_if_due(request, session, principal)
    return principal


def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise NotAuthenticated("sign in, or send 'Authorization: Bearer <token>'")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def require(permission: Permission) -> Callable[[Principal], Principal]:
    """A dependency giving the caller if they hold ``permission`` somewhere, else 403."""

    def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.can(permission):
            raise PermissionDenied(f"this needs the permission {permission.value}")
        return principal

    dependency.__name__ = f"require_{permission.name}"
    return dependency


def page_requires(permission: Permission) -> Callable[[Principal], Principal]:
    """Like :func:`require` for pages: a caller without ``permission`` is told the page does
    not exist, as for any other page outside their scope."""

    def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.can(permission):
            raise NotFound("page not found")
        return principal

    dependency.__name__ = f"page_requires_{permission.name}"
    return dependency
