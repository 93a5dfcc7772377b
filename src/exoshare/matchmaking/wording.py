"""A match's reasons in words, in the reader's language and number format."""

from __future__ import annotations

from collections.abc import Callable

from exoshare.matchmaking.ranking import Reason
from exoshare.web.labels import N_

REASON_TEXT = {
    "distance": N_("%(km)s km away"),
    "language": N_("works in %(languages)s"),
    "no-language": N_("no language in common"),
    "approved": N_("%(count)s of its models approved in %(country)s: %(models)s"),
    "spare-units": N_("%(count)s spare unit(s) of models approved in %(country)s"),
    "certified": N_("%(count)s certified therapist(s) or trainer(s)"),
}


def reason_text(
    reason: Reason,
    gettext: Callable[[str], str],
    number: Callable[[float], str] = lambda value: f"{value:.0f}",
    language_name: Callable[[str], str] = str,
) -> str:
    """The sentence of one reason; counts and distances go through ``number`` (the locale's
    digits and separators), language codes through ``language_name``."""
    values = dict(reason.values)
    for key in ("km", "count"):
        if key in values:
            values[key] = number(float(values[key]))
    if "languages" in values:
        values["languages"] = ", ".join(
            language_name(code) for code in str(values["languages"]).split(", ")
        )
    return gettext(REASON_TEXT[reason.code]) % values
