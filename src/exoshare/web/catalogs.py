"""The shipped catalogs as a translator sees them: what each lacks, and edits written into them.

A translator's work is written into the catalog's .po file, not kept in the database: the
catalogs under web/locale are the product's translations, exoshare runs from a checkout, and a
translation belongs in version control, where it is reviewed and reaches every installation
(a database overlay would stay on the one server it was typed on). The running process reads
the edited file at once (its compiled catalog and page environments are cleared); another
worker process reads it when it next starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from exoshare.errors import N_, TranslationRejected
from exoshare.web import LOCALE_DIR, TEMPLATES_DIR
from exoshare.web.i18n import COMPLETE_CATALOGS, missing_strings, shipped_catalogs, translations
from exoshare.web.render import environment

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
PO_WIDTH = 100
"""Line width the catalogs are written with (as by ``pybabel update -w 100``)."""


@dataclass
class Outdated:
    source: str
    translation: str
    """The translation made for an earlier source text (fuzzy) or for a source since removed."""
    removed: bool


@dataclass
class CatalogStatus:
    locale: str
    total: int
    complete: bool
    """Declared complete (offered to readers): see ``i18n.COMPLETE_CATALOGS``."""
    untranslated: list[str] = field(default_factory=list)
    outdated: list[Outdated] = field(default_factory=list)

    @property
    def translated(self) -> int:
        return self.total - len(self.untranslated)


def _po_path(locale: str, locale_dir: Path) -> Path:
    return locale_dir / locale / "LC_MESSAGES" / "messages.po"


def _read(path: Path, locale: str) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def catalog_status(locale: str, locale_dir: Path | None = None) -> CatalogStatus:
    """How far the catalog of ``locale`` is: its untranslated and outdated strings."""
    locale_dir = locale_dir or LOCALE_DIR
    if locale not in shipped_catalogs(locale_dir):
        raise KeyError(locale)
    catalog = _read(_po_path(locale, locale_dir), locale)
    with (locale_dir / "messages.pot").open("rb") as handle:
        total = sum(1 for m in read_po(handle) if m.id)
    outdated = [
        Outdated(str(m.id), str(m.string), removed=False)
        for m in catalog
        if m.id and m.fuzzy and m.string
    ] + [
        Outdated(str(m.id), str(m.string), removed=True)
        for m in catalog.obsolete.values()
        if m.string
    ]
    return CatalogStatus(
        locale,
        total,
        locale in COMPLETE_CATALOGS,
        missing_strings(locale, locale_dir),
        outdated,
    )


def contexts(source: str, templates_dir: Path = TEMPLATES_DIR) -> list[str]:
    """The templates a string appears in, so the translator sees where it is read."""
    needle = (f"'{source}'", f'"{source}"')
    found = []
    for path in sorted(templates_dir.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        if any(n in text for n in needle):
            found.append(str(path.relative_to(templates_dir)))
    return found


def save_translation(
    locale: str, source: str, translation: str, locale_dir: Path | None = None
) -> None:
    """Write one translation into the catalog (clearing its fuzzy mark) and reload it here."""
    locale_dir = locale_dir or LOCALE_DIR
    if locale not in shipped_catalogs(locale_dir):
        raise KeyError(locale)
    text = translation.strip()
    if not text:
        raise TranslationRejected.worded(N_("translation: write the translation (it is empty)"))
    wanted, given = set(PLACEHOLDER.findall(source)), set(PLACEHOLDER.findall(text))
    if wanted != given:
        keep = ", ".join(f"%({name})s" for name in sorted(wanted)) or "none"
        raise TranslationRejected.worded(
            N_(
                "translation: keep exactly the placeholders of the source (%(keep)s); they are "
                "filled in when the page is shown"
            ),
            keep=keep,
        )
    path = _po_path(locale, locale_dir)
    catalog = _read(path, locale)
    message = catalog.get(source)
    if message is None:
        with (locale_dir / "messages.pot").open("rb") as handle:
            if source not in {m.id for m in read_po(handle)}:
                raise TranslationRejected.worded(N_("source: no such string in the interface"))
        catalog.add(source, text, flags=["python-format"] if wanted else [])
    else:
        message.string = text
        message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, width=PO_WIDTH)
    _reload()


def _reload() -> None:
    """Forget the compiled catalogs and the page environments built from them."""
    translations.cache_clear()
    environment.cache_clear()
