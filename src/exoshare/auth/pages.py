"""Pages of one's own account: signing in and out, and the security settings (second factor,
sessions). Invitations and password reset have their pages in their own folders."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from exoshare.auth import service as auth_service
from exoshare.auth.gate import SESSION_COOKIE, CurrentPrincipal, optional_principal
from exoshare.auth.login import sign_in
from exoshare.auth.schemas import CredentialKind
from exoshare.auth.scope import Principal
from exoshare.auth.secret_box import totp_box
from exoshare.auth.sessions import service as sessions
from exoshare.auth.totp import service as totp
from exoshare.deps import DbSession
from exoshare.errors import (
    InvalidInput,
    NotAuthenticated,
    SecondFactorRequired,
    TooManyAttempts,
)
from exoshare.runtime import runtime_of
from exoshare.web.redirects import safe_next
from exoshare.web.render import render

router = APIRouter(include_in_schema=False)

# Token links must not leak to other sites through the Referer header.
NO_REFERRER = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def token_page(
    request: Request, template: str, status_code: int = 200, **context: object
) -> HTMLResponse:
    """A page reached from a mailed token link (invitation, password reset): not cached, and
    its address (the token) is not sent on as a Referer."""
    response = render(request, template, None, status_code, **context)
    response.headers.update(NO_REFERRER)
    return response


# ------------------------------------------------------------------------ sign in and out

LOGIN_CSRF_COOKIE = "exoshare_login_csrf"


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    principal: Annotated[Principal | None, Depends(optional_principal)],
    next: str | None = None,
) -> Response:
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next, error=None, status_code=200)


def _login_page(
    request: Request,
    next: str | None,
    error: str | None,
    status_code: int,
    email: str = "",
    retry_after_s: int | None = None,
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        None,
        status_code,
        next=safe_next(next),
        error=error,
        login_csrf=token,
        email=email,
        retry_after_s=retry_after_s,
    )
    if retry_after_s is not None:
        response.headers["Retry-After"] = str(retry_after_s)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=runtime_of(request).settings.cookie_secure,
        max_age=3600,
    )
    return response


@router.post("/login")
def login(
    request: Request,
    session: DbSession,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
    login_csrf: Annotated[str, Form()] = "",
    next: Annotated[str | None, Form()] = None,
    totp_code: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, login_csrf):
        return _login_page(request, next, error="form-expired", status_code=400)
    address = request.client.host if request.client else None
    try:
        user = sign_in(
            session,
            runtime_of(request).login_throttler,
            email,
            password,
            totp_code or None,
            address,
            totp_box(runtime_of(request).settings),
        )
    except TooManyAttempts as exc:
        return _login_page(
            request, next, "too-many", 429, email=email, retry_after_s=exc.retry_after_s
        )
    except SecondFactorRequired:
        return _login_page(request, next, error="code-needed", status_code=401, email=email)
    except NotAuthenticated:
        return _login_page(request, next, error="bad-credentials", status_code=401, email=email)
    settings = runtime_of(request).settings
    ttl = timedelta(hours=settings.session_ttl_hours)
    secret, _ = auth_service.issue_credential(
        session,
        user,
        CredentialKind.browser_session,
        ttl,
        client_address=address,
        user_agent=request.headers.get("user-agent"),
    )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        max_age=int(ttl.total_seconds()),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, session: DbSession, _principal: CurrentPrincipal) -> RedirectResponse:
    cookie = request.cookies.get(SESSION_COOKIE, "")
    credential = auth_service.credential_for_secret(session, cookie, CredentialKind.browser_session)
    if credential is not None:
        auth_service.revoke_credential(session, credential)
        runtime_of(request).live_sockets.close_when_committed(session, [credential.id])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# -------------------------------------------------------------------------- own security


def _security_page(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    status_code: int = 200,
    **context: object,
) -> HTMLResponse:
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


@router.get("/account/security", response_class=HTMLResponse)
def security(request: Request, session: DbSession, principal: CurrentPrincipal) -> HTMLResponse:
    return _security_page(request, session, principal)


@router.post("/account/security/totp", response_class=HTMLResponse)
def security_totp_start(
    request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse:
    box = totp_box(runtime_of(request).settings)
    secret, uri = totp.start_enrolment(session, auth_service.user_of(session, principal), box)
    return _security_page(request, session, principal, enrolling={"secret": secret, "uri": uri})


@router.post("/account/security/totp/confirm", response_class=HTMLResponse)
def security_totp_confirm(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    code: Annotated[str, Form(max_length=20)],
) -> HTMLResponse:
    try:
        box = totp_box(runtime_of(request).settings)
        codes = totp.confirm_enrolment(session, auth_service.user_of(session, principal), code, box)
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
            session,
            auth_service.user_of(session, principal),
            code,
            totp_box(runtime_of(request).settings),
        )
    except InvalidInput:
        session.rollback()
        return _security_page(request, session, principal, 422, error="code")
    return RedirectResponse("/account/security", status_code=303)


@router.post("/account/security/sessions/{credential_id}/revoke")
def security_revoke(
    credential_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> RedirectResponse:
    sessions.revoke_own(session, principal.user_id, credential_id)
    runtime_of(request).live_sockets.close_when_committed(session, [credential_id])
    return RedirectResponse("/account/security", status_code=303)


@router.post("/account/security/sessions/revoke-others")
def security_revoke_others(
    request: Request, session: DbSession, principal: CurrentPrincipal
) -> RedirectResponse:
    keep = getattr(request.state, "credential_id", None)
    runtime_of(request).live_sockets.close_when_committed(
        session, sessions.revoke_all(session, principal.user_id, keep)
    )
    return RedirectResponse("/account/security", status_code=303)
