"""Pages of invitations: the invitee's form to accept, with a new or an existing password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from exoshare.auth.invitations import service as invitations
from exoshare.auth.pages import token_page as _page
from exoshare.auth.passwords import MIN_PASSWORD_LENGTH
from exoshare.deps import DbSession
from exoshare.errors import InvalidInput, NotFound
from exoshare.runtime import runtime_of

router = APIRouter(include_in_schema=False)


@router.get("/invitation", response_class=HTMLResponse)
def invitation_form(request: Request, session: DbSession, token: str = "") -> HTMLResponse:
    try:
        invitation = invitations.open_invitation(session, token)
    except NotFound:
        return _page(request, "accounts/invitation.html", 404, error="invalid-token")
    return _page(
        request,
        "accounts/invitation.html",
        invitation=invitation,
        unit_name=invitations.unit_name(session, invitation),
        existing=invitations.account_exists(session, invitation),
        token=token,
        min_length=MIN_PASSWORD_LENGTH,
    )


@router.post("/invitation", response_class=HTMLResponse)
def invitation_accept(
    request: Request,
    session: DbSession,
    token: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    display_name: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    try:
        invitation = invitations.open_invitation(session, token)
    except NotFound:
        return _page(request, "accounts/invitation.html", 404, error="invalid-token")
    existing = invitations.account_exists(session, invitation)
    unit_name = invitations.unit_name(session, invitation)
    try:
        invitations.accept(
            session,
            token,
            password,
            display_name or None,
            runtime_of(request).login_throttler,
            request.client.host if request.client else None,
        )
    except InvalidInput as exc:
        session.rollback()
        return _page(
            request,
            "accounts/invitation.html",
            422,
            invitation=invitation,
            unit_name=unit_name,
            existing=existing,
            token=token,
            min_length=MIN_PASSWORD_LENGTH,
            error=exc.field,
        )
    return _page(request, "accounts/invitation.html", done=True)
