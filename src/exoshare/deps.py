"""Request dependencies shared by every router: the database session, the caller, pagination."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from exoshare.auth import service as auth_service
from exoshare.auth.enrolment_gate import require_enrolment_if_due
from exoshare.auth.models import CredentialKind
from exoshare.auth.scope import Principal
from exoshare.bounds import SQL_BIGINT_MAX
from exoshare.db import session_scope
from exoshare.errors import InvalidInput, NotAuthenticated, PermissionDenied

SESSION_COOKIE = "exoshare_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    with session_scope(request.app.state.sessionmaker) as session:
        yield session


# scope="function" ends the transaction when the handler returns, before the response is sent.
# FastAPI's default ("request") runs a yield dependency's exit after the response has gone out,
# so a client acting on a 204 from DELETE /auth/token could still use the token it had revoked,
# and a freshly issued token could be refused on first use. Every route, API and page, takes its
# session from this one alias, so the order holds everywhere.
DbSession = Annotated[Session, Depends(db_session, scope="function")]


NUL = "\x00"


def _nul_field(value: object, path: str) -> str | None:
    """The dotted path of the first key or string in a JSON value that holds a NUL character."""
    if isinstance(value, str):
        return path if NUL in value else None
    items: list[tuple[str, object]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                return f"{path}.{key}".lstrip(".")
            items.append((f"{path}.{key}".lstrip("."), item))
    elif isinstance(value, list):
        items = [(f"{path}.{index}".lstrip("."), item) for index, item in enumerate(value)]
    for item_path, item in items:
        found = _nul_field(item, item_path)
        if found is not None:
            return found
    return None


async def refuse_nul_characters(connection: HTTPConnection) -> None:
    """Refuse text holding U+0000 anywhere a request carries text: path, query, form, JSON.

    PostgreSQL cannot store or even compare it (every such value was a 500 there), and no
    name, id or note needs it. Uploaded files are binary and are not looked at here.
    """

    def refuse(field: str) -> InvalidInput:
        return InvalidInput(
            f"{field}: text may not contain the NUL character (U+0000)", field=field or "body"
        )

    for name, value in connection.path_params.items():
        if isinstance(value, str) and NUL in value:
            raise refuse(name)
    for name, value in connection.query_params.multi_items():
        if NUL in name or NUL in value:
            raise refuse(name)
    if not isinstance(connection, Request) or connection.method in SAFE_METHODS:
        return
    content_type = connection.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await connection.form()
        for name, field_value in form.multi_items():
            if NUL in name or (isinstance(field_value, str) and NUL in field_value):
                raise refuse(name)
    elif "json" in content_type:
        body = await connection.body()
        if b"\\u0000" in body or b"\x00" in body:
            try:
                document = json.loads(body)
            except ValueError:
                return  # not JSON at all: the route's own parsing says so
            field = _nul_field(document, "")
            if field is not None:
                raise refuse(field)


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
    auth_service.note_credential_use(request.app.state.sessionmaker, credential)
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


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=SQL_BIGINT_MAX, description="Items to skip")] = 0,
) -> PageParams:
    return PageParams(limit, offset)


Paging = Annotated[PageParams, Depends(page_params)]
