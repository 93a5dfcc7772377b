"""The translator's workflow: a catalog's untranslated and outdated strings, translated in place."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth import service as auth
from exoshare.auth.schemas import Role
from exoshare.db import session_scope
from exoshare.network.models import OrgUnit
from exoshare.web import LOCALE_DIR, catalogs, i18n
from tests.world import PASSWORD, World, build_world, token


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    world = build_world(session_factory)
    with session_scope(session_factory) as s:
        user = auth.create_user(s, "translator@test.exoshare.org", "Translator", PASSWORD)
        auth.add_grant(s, user, Role.translator, s.get(OrgUnit, world.ids["root"]))  # type: ignore[arg-type]
        world.ids["translator"], world.emails["translator"] = user.id, user.email
    return world


@pytest.fixture
def italian(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An Italian catalog (a language exoshare does not ship) begun in a copy of the shipped
    template: two strings done, one of them outdated (its English source changed since), one
    translation whose source is gone."""
    shutil.copy(LOCALE_DIR / "messages.pot", tmp_path / "messages.pot")
    catalog = Catalog(locale="it")
    catalog.add("Sign in", "Accedi")
    catalog.add("Sign out", "Esci", flags=["fuzzy"])
    catalog.obsolete["Log off"] = catalog["Sign in"].__class__("Log off", "Disconnetti")
    path = tmp_path / "it" / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, include_previous=False)
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    monkeypatch.setattr(catalogs, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    yield path
    i18n.translations.cache_clear()


def test_translator_sees_what_is_missing_and_translates_it(
    client: TestClient, world: World, italian: Path
) -> None:
    headers = token(client, world, "translator")
    with (LOCALE_DIR / "messages.pot").open("rb") as handle:
        total = sum(1 for m in read_po(handle) if m.id)
    status = catalogs.catalog_status("it")
    assert (status.total, status.translated, status.complete) == (total, 1, False)
    assert [(o.source, o.removed) for o in status.outdated] == [
        ("Sign out", False),
        ("Log off", True),
    ]
    overview = client.get("/translations", headers=headers)
    assert overview.status_code == 200 and "1 / " in overview.text and "not yet" in overview.text
    page = client.get("/translations/it?q=partner", headers=headers)
    assert "Partners" in page.text and "Esci" in page.text

    saved = client.post(
        "/translations/it",
        data={"source": "Partners", "translation": "Partner"},
        headers=headers,
        follow_redirects=False,
    )
    assert saved.status_code == 303 and "saved=Partners" in saved.headers["location"]
    with italian.open("rb") as handle:
        written = read_po(handle, locale="it")
    assert written["Partners"].string == "Partner"
    assert i18n.translations("it").gettext("Partners") == "Partner"  # reloaded at once
    assert catalogs.catalog_status("it").translated == 2

    # A translation that drops a placeholder would break the page: refused, file unchanged.
    before = italian.read_bytes()
    wrong = client.post(
        "/translations/it",
        data={"source": "Partners for %(partner)s", "translation": "Partner"},
        headers=headers,
        follow_redirects=False,
    )
    shown = client.get(wrong.headers["location"], headers=headers).text
    assert "keep exactly the placeholders of the source (%(partner)s)" in shown
    assert italian.read_bytes() == before

    for key in ("operator", "therapist_madrid"):
        assert client.get("/translations/it", headers=token(client, world, key)).status_code == 404
    assert client.get("/translations/xx", headers=headers).status_code == 404
