"""HTML routes: sign-in and sign-out, the home page of each role, patient pages."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from exoshare.auth import service as auth_service
from exoshare.auth.gate import SESSION_COOKIE, CurrentPrincipal, optional_principal
from exoshare.auth.login import sign_in
from exoshare.auth.schemas import CredentialKind, Role
from exoshare.auth.scope import Permission, Principal
from exoshare.auth.secret_box import totp_box
from exoshare.bounds import SQL_BIGINT_MAX
from exoshare.deps import DbSession
from exoshare.devices import service as devices_service
from exoshare.errors import NotAuthenticated, SecondFactorRequired, TooManyAttempts
from exoshare.fleet import metering
from exoshare.network import service as network_service
from exoshare.patients import service as patients_service
from exoshare.runtime import runtime_of
from exoshare.web.i18n import LANGUAGE_COOKIE, normalise
from exoshare.web.render import render

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "exoshare_login_csrf"
PATIENTS_PER_PAGE = 25


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login form cannot be used as an open redirect."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    principal: Annotated[Principal | None, Depends(optional_principal)],
    next: str | None = None,
) -> Response:
    if principal is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, next, error=None, status_code=200)


def _login_page(
    request: Request,
    next: str | None,
    error: str | None,
    status_code: int,
    email: str = "",
    retry_after_s: int | None = None,
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        None,
        status_code,
        next=_safe_next(next),
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
    response = RedirectResponse(_safe_next(next), status_code=303)
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
def logout(request: Request, session: DbSession, _principal: CurrentPrincipal) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE, "")
    credential = auth_service.credential_for_secret(session, cookie, CredentialKind.browser_session)
    if credential is not None:
        auth_service.revoke_credential(session, credential)
        runtime_of(request).live_sockets.close_for([credential.id])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/lang/{code}")
def choose_language(code: str, request: Request) -> Response:
    locale = normalise(code) or "en"
    target = _safe_next(request.query_params.get("next") or request.headers.get("referer"))
    if target.startswith("http"):
        target = "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax")
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    context: dict[str, Any] = {}
    if principal.can(Permission.patients_read):
        patients, total = patients_service.list_patients(
            session, principal, limit=PATIENTS_PER_PAGE
        )
        context["patients"] = patients
        context["patients_total"] = total
    if principal.can(Permission.devices_read):
        units, units_total = devices_service.list_units(session, principal, limit=100)
        context["units"] = units
        context["units_total"] = units_total
        context["unit_status_counts"] = devices_service.unit_counts_by_status(session, principal)
    if principal.has_role(Role.consortium_operator) or principal.has_role(Role.researcher):
        context["tree"] = network_service.network_tree(session, principal)
    if principal.has_role(Role.manufacturer) or principal.has_role(Role.trainer):
        models, _ = devices_service.list_models(session, limit=100)
        if principal.has_role(Role.manufacturer) and principal.partner_id:
            models = [m for m in models if m.maker_id == principal.partner_id]
            context["field_usage"] = metering.field_usage_by_model(
                session, [m.id for m in models], datetime.now(UTC) - timedelta(days=30)
            )
        context["models"] = models
    if principal.has_role(Role.patient):
        own, _ = patients_service.list_patients(session, principal, limit=5)
        context["own_records"] = [p for p in own if p.user_id == principal.user_id]
    return render(request, "home.html", principal, **context)


@router.get("/patients/search", response_class=HTMLResponse)
def patient_search(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    q: str = "",
    page: Annotated[int, Query(ge=0, le=SQL_BIGINT_MAX // PATIENTS_PER_PAGE)] = 0,
) -> Response:
    """The rows of the patient table, for htmx to swap in as the user types."""
    patients, total = patients_service.list_patients(
        session,
        principal,
        search=q or None,
        limit=PATIENTS_PER_PAGE,
        offset=page * PATIENTS_PER_PAGE,
    )
    return render(
        request,
        "_patient_rows.html",
        principal,
        patients=patients,
        patients_total=total,
        page=page,
        per_page=PATIENTS_PER_PAGE,
        query=q,
    )


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(
    patient_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> Response:
    patient = patients_service.get_patient(session, principal, patient_id)
    return render(
        request,
        "patient.html",
        principal,
        patient=patient,
        may_write=principal.covers(Permission.patients_write, patient.clinic.path),
    )
