"""The language switch: remember the reader's chosen locale in a cookie and go back."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from exoshare.web.i18n import LANGUAGE_COOKIE, normalise
from exoshare.web.redirects import safe_next

router = APIRouter(include_in_schema=False)


@router.get("/lang/{code}")
def choose_language(code: str, request: Request) -> RedirectResponse:
    locale = normalise(code) or "en"
    target = safe_next(request.query_params.get("next") or request.headers.get("referer"))
    if target.startswith("http"):
        target = "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax")
    return response
