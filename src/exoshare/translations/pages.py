"""The translator's pages: each catalog's untranslated and outdated strings, translated in place."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from exoshare.auth import audit
from exoshare.auth.gate import page_requires
from exoshare.auth.scope import Permission, Principal
from exoshare.deps import DbSession
from exoshare.errors import NotFound, TranslationRejected
from exoshare.web import catalogs
from exoshare.web.i18n import shipped_catalogs
from exoshare.web.problem_words import problem_from_query, problem_query
from exoshare.web.render import render

router = APIRouter(include_in_schema=False)

SHOWN = 50
"""Untranslated strings shown at once; the search narrows a long list."""

Translator = Annotated[Principal, Depends(page_requires(Permission.translations_write))]


def _status(code: str) -> catalogs.CatalogStatus:
    try:
        return catalogs.catalog_status(code)
    except KeyError:
        raise NotFound(f"no catalog for {code}") from None


@router.get("/translations", response_class=HTMLResponse)
def catalogs_page(request: Request, principal: Translator) -> HTMLResponse:
    return render(
        request,
        "translations/catalogs.html",
        principal,
        statuses=[catalogs.catalog_status(code) for code in shipped_catalogs()],
    )


@router.get("/translations/{code}", response_class=HTMLResponse)
def catalog_page(code: str, request: Request, principal: Translator, q: str = "") -> HTMLResponse:
    status = _status(code)
    wanted = q.strip().casefold()
    shown = [s for s in status.untranslated if wanted in s.casefold()]
    return render(
        request,
        "translations/catalog.html",
        principal,
        status=status,
        q=q,
        shown=shown[:SHOWN],
        matching=len(shown),
        contexts=catalogs.contexts,
        error=problem_from_query(request.query_params),
        saved=request.query_params.get("saved"),
    )


@router.post("/translations/{code}")
def translate(
    code: str,
    session: DbSession,
    principal: Translator,
    source: Annotated[str, Form(max_length=2000)],
    translation: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    """Write one translation into the catalog; the next page shown in that language uses it."""
    _status(code)
    try:
        catalogs.save_translation(code, source, translation)
    except TranslationRejected as refused:
        return RedirectResponse(f"/translations/{code}?{problem_query(refused)}", status_code=303)
    audit.record(
        session,
        principal,
        "translate",
        "ui_string",
        None,
        detail={"locale": code, "source": source},
    )
    return RedirectResponse(f"/translations/{code}?saved={quote(source)}", status_code=303)
