"""Translations: gettext catalogs (Babel), locale negotiation, and text direction per locale."""

from __future__ import annotations

import io
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from fastapi import Request

from exoshare.web import LOCALE_DIR

LANGUAGE_COOKIE = "exoshare_lang"
SOURCE_LOCALE = "en"


def available_locales() -> list[str]:
    """English (the source language) plus every locale with a catalog under web/locale/."""
    shipped = sorted(p.parent.parent.name for p in LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"))
    return [SOURCE_LOCALE, *[code for code in shipped if code != SOURCE_LOCALE]]


@cache
def translations(locale: str) -> NullTranslations:
    """The catalog of ``locale``, compiled from its .po file in memory.

    Compiling at load time keeps binary .mo files out of the repository and means a fresh
    checkout needs no build step; a catalog is small, so this costs milliseconds once.
    """
    po_file = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_file.exists():
        return NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def normalise(code: str | None) -> str | None:
    if not code:
        return None
    code = code.strip().replace("-", "_")
    try:
        Locale.parse(code)
    except (ValueError, UnknownLocaleError):
        return None
    return code


def text_direction(locale: str) -> str:
    """``rtl`` for right-to-left scripts (Arabic, Hebrew, Urdu, ...), else ``ltr``."""
    try:
        order = Locale.parse(locale).character_order
    except (ValueError, UnknownLocaleError):
        return "ltr"
    return "rtl" if order == "right-to-left" else "ltr"


def _best_match(candidates: list[str]) -> str | None:
    available = available_locales()
    for candidate in candidates:
        if candidate in available:
            return candidate
        language = candidate.split("_")[0]
        if language in available:
            return language
    return None


def choose_locale(request: Request, user_locale: str | None, default: str = SOURCE_LOCALE) -> str:
    """Explicit choice (?lang= or the language cookie) beats the profile, which beats the browser.

    A locale without a catalog may still be chosen explicitly (e.g. ``ar``): the page then shows
    English text but the locale's direction and number formats, which is what RTL checks need.
    """
    explicit = normalise(request.query_params.get("lang")) or normalise(
        request.cookies.get(LANGUAGE_COOKIE)
    )
    if explicit:
        return explicit
    profile = normalise(user_locale)
    if profile and _best_match([profile]):
        return _best_match([profile]) or default
    header = request.headers.get("accept-language", "")
    candidates = []
    for part in header.split(","):
        code = normalise(part.split(";")[0])
        if code:
            candidates.append(code)
    return _best_match(candidates) or default
