"""Rendering pages: one Jinja2 environment per locale, with Babel formatting filters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from exoshare.runtime import runtime_of
from exoshare.web import TEMPLATES_DIR, labels
from exoshare.web.i18n import available_locales, choose_locale, text_direction, translations

if TYPE_CHECKING:
    # The caller's identity is auth's, a layer above: pages hand it in, render only reads it.
    from exoshare.auth.scope import Principal


@cache
def environment(locale: str) -> Environment:
    """A separate environment per locale keeps gettext installation thread-safe."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]

    def _date(value: date | datetime | None, fmt: str = "medium") -> str:
        if value is None:
            return "—"
        if isinstance(value, datetime):
            return format_datetime(value, format=fmt, locale=locale)
        return format_date(value, format=fmt, locale=locale)

    def _number(value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return "—"
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=locale)

    gettext = translations(locale).gettext

    env.filters["date"] = _date
    env.filters["number"] = _number
    env.globals.update(
        role_label=lambda role: gettext(labels.ROLE[role]),
        diagnosis_label=lambda value: gettext(labels.DIAGNOSIS[value]),
        sex_label=lambda value: gettext(labels.SEX[value]),
        status_label=lambda value: gettext(labels.UNIT_STATUS[value]),
        device_type_label=lambda value: gettext(labels.DEVICE_TYPE[value]),
        certificate_status_label=lambda value: gettext(labels.CERTIFICATE_STATUS[value]),
        language_name=_language_name,
        partner_kind_label=lambda value: gettext(labels.PARTNER_KIND[value]),
        offering_label=lambda value: gettext(labels.OFFERING[value]),
        agreement_kind_label=lambda value: gettext(labels.AGREEMENT_KIND[value]),
        agreement_status_label=lambda value: gettext(labels.AGREEMENT_STATUS[value]),
        language_name=language_namer(locale),
        country_name=lambda code: Locale.parse(locale).territories.get(code, code),
        setting_label=lambda name: (
            gettext(labels.SETTING[name]) if name in labels.SETTING else name.replace("_", " ")
        ),
        therapy_status_label=lambda value: gettext(
            labels.THERAPY_STATUS.get(str(value), str(value))
        ),
        label=lambda kind, value: gettext(getattr(labels, kind)[str(value)]),
        alert_text=lambda kind, value, limit: _alert_text(gettext, kind, value, limit),
        live_labels=lambda: _live_labels(gettext),
        refusal_text=lambda refusal: _refusal_text(gettext, refusal),
    )
    return env


def language_namer(locale: str) -> Callable[[str], str]:
    """``name(code)``: a language's name in the reader's language (``es`` -> "Spanish")."""

    def name(code: str) -> str:
        try:
            return Locale.parse(code).get_display_name(locale) or code
        except (ValueError, UnknownLocaleError):
            return code

    return name


def _alert_text(
    gettext: Callable[[str], str], kind: str, value: float | None, limit: float | None
) -> str:
    """An alert in the reader's language: what, the measured value and the limit."""
    label, unit = labels.ALERT_KIND.get(kind, (kind, ""))
    if value is None or limit is None:
        return gettext(label)
    return gettext("%(what)s: %(value)s %(unit)s (limit %(limit)s %(unit)s)") % {
        "what": gettext(label),
        "value": f"{value:.1f}",
        "limit": f"{limit:.1f}",
        "unit": unit,
    }


def _refusal_text(gettext: Callable[[str], str], refusal: Any) -> str:
    """A clinical-safety refusal in the reader's language (its English words if unlabelled)."""
    template = labels.ELIGIBILITY.get(refusal.code)
    if template is None:
        return str(refusal.reason)
    try:
        return gettext(template) % refusal.params
    except (KeyError, TypeError, ValueError):
        return str(refusal.reason)


def _live_labels(gettext: Callable[[str], str]) -> dict[str, dict[str, object]]:
    """Everything the live page's script shows, translated once on the server."""
    return {
        "status": {k: gettext(v) for k, v in labels.THERAPY_STATUS.items()},
        "link": {k: gettext(v) for k, v in labels.LINK_LEVEL.items()},
        "setting": {k: gettext(v) for k, v in labels.SETTING.items()},
        "refusal": {k: gettext(v) for k, v in labels.SETTING_REFUSAL.items()},
        "eligibility": {k: gettext(v) for k, v in labels.ELIGIBILITY.items()},
        "alert": {k: [gettext(v[0]), v[1]] for k, v in labels.ALERT_KIND.items()},
        "alert_format": {
            "text": gettext("%(what)s: %(value)s %(unit)s (limit %(limit)s %(unit)s)")
        },
    }


def request_locale(request: Request, principal: Principal | None) -> str:
    """The locale a page is shown in (explicit choice, then profile, then browser)."""
    return choose_locale(
        request,
        principal.locale if principal else None,
        runtime_of(request).settings.default_locale,
    )


def request_gettext(request: Request, principal: Principal | None) -> Callable[[str], str]:
    """gettext in the reader's locale, for text a route builds itself (chart titles, labels)."""
    return translations(request_locale(request, principal)).gettext


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    locale = request_locale(request, principal)
    env = environment(locale)
    html = env.get_template(template).render(
        request=request,
        principal=principal,
        locale=locale,
        lang=locale.split("_")[0],
        direction=text_direction(locale),
        locales=available_locales(),
        csrf_token=getattr(request.state, "csrf_token", None),
        **context,
    )
    return HTMLResponse(html, status_code=status_code)
