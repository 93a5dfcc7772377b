"""Pages of password reset: ask for a link by e-mail, then choose the new password."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse

from exoshare.auth.mail import send_later
from exoshare.auth.pages import token_page as _page
from exoshare.auth.password_reset import service as password_reset
from exoshare.auth.passwords import MIN_PASSWORD_LENGTH
from exoshare.deps import DbSession
from exoshare.errors import InvalidInput, NotFound
from exoshare.runtime import runtime_of

router = APIRouter(include_in_schema=False)


@router.get("/forgot-password", response_class=HTMLResponse)
def forgot_form(request: Request) -> HTMLResponse:
    return _page(request, "accounts/forgot_password.html")


@router.post("/forgot-password", response_class=HTMLResponse)
def forgot_submit(
    request: Request,
    session: DbSession,
    background: BackgroundTasks,
    email: Annotated[str, Form(max_length=254)],
) -> HTMLResponse:
    """The same page for every address, known or not; the mail goes after the answer."""
    settings = runtime_of(request).settings
    ttl = timedelta(minutes=settings.password_reset_ttl_minutes)
    found = password_reset.request_reset(session, email, ttl)
    if found is not None:
        user, token = found
        subject, text = password_reset.reset_mail(settings.resolved_public_url(), token, ttl)
        background.add_task(send_later, settings, user.email, subject, text)
    return _page(request, "accounts/forgot_password.html", sent=True)


@router.get("/reset-password", response_class=HTMLResponse)
def reset_form(request: Request, session: DbSession, token: str = "") -> HTMLResponse:
    try:
        password_reset.check_token(session, token)
    except NotFound:
        return _page(request, "accounts/reset_password.html", 404, error="invalid-token")
    return _page(
        request, "accounts/reset_password.html", token=token, min_length=MIN_PASSWORD_LENGTH
    )


@router.post("/reset-password", response_class=HTMLResponse)
def reset_submit(
    request: Request,
    session: DbSession,
    token: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
) -> HTMLResponse:
    try:
        _, revoked = password_reset.reset_password(session, token, password)
    except NotFound:
        return _page(request, "accounts/reset_password.html", 404, error="invalid-token")
    except InvalidInput:
        return _page(
            request,
            "accounts/reset_password.html",
            422,
            token=token,
            min_length=MIN_PASSWORD_LENGTH,
            error="password",
        )
    runtime_of(request).live_sockets.close_when_committed(session, revoked, "password reset")
    return _page(request, "accounts/reset_password.html", done=True)
