"""Pages of accounts: accept an invitation, forgot and reset password, own security settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from exoshare.auth import invitations, password_reset, sessions, totp
from exoshare.auth.account_api import send_later
from exoshare.auth.gate import CurrentPrincipal
from exoshare.auth.models import User
from exoshare.auth.passwords import MIN_PASSWORD_LENGTH
from exoshare.auth.secret_box import totp_box
from exoshare.deps import DbSession
from exoshare.errors import InvalidInput, NotFound
from exoshare.runtime import runtime_of
from exoshare.web.render import render

router = APIRouter(include_in_schema=False)

# Token links must not leak to other sites through the Referer header.
NO_REFERRER = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _page(request: Request, template: str, status_code: int = 200, **context: object) -> Response:
    response = render(request, template, None, status_code, **context)
    response.headers.update(NO_REFERRER)
    return response


# ----------------------------------------------------------------------------- invitation


@router.get("/invitation", response_class=HTMLResponse)
def invitation_form(request: Request, session: DbSession, token: str = "") -> Response:
    try:
        invitation = invitations.open_invitation(session, token)
    except NotFound:
        return _page(request, "accounts/invitation.html", 404, error="invalid-token")
    return _page(
        request,
        "accounts/invitation.html",
        invitation=invitation,
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
) -> Response:
    try:
        invitation = invitations.open_invitation(session, token)
    except NotFound:
        return _page(request, "accounts/invitation.html", 404, error="invalid-token")
    existing = invitations.account_exists(session, invitation)
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
            existing=existing,
            token=token,
            min_length=MIN_PASSWORD_LENGTH,
            error=exc.field,
        )
    return _page(request, "accounts/invitation.html", done=True)


# ------------------------------------------------------------------------- password reset


@router.get("/forgot-password", response_class=HTMLResponse)
def forgot_form(request: Request) -> Response:
    return _page(request, "accounts/forgot_password.html")


@router.post("/forgot-password", response_class=HTMLResponse)
def forgot_submit(
    request: Request,
    session: DbSession,
    background: BackgroundTasks,
    email: Annotated[str, Form(max_length=254)],
) -> Response:
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
def reset_form(request: Request, session: DbSession, token: str = "") -> Response:
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
) -> Response:
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
    runtime_of(request).live_sockets.close_for(revoked, "password reset")
    return _page(request, "accounts/reset_password.html", done=True)


# -------------------------------------------------------------------------- own security


def _security_page(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    status_code: int = 200,
    **context: object,
) -> Response:
    settings = runtime_of(request).settings
    response = render(
        request,
        "accounts/security.html",
        principal,
        status_code,
        totp_enabled=totp.has_second_factor(session, principal.user_id),
        totp_required=totp.is_required(principal, settings.require_totp_for_admins),
        unused_recovery_codes=totp.unused_recovery_codes(session, principal.user_id),
        credentials=sessions.active_credentials(session, principal.user_id),
        current_id=getattr(request.state, "credential_id", None),
        **context,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _user(session: DbSession, principal: CurrentPrincipal) -> User:
    user = session.get(User, principal.user_id)
    assert user is not None
    return user


@router.get("/account/security", response_class=HTMLResponse)
def security(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    return _security_page(request, session, principal)


@router.post("/account/security/totp", response_class=HTMLResponse)
def security_totp_start(
    request: Request, session: DbSession, principal: CurrentPrincipal
) -> Response:
    box = totp_box(runtime_of(request).settings)
    secret, uri = totp.start_enrolment(session, _user(session, principal), box)
    return _security_page(request, session, principal, enrolling={"secret": secret, "uri": uri})


@router.post("/account/security/totp/confirm", response_class=HTMLResponse)
def security_totp_confirm(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    code: Annotated[str, Form(max_length=20)],
) -> Response:
    try:
        box = totp_box(runtime_of(request).settings)
        codes = totp.confirm_enrolment(session, _user(session, principal), code, box)
    except InvalidInput:
        return _security_page(request, session, principal, 422, error="code")
    return _security_page(request, session, principal, recovery_codes=codes)


@router.post("/account/security/totp/disable", response_class=HTMLResponse)
def security_totp_disable(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    code: Annotated[str, Form(max_length=20)],
) -> Response:
    try:
        totp.disable(
            session, _user(session, principal), code, totp_box(runtime_of(request).settings)
        )
    except InvalidInput:
        session.rollback()
        return _security_page(request, session, principal, 422, error="code")
    return RedirectResponse("/account/security", status_code=303)


@router.post("/account/security/sessions/{credential_id}/revoke")
def security_revoke(
    credential_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> Response:
    sessions.revoke_own(session, principal.user_id, credential_id)
    runtime_of(request).live_sockets.close_for([credential_id])
    return RedirectResponse("/account/security", status_code=303)


@router.post("/account/security/sessions/revoke-others")
def security_revoke_others(
    request: Request, session: DbSession, principal: CurrentPrincipal
) -> Response:
    keep = getattr(request.state, "credential_id", None)
    runtime_of(request).live_sockets.close_for(
        sessions.revoke_all(session, principal.user_id, keep)
    )
    return RedirectResponse("/account/security", status_code=303)
