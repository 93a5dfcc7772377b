"""Rendering pages: one Jinja2 environment per locale, with Babel formatting filters."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_eval_context, select_autoescape
from jinja2.nodes import EvalContext
from markupsafe import Markup

from exoshare.runtime import runtime_of
from exoshare.web import TEMPLATES_DIR, labels
from exoshare.web.i18n import (
    available_locales,
    choose_locale,
    text_direction,
    text_locale,
    translations,
)
from exoshare.web.problem_words import problem_words, titles

if TYPE_CHECKING:
    # The caller's identity is auth's, a layer above: pages hand it in, render only reads it.
    from exoshare.auth.scope import Principal


@cache
def environment(locale: str) -> Environment:
    """A separate environment per locale keeps gettext installation thread-safe."""
    show = localiser(locale)
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        # Every value a template prints goes through the locale: a float or date printed bare
        # ({{ c.proposed_value }}) reads as the reader writes numbers, on every page at once.
        finalize=show,
    )
    catalog = translations(locale)
    # Our callables format the values themselves (through ``show``), so Jinja must not wrap
    # them in its own newstyle formatting, which would print the values with ``str``.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_localised_gettext(catalog.gettext, show),
        ngettext=_localised_ngettext(catalog.ngettext, show),
        newstyle=False,
    )

    def _date(value: date | datetime | None, fmt: str = "medium") -> str:
        if value is None:
            return "—"
        if isinstance(value, datetime):
            return format_datetime(value, format=fmt, locale=locale)
        return format_date(value, format=fmt, locale=locale)

    # The locale's own grouping ("#,##,##0" in Hindi: 12,34,567) with a fixed number of decimals.
    grouping = Locale.parse(locale).decimal_formats[None].pattern.split(";")[0].split(".")[0]

    def _number(value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return "—"
        pattern = grouping + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=locale)

    gettext = translations(locale).gettext

    env.filters["date"] = _date
    env.filters["number"] = _number
    # A number for a machine (SVG coordinates, CSS lengths) keeps its decimal point.
    env.filters["machine"] = lambda value: str(value)
    env.globals.update(
        role_label=lambda role: gettext(labels.ROLE[role]),
        diagnosis_label=lambda value: gettext(labels.DIAGNOSIS[value]),
        sex_label=lambda value: gettext(labels.SEX[value]),
        status_label=lambda value: gettext(labels.UNIT_STATUS[value]),
        device_type_label=lambda value: gettext(labels.DEVICE_TYPE[value]),
        certificate_status_label=lambda value: gettext(labels.CERTIFICATE_STATUS[value]),
        partner_kind_label=lambda value: gettext(labels.PARTNER_KIND[value]),
        offering_label=lambda value: gettext(labels.OFFERING[value]),
        agreement_kind_label=lambda value: gettext(labels.AGREEMENT_KIND[value]),
        agreement_status_label=lambda value: gettext(labels.AGREEMENT_STATUS[value]),
        language_name=language_namer(locale),
        direction_of=text_direction,
        country_name=lambda code: Locale.parse(locale).territories.get(code, code),
        setting_label=lambda name: (
            gettext(labels.SETTING[name]) if name in labels.SETTING else name.replace("_", " ")
        ),
        therapy_status_label=lambda value: gettext(
            labels.THERAPY_STATUS.get(str(value), str(value))
        ),
        label=lambda kind, value: gettext(getattr(labels, kind)[str(value)]),
        alert_text=lambda kind, value, limit: _alert_text(gettext, kind, value, limit, locale),
        live_labels=lambda: _live_labels(gettext, locale),
        refusal_text=lambda refusal: _refusal_text(gettext, refusal, locale),
        problem_titles=lambda: {k: gettext(v) for k, v in titles().items()},
        problem_text=lambda problem: problem_words(problem, gettext, locale, localise_text_value),
        change_reason=lambda change: _change_reason(gettext, change),
        consent_purpose_label=lambda value: gettext(labels.CONSENT_PURPOSE[value]),
        consent_purpose_text=lambda value: gettext(labels.CONSENT_PURPOSE_TEXT[value]),
        consent_state_label=lambda value: gettext(labels.CONSENT_STATE[value]),
        research_status_label=lambda value: gettext(labels.RESEARCH_STATUS[value]),
        federated_status_label=lambda value: gettext(labels.FEDERATED_STATUS[value]),
        federated_strategy_label=lambda value: gettext(labels.FEDERATED_STRATEGY[value]),
        approval_label=lambda value: gettext(labels.APPROVAL_DECISION[value]),
    )
    return env


def localiser(locale: str) -> Callable[[Any], Any]:
    """``show(value)``: floats, dates and times as the locale writes them; anything else as is.

    Integers stay as they are: they are counts, years and ids far more often than quantities,
    and "2.026" for a year would be wrong in Spanish. Quantities are floats.
    """

    def show(value: Any) -> Any:
        if isinstance(value, float) and math.isfinite(value):
            return format_decimal(value, locale=locale)
        if isinstance(value, datetime):
            return format_datetime(value, format="medium", locale=locale)
        if isinstance(value, date):
            return format_date(value, format="medium", locale=locale)
        return value

    return show


def _localised_gettext(
    gettext: Callable[[str], str], show: Callable[[Any], Any]
) -> Callable[..., str]:
    """``_('… %(value)s …', value=1.5)`` with its values shown in the locale (Jinja's own
    newstyle gettext would print them with Python's ``str``)."""

    @pass_eval_context
    def _(eval_ctx: EvalContext, message: str, **values: Any) -> str:
        text = gettext(message)
        if eval_ctx.autoescape:
            text = Markup(text)
        return text % {key: show(value) for key, value in values.items()} if values else text

    return _


def _localised_ngettext(
    ngettext: Callable[[str, str, int], str], show: Callable[[Any], Any]
) -> Callable[..., str]:
    @pass_eval_context
    def n_(eval_ctx: EvalContext, singular: str, plural: str, num: int, **values: Any) -> str:
        text = ngettext(singular, plural, num)
        if eval_ctx.autoescape:
            text = Markup(text)
        values.setdefault("num", num)
        return text % {key: show(value) for key, value in values.items()}

    return n_


def language_namer(locale: str) -> Callable[[str], str]:
    """``name(code)``: a language's name in the reader's language (``es`` -> "Spanish")."""

    def name(code: str) -> str:
        try:
            return Locale.parse(code).get_display_name(locale) or code
        except (ValueError, UnknownLocaleError):
            return code

    return name


def _alert_text(
    gettext: Callable[[str], str],
    kind: str,
    value: float | None,
    limit: float | None,
    locale: str,
) -> str:
    """An alert in the reader's language: what, the measured value and the limit."""
    label, unit = labels.ALERT_KIND.get(kind, (kind, ""))
    if value is None or limit is None:
        return gettext(label)
    return gettext("%(what)s: %(value)s %(unit)s (limit %(limit)s %(unit)s)") % {
        "what": gettext(label),
        "value": format_decimal(value, format="#,##0.0", locale=locale),
        "limit": format_decimal(limit, format="#,##0.0", locale=locale),
        "unit": unit,
    }


DECIMAL_TEXT = re.compile(r"^-?\d+\.(\d+)$")
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def localise_text_value(value: str, locale: str) -> str:
    """A number or day a service wrote as text into an error's values ("1.75", "2026-03-01"),
    as the locale writes it, keeping its decimals; other text as it is."""
    decimal = DECIMAL_TEXT.match(value)
    if decimal:
        pattern = "#,##0." + "0" * len(decimal.group(1))
        return format_decimal(Decimal(value), format=pattern, locale=locale)
    if ISO_DAY.match(value):
        try:
            return format_date(date.fromisoformat(value), format="medium", locale=locale)
        except ValueError:
            return value
    return value


def _refusal_text(gettext: Callable[[str], str], refusal: Any, locale: str) -> str:
    """A clinical-safety or booking-rule refusal in the reader's language (its own words if
    unlabelled)."""
    template = labels.ELIGIBILITY.get(refusal.code) or labels.BOOKING_RULES.get(refusal.code)
    if template is None:
        return str(refusal.reason)
    values = {key: localise_text_value(str(v), locale) for key, v in refusal.params.items()}
    try:
        return gettext(template) % values
    except (KeyError, TypeError, ValueError):
        return str(refusal.reason)


def _change_reason(gettext: Callable[[str], str], change: Any) -> str | None:
    """Why a setting change was refused or did not take effect, in the reader's language, from
    its check's slug or its status (the stored reason is the API's English sentence)."""
    template = labels.SETTING_REFUSAL.get(change.check_result or "")
    if template is None and change.check_result not in (None, "passed"):
        template = titles().get(change.check_result)
    if template is None:
        template = labels.SETTING_OUTCOME.get(str(getattr(change.status, "value", change.status)))
    return gettext(template) if template is not None else None


def _live_labels(gettext: Callable[[str], str], locale: str) -> dict[str, dict[str, object]]:
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
        "outcome": {k: gettext(v) for k, v in labels.SETTING_OUTCOME.items()},
        "problem": {k: gettext(v) for k, v in titles().items()},
        "link_detail": {"text": gettext("(%(resends)s resends, gap %(gap)s s)")},
        "number": {"decimal": get_decimal_symbol(locale), "group": get_group_symbol(locale)},
    }


def request_locale(request: Request, principal: Principal | None) -> str:
    """The locale a page is shown in (explicit choice, then profile, then browser), as far as
    a complete catalog can show it (``text_locale``)."""
    return text_locale(
        choose_locale(
            request,
            principal.locale if principal else None,
            runtime_of(request).settings.default_locale,
        )
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
