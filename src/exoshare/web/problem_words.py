"""A refusal's words on a page: in the reader's language, never the API's English ``detail``.

A form refused by a domain rule sends its reader back to the page they came from with the
refusal in the address (``?error=<slug>&msg=<message>&p.<name>=<value>``): the machine code and
values, not the sentence. The page says it through gettext at display time, with numbers and
days as the reader writes them (``web.render.localise_text_value``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlencode

from pydantic import ValidationError

from exoshare.errors import N_, ExoshareError, InvalidInput
from exoshare.web.i18n import SOURCE_LOCALE, interface_strings

PARAM_PREFIX = "p."
LABEL_SUFFIX = "_label"
"""A value named ``*_label`` is an interface string (an item's name), translated when shown."""
MAX_VALUE = 300
"""Longest value carried in an address (a refusal names codes and numbers, not essays)."""


@dataclass(frozen=True)
class PageProblem:
    """What a page needs to say a refusal: its slug, English detail, and translatable words."""

    slug: str
    detail: str = ""
    message: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, error: ExoshareError) -> PageProblem:
        return cls(error.slug, error.detail, error.message, dict(error.params))

    @classmethod
    def worded(cls, slug: str, message: str, /, **params: object) -> PageProblem:
        """A page's own refusal (a form field it checks itself), said like a domain error's."""
        values = {key: str(value) for key, value in params.items()}
        return cls(slug, message % values, message, values)


def form_problem(error: PageProblem | Exception) -> PageProblem:
    """A refused form as a page problem: a domain error as it is; a value the form's schema
    refused (pydantic) by the field it names; any other ``ValueError`` as invalid input."""
    if isinstance(error, PageProblem):
        return error
    if isinstance(error, ExoshareError):
        return PageProblem.of(error)
    if isinstance(error, ValidationError) and error.errors():
        where = ".".join(str(part) for part in error.errors()[0]["loc"]) or "form"
        return PageProblem.worded(
            InvalidInput.slug,
            N_("%(field)s: this value is not accepted; correct it and send the form again"),
            field=where,
        )
    return PageProblem(InvalidInput.slug, str(error))


def problem_query(problem: PageProblem | Exception) -> str:
    """The refusal as query parameters for the redirect back to the form's page."""
    problem = form_problem(problem)
    pairs = [("error", problem.slug), ("detail", problem.detail[:MAX_VALUE])]
    if problem.message:
        pairs.append(("msg", problem.message))
        pairs += [(PARAM_PREFIX + k, v[:MAX_VALUE]) for k, v in problem.params.items()]
    return urlencode(pairs)


def problem_from_query(query: Mapping[str, str]) -> PageProblem | None:
    """The refusal a redirect carried, if any. Only an interface string is taken as the message:
    an address cannot make a page say words exoshare never wrote."""
    slug = query.get("error")
    if not slug:
        return None
    message = query.get("msg")
    if message not in interface_strings():
        message = None
    params = {
        key[len(PARAM_PREFIX) :]: value[:MAX_VALUE]
        for key, value in query.items()
        if key.startswith(PARAM_PREFIX)
    }
    return PageProblem(slug[:80], query.get("detail", "")[:MAX_VALUE], message, params)


@cache
def titles() -> dict[str, str]:
    """Every domain error's title (marked for translation) by its slug."""
    found: dict[str, str] = {}
    pending: list[type[ExoshareError]] = [ExoshareError]
    while pending:
        kind = pending.pop()
        found.setdefault(kind.slug, kind.title)
        pending.extend(kind.__subclasses__())
    return found


def problem_words(
    problem: PageProblem | ExoshareError,
    gettext: Callable[[str], str],
    locale: str,
    localise: Callable[[str, str], str],
) -> str:
    """The refusal in the reader's language: its message with the values in the reader's
    formats; without a message, its English detail for an English reader and its translated
    title for everyone else (a detail is English, so it is never shown on a translated page),
    or nothing when the slug is not a domain error's (the page's heading says it then)."""
    if isinstance(problem, ExoshareError):
        problem = PageProblem.of(problem)
    if problem.message:
        values = {
            key: gettext(value) if key.endswith(LABEL_SUFFIX) else localise(value, locale)
            for key, value in problem.params.items()
        }
        try:
            return gettext(problem.message) % values
        except (KeyError, TypeError, ValueError):
            pass
    if locale.split("_")[0] == SOURCE_LOCALE and problem.detail:
        return problem.detail
    title = titles().get(problem.slug)
    return gettext(title) if title else ""
