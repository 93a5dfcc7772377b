"""One handler that turns every error into an RFC 9457 problem-details response."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from exoshare.errors import ExoshareError, InvalidInput, TooManyAttempts
from exoshare.web.problem_words import PageProblem
from exoshare.web.render import render

PROBLEM_TYPE_BASE = "https://exoshare.org/problems/"
MEDIA_TYPE = "application/problem+json"


def _wants_html(request: Request) -> bool:
    # Pages answer people; everything under /api (and the FHIR facade) answers programs.
    return not request.url.path.startswith(("/api/", "/fhir/", "/static/"))


def _to_login(request: Request) -> Response:
    """Send a reader without a valid sign-in to the login page, and back here afterwards.

    An htmx request would follow a redirect inside its XMLHttpRequest and swap the login page
    into the fragment it asked for (a table row, a live list); it gets 401 with ``HX-Redirect``
    instead, which htmx answers by loading the login page as the whole page. ``next`` is then
    the page the reader was on (``HX-Current-URL``), not the fragment's address.
    """
    if request.headers.get("hx-request") == "true":
        current = urlsplit(request.headers.get("hx-current-url", ""))
        here = current.path or request.url.path
        if current.query:
            here += "?" + current.query
        return Response(
            status_code=401, headers={"HX-Redirect": f"/login?next={quote(here, safe='/')}"}
        )
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


def problem(
    request: Request,
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    words: PageProblem | None = None,
    **extra: Any,
) -> Response:
    headers = dict(headers or {})
    if _wants_html(request):
        if status == 401:
            return _to_login(request)
        if slug == "second-factor-enrolment-required":
            return RedirectResponse("/account/security", status_code=303)
        principal = getattr(request.state, "principal", None)
        page = render(
            request,
            "error.html",
            principal,
            status,
            problem=words or PageProblem(slug, detail),
            status=status,
        )
        page.headers.update(headers)
        return page
    body = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field_of(location: tuple[Any, ...] | list[Any]) -> str:
    # FastAPI prefixes locations with where the value came from ("body", "query", ...).
    parts = [str(p) for p in location]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field_of(err.get("loc", ())), "reason": err.get("msg", "invalid")}
        for err in exc.errors()
    ]
    summary = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
    return problem(request, 422, "validation-error", "Invalid request", summary, errors=errors)


async def _domain(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ExoshareError)
    extra = {k: v for k, v in exc.extra.items() if k != "field"}
    field = getattr(exc, "field", None) or exc.extra.get("field")
    if field:
        extra["errors"] = [{"field": field, "reason": exc.detail}]
    if isinstance(exc, InvalidInput) or field:
        extra.setdefault("field", field)
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, TooManyAttempts) else None
    return problem(
        request,
        exc.status,
        exc.slug,
        exc.title,
        exc.detail,
        headers,
        words=PageProblem.of(exc),
        **extra,
    )


async def domain_problem(request: Request, exc: ExoshareError) -> Response:
    """The problem document of a domain error raised outside a route (e.g. in a middleware)."""
    return await _domain(request, exc)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    titles = {404: "Not found", 405: "Method not allowed", 401: "Authentication required"}
    title = titles.get(exc.status_code, "Error")
    return problem(request, exc.status_code, f"http-{exc.status_code}", title, str(exc.detail))


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(ExoshareError, _domain)
    app.add_exception_handler(StarletteHTTPException, _http)
