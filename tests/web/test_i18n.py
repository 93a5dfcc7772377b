"""Translation catalogs: complete, compilable, and chosen per user."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from starlette.requests import Request

from exoshare.web import LOCALE_DIR
from exoshare.web.i18n import (
    COMPLETE_CATALOGS,
    available_locales,
    catalog_language,
    choose_locale,
    missing_strings,
    text_direction,
    text_locale,
    translations,
)


@pytest.mark.parametrize("locale", sorted(COMPLETE_CATALOGS))
def test_every_catalog_declared_complete_translates_every_template_string(locale: str) -> None:
    assert missing_strings(locale) == []


# A %-placeholder with its conversion (``%(name)s``, ``%(v).1f``, ``%%``), a ``{name}`` field,
# an HTML tag or an entity: each must survive translation exactly, or the page breaks or lies.
_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[-#0 +]?\d*(?:\.\d+)?[sdifgr]|%%|\{[a-z_]*\}")
_MARKUP = re.compile(r"</?[a-zA-Z][^>]*>|&#?\w+;")


def _kept(text: str) -> tuple[list[str], list[str]]:
    return sorted(_PLACEHOLDER.findall(text)), sorted(_MARKUP.findall(text))


@pytest.mark.parametrize("locale", sorted(COMPLETE_CATALOGS))
def test_every_complete_catalog_keeps_placeholders_and_markup(locale: str) -> None:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    broken = []
    for message in catalog:
        if not message.id:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            # A plural form may drop the count ("one" in words) but never invent a placeholder.
            if not any(_kept(string) == _kept(source) for source in sources):
                broken.append((sources[0], string))
    assert broken == []


def test_the_placeholder_check_sees_a_changed_placeholder_and_a_lost_tag() -> None:
    assert _kept("Welcome, %(name)s") == _kept("Bienvenue, %(name)s")
    assert _kept("%(v).1f %%") != _kept("%(v).0f %")
    assert _kept("Hi {who}") != _kept("Salut {qui}")
    assert _kept("<strong>Stop</strong> now") != _kept("Arrêtez maintenant")
    assert _kept("80 % interval") == _kept("intervalle à 80 %")  # a bare % is text, not a slot


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog)


def test_the_check_names_a_missing_an_empty_and_a_fuzzy_string(tmp_path: Path) -> None:
    template = Catalog()
    for text in ("Sign in", "Sign out", "Partners", "Save"):
        template.add(text)
    _write(tmp_path / "messages.pot", template)
    catalog = Catalog(locale="fr")
    catalog.add("Sign in", "Se connecter")
    catalog.add("Sign out", "")  # present but untranslated
    catalog.add("Partners", "Partenaires", flags=["fuzzy"])  # a guess nobody checked
    _write(tmp_path / "fr" / "LC_MESSAGES" / "messages.po", catalog)
    assert missing_strings("fr", tmp_path) == ["Partners", "Save", "Sign out"]
    catalog = Catalog(locale="fr")
    for source, french in (
        ("Sign in", "Se connecter"),
        ("Sign out", "Se déconnecter"),
        ("Partners", "Partenaires"),
        ("Save", "Enregistrer"),
    ):
        catalog.add(source, french)
    _write(tmp_path / "fr" / "LC_MESSAGES" / "messages.po", catalog)
    assert missing_strings("fr", tmp_path) == []
    assert missing_strings("de", tmp_path) == ["Partners", "Save", "Sign in", "Sign out"]


def test_a_language_without_a_complete_catalog_is_shown_in_english() -> None:
    assert text_locale("es") == "es"
    assert text_locale("es_MX") == "es_MX"  # Spanish words, Mexican numbers
    assert text_locale("ar") == "ar"  # complete, right to left
    assert text_locale("he") == "en"  # no catalog
    assert available_locales() == ["en", *sorted(COMPLETE_CATALOGS - {"en"})]


def test_spanish_catalog_compiles_and_translates() -> None:
    assert "es" in available_locales()
    assert translations("es").gettext("Sign in") == "Iniciar sesión"
    assert translations("it").gettext("Sign in") == "Sign in"  # no catalog: source text


@pytest.mark.parametrize(
    ("locale", "sign_in"),
    [("fr", "Se connecter"), ("de", "Anmelden"), ("pt", "Entrar"), ("nl", "Aanmelden")],
)
def test_french_german_portuguese_and_dutch_are_offered_and_translate(
    locale: str, sign_in: str
) -> None:
    assert locale in available_locales()
    assert translations(locale).gettext("Sign in") == sign_in


def _request(accept_language: str = "", query: bytes = b"") -> Request:
    headers = [(b"accept-language", accept_language.encode())] if accept_language else []
    return Request({"type": "http", "query_string": query, "headers": headers})


def test_portuguese_of_brazil_and_of_portugal_read_the_one_portuguese_catalog() -> None:
    # The catalog is Brazilian Portuguese (Brazil is where the network's Portuguese speakers
    # are); a reader in Portugal gets it too rather than English, with Portugal's numbers.
    for region in ("pt_BR", "pt_PT"):
        assert translations(region).gettext("Sign in") == "Entrar"
        assert text_locale(region) == region
    assert choose_locale(_request("pt-PT,pt;q=0.8"), None) == "pt"
    assert choose_locale(_request("pt-BR"), None) == "pt"
    assert choose_locale(_request(), "pt_BR") == "pt"
    assert choose_locale(_request(query=b"lang=pt_PT"), "de") == "pt_PT"  # explicit choice kept


def test_simplified_chinese_serves_simplified_locales_only() -> None:
    for simplified in ("zh", "zh_CN", "zh_SG", "zh_Hans", "zh_Hans_HK"):
        assert catalog_language(simplified) == "zh", simplified
    for traditional in ("zh_TW", "zh_HK", "zh_MO", "zh_Hant", "zh_Hant_TW"):
        assert catalog_language(traditional) == traditional, traditional
    assert catalog_language("es_MX") == "es"
    assert catalog_language("ja_JP") == "ja"


def test_a_chinese_reader_gets_simplified_chinese_or_english_by_script() -> None:
    for header in ("zh-CN,zh;q=0.9", "zh-SG", "zh-Hans", "zh"):
        assert choose_locale(_request(header), None) == "zh", header
        assert (
            translations(text_locale(choose_locale(_request(header), None))).gettext("Sign in")
            == "登录"
        )
    # Traditional Chinese has no catalog: English, even though the browser also lists "zh".
    for header in ("zh-TW,zh;q=0.9,en;q=0.8", "zh-HK, zh", "zh-Hant"):
        assert choose_locale(_request(header), None) == "en", header
    assert choose_locale(_request("zh-TW,zh;q=0.9,ja;q=0.8"), None) == "ja"
    # A Traditional Chinese profile or explicit choice is shown in English, not Simplified.
    assert choose_locale(_request("zh-CN"), "zh_TW") == "zh"  # profile unusable: the browser
    assert text_locale("zh_TW") == "en"
    assert text_locale("zh_Hant") == "en"
    assert text_locale("zh_SG") == "zh_SG"
    assert translations("zh_TW").gettext("Sign in") == "Sign in"


def test_text_direction() -> None:
    assert text_direction("ar") == "rtl"
    assert text_direction("he") == "rtl"
    assert text_direction("es") == "ltr"


def test_every_value_a_spanish_page_prints_is_written_the_spanish_way() -> None:
    from datetime import date

    from exoshare.web.render import environment, localise_text_value

    page = environment("es").from_string(
        "{{ value }} | {{ _('score %(score)s', score=value) }} | {{ day }} | {{ count }} | "
        "{{ value|machine }}"
    )
    # Floats, dates and a translated sentence's values follow the locale; integers (years,
    # counts) and numbers meant for a machine (SVG, CSS) do not.
    assert page.render(value=1234.5, day=date(2026, 3, 1), count=2026) == (
        "1.234,5 | puntuación 1.234,5 | 1 mar 2026 | 2026 | 1234.5"
    )
    assert environment("en").from_string("{{ v }}").render(v=1234.5) == "1,234.5"
    # Values a service wrote as text into a refusal ("1.75" m, a day) keep their decimals.
    assert localise_text_value("1.75", "es") == "1,75"
    assert localise_text_value("110", "es") == "110"
    assert localise_text_value("2026-03-01", "es") == "1 mar 2026"
    assert localise_text_value("Strider X2", "es") == "Strider X2"


def test_numbers_and_dates_follow_each_asian_locale() -> None:
    from datetime import date

    from exoshare.web.render import environment

    page = "{{ fee|number }} | {{ speed|number(2) }} | {{ day|date }}"
    shown = {
        locale: environment(locale)
        .from_string(page)
        .render(fee=1234567, speed=0.456, day=date(2026, 3, 1))
        for locale in ("hi", "ja", "ko", "zh")
    }
    assert shown == {
        "hi": "12,34,567 | 0.46 | 1 मार्च 2026",  # lakh grouping
        "ja": "1,234,567 | 0.46 | 2026/03/01",
        "ko": "1,234,567 | 0.46 | 2026. 3. 1.",
        "zh": "1,234,567 | 0.46 | 2026年3月1日",
    }
