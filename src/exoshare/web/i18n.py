"""Translations: gettext catalogs (Babel), locale negotiation, and text direction per locale."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from fastapi import Request

from exoshare.languages import reads
from exoshare.web import LOCALE_DIR

LANGUAGE_COOKIE = "exoshare_lang"
SOURCE_LOCALE = "en"

COMPLETE_CATALOGS: frozenset[str] = frozenset(
    {"ar", "de", "es", "fr", "hi", "ja", "ko", "nl", "pt", "sw", "zh"}
)
"""The one declaration of which catalogs ship complete: every string of messages.pot translated
and none fuzzy (tests/web/test_i18n.py fails otherwise). Only these languages are offered and
shown; a page asked for another language is shown in English and says so in ``<html lang>``,
so a screen reader or a browser's translator is never told English text is Hebrew."""


def catalog_language(locale: str) -> str:
    """The catalog that holds ``locale``'s words: its language (``es_MX`` reads ``es``), unless
    the locale is written in another script than the language's usual one (a catalog is written
    in that one: ``zh`` is Simplified); then ``locale`` itself, so ``zh_TW`` never reads ``zh``."""
    language = locale.split("_")[0]
    return language if reads(locale, language) else locale


def available_locales() -> list[str]:
    """The page languages: English (the source language) and every complete catalog."""
    return [SOURCE_LOCALE, *sorted(COMPLETE_CATALOGS - {SOURCE_LOCALE})]


def shipped_catalogs(locale_dir: Path | None = None) -> list[str]:
    """Every catalog on disk, complete or still being translated."""
    where = locale_dir or LOCALE_DIR
    return sorted(p.parent.parent.name for p in where.glob("*/LC_MESSAGES/messages.po"))


def text_locale(locale: str) -> str:
    """The locale a page's words and numbers are shown in: the chosen one when its language
    has a complete catalog (``es_MX`` keeps Mexican number formats with the Spanish words),
    otherwise the source language."""
    if catalog_language(locale) in COMPLETE_CATALOGS:
        return locale
    return SOURCE_LOCALE


def _read_catalog(po_file: Path, locale: str) -> Catalog:
    with po_file.open("rb") as handle:
        return read_po(handle, locale=locale)


def missing_strings(locale: str, locale_dir: Path | None = None) -> list[str]:
    """The strings of the template (messages.pot) that ``locale``'s catalog does not translate:
    absent, empty, or marked fuzzy (a guess nobody has checked), sorted."""
    locale_dir = locale_dir or LOCALE_DIR
    template = _read_catalog(locale_dir / "messages.pot", SOURCE_LOCALE)
    po_file = locale_dir / locale / "LC_MESSAGES" / "messages.po"
    catalog = _read_catalog(po_file, locale) if po_file.exists() else Catalog(locale=locale)
    missing = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id)
        strings = found.string if found is not None else None
        translated = all(strings) if isinstance(strings, tuple) else bool(strings)
        if found is None or not translated or found.fuzzy:
            missing.append(str(message.id))
    return sorted(missing)


@cache
def interface_strings(locale_dir: Path | None = None) -> frozenset[str]:
    """Every msgid of the interface (messages.pot)."""
    template = _read_catalog((locale_dir or LOCALE_DIR) / "messages.pot", SOURCE_LOCALE)
    return frozenset(str(message.id) for message in template if message.id)


@cache
def translations(locale: str) -> NullTranslations:
    """The catalog of ``locale`` (or of its language: ``es_MX`` reads ``es``; see
    ``catalog_language``), compiled from its .po file in memory.

    Compiling at load time keeps binary .mo files out of the repository and means a fresh
    checkout needs no build step; a catalog is small, so this costs milliseconds once.
    """
    po_file = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_file.exists():
        po_file = LOCALE_DIR / catalog_language(locale) / "LC_MESSAGES" / "messages.po"
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
    # A browser set to Traditional Chinese sends "zh-TW, zh": the bare "zh" after it means
    # Chinese in that script too, not the Simplified catalog.
    other_script: set[str] = set()
    for candidate in candidates:
        language = candidate.split("_")[0]
        catalog = catalog_language(candidate)
        if catalog != language:
            other_script.add(language)
        elif candidate == language and language in other_script:
            continue
        if candidate in available:
            return candidate
        if catalog in available:
            return catalog
    return None


def choose_locale(request: Request, user_locale: str | None, default: str = SOURCE_LOCALE) -> str:
    """Explicit choice (?lang= or the language cookie) beats the profile, which beats the browser.

    A locale without a complete catalog may still be chosen explicitly (e.g. ``he``); the page
    is then shown in English (``text_locale``), with English direction and number formats.
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
