"""Which writing system a language tag is written in, so no reader is handed another script."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from babel.core import get_global, parse_locale


def script_of(tag: str) -> str | None:
    """The ISO 15924 script ``tag`` is written in: its own script subtag, else the one CLDR says
    the language (and region) is most likely written in; None for a tag Babel cannot parse.

    >>> script_of("zh_TW"), script_of("zh"), script_of("zh_Hant"), script_of("pt_BR")
    ('Hant', 'Hans', 'Hant', 'Latn')
    """
    try:
        locale = Locale.parse(tag.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    if locale.script:
        return locale.script
    likely = get_global("likely_subtags")
    for key in (str(locale), locale.language):
        if key in likely:
            # parse_locale, not Locale.parse: the latter drops a script its data has no locale
            # for (pt_Latn_BR parses as pt_BR).
            return parse_locale(likely[key])[2]
    return None


def reads(reader: str, written: str) -> bool:
    """Whether text written in ``written`` (a language tag) serves a reader of ``reader``: the
    same language in the same script (``pt`` serves ``pt_BR``; ``zh`` serves ``zh_CN`` but not
    ``zh_TW``, whose readers use Traditional characters)."""
    if reader.replace("-", "_").split("_")[0] != written.replace("-", "_").split("_")[0]:
        return False
    return script_of(reader) == script_of(written)
