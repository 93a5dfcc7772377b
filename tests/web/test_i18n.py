"""Translation catalogs: complete, compilable, and chosen per user."""

from __future__ import annotations

from babel.messages.pofile import read_po

from exoshare.web import LOCALE_DIR
from exoshare.web.i18n import available_locales, text_direction, translations


def test_every_shipped_catalog_translates_every_template_string() -> None:
    with (LOCALE_DIR / "messages.pot").open("rb") as handle:
        template_ids = {m.id for m in read_po(handle) if m.id}
    for locale in available_locales()[1:]:
        with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        untranslated = [m.id for m in catalog if m.id and not m.string]
        assert not untranslated, f"{locale}: untranslated {untranslated}"
        assert template_ids <= {m.id for m in catalog if m.id}, f"{locale} misses new strings"


def test_spanish_catalog_compiles_and_translates() -> None:
    assert "es" in available_locales()
    assert translations("es").gettext("Sign in") == "Iniciar sesión"
    assert translations("fr").gettext("Sign in") == "Sign in"  # no catalog: source text


def test_text_direction() -> None:
    assert text_direction("ar") == "rtl"
    assert text_direction("he") == "rtl"
    assert text_direction("es") == "ltr"
