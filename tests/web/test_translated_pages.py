"""No English leaks into a Spanish page: refusals, change histories, alerts and numbers included.

Every role's main pages are rendered in Spanish with a refused setting change, a safety alert
and a refused form present. A page fails when its visible text holds an interface sentence in
English (a msgid of three words or more whose Spanish differs), the English detail of a refusal
the API gave, or a number written with a decimal point.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from exoshare.db import session_scope
from exoshare.telerehab.alert_log import record_alert
from exoshare.telerehab.alerts import Alert, AlertKind, Severity
from exoshare.web import LOCALE_DIR
from tests.telerehab.helpers import announce, device_secret, plan, ready_world
from tests.world import PASSWORD, World, token

DECIMAL_POINT = re.compile(r"(?<![\w.])\d+\.(\d{1,2}|\d{4,})(?![\w.])")
"""``1.75`` or ``0.5`` in running text. Spanish groups thousands with a point (``12.345``):
exactly three digits after it is a grouping, not a decimal point."""


class _Text(HTMLParser):
    """The text a reader sees: text nodes outside script and style, whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def english_sentences() -> list[str]:
    """Interface strings that read as English sentences and whose translation does not keep
    them."""
    with (LOCALE_DIR / "es" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="es")
    found = []
    for message in catalog:
        if not message.id or isinstance(message.id, tuple) or "%(" in message.id:
            continue
        # A name the translation keeps ("Timed Up and Go (levantarse y andar)") is not a leak.
        if len(message.id.split()) >= 3 and message.string and message.id not in message.string:
            found.append(str(message.id))
    return found


def _sign_in(client: TestClient, world: World, key: str) -> None:
    client.cookies.clear()
    page = client.get("/login")
    login_csrf = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"email": world.emails[key], "password": PASSWORD, "login_csrf": login_csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    client.get("/lang/es")


@pytest.fixture
def scene(client: TestClient, session_factory: sessionmaker[Session]) -> tuple[World, list[str]]:
    """A live session with a refused setting change and a skin-temperature alert; returns the
    world and the English details the API gave for the refusals."""
    world = ready_world(session_factory)
    maria = token(client, world, "therapist_madrid")
    sid = plan(client, maria, world)["id"]
    assert client.post(f"/api/v1/telerehab/sessions/{sid}/start", headers=maria).is_success
    announce(client, device_secret(session_factory, world), world)
    refused = client.post(
        f"/api/v1/telerehab/sessions/{sid}/settings",
        json={"setting": "guidance_force_pct", "value": 99.5},
        headers=maria,
    )
    details = [str(refused.json().get("check_detail") or refused.json().get("detail"))]
    with session_scope(session_factory) as s:
        record_alert(
            s,
            sid,
            Alert(AlertKind.skin_temperature, Severity.warning, 1.0, 41.5, 41.0, "skin hot"),
        )
    world.ids["session"] = sid
    return world, details


def _pages_of(client: TestClient, world: World, key: str, paths: list[str]) -> dict[str, str]:
    _sign_in(client, world, key)
    shown = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (key, path, response.status_code)
        assert '<html lang="es"' in response.text, path
        shown[f"{key} {path}"] = visible_text(response.text)
    return shown


# The words on a page do not depend on the database: one backend is enough.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_role_sees_spanish_words_and_spanish_numbers(
    client: TestClient, scene: tuple[World, list[str]]
) -> None:
    world, details = scene
    carlos, unit = world.ids["patient_carlos"], world.ids["unit_madrid"]
    shown = _pages_of(
        client,
        world,
        "therapist_madrid",
        [
            "/",
            f"/patients/{carlos}",
            "/telerehab",
            f"/telerehab/sessions/{world.ids['session']}",
            f"/patients/{carlos}/progress",
            f"/patients/{carlos}/outcomes",
            f"/patients/{carlos}/careplan",
            f"/devices/{unit}",
            f"/device-models/{world.ids['model']}",
            "/academy",
        ],
    )
    # The operator's move without a reason is refused, and the page says why in Spanish.
    _sign_in(client, world, "operator")
    page = client.get(f"/fleet/units/{unit}").text
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    moved = client.post(
        f"/fleet/units/{unit}/move",
        data={"csrf_token": csrf, "to_org_unit_id": world.ids["nairobi"], "reason": " "},
    )
    assert moved.status_code == 200
    shown["operator move refused"] = visible_text(moved.text)
    # Then the unit goes out on lease: the custody history gets the lease's own reasons.
    lease = client.post(
        "/api/v1/leases",
        json={
            "unit_id": world.ids["unit_madrid"],
            "clinic_id": world.ids["barcelona"],
            "monthly_fee": "500.00",
            "currency": "EUR",
            "starts_on": "2020-01-01",
            "ends_on": "2099-12-31",
        },
        headers=token(client, world, "operator"),
    )
    assert lease.status_code == 201, lease.text
    move = client.post(
        f"/api/v1/device-units/{world.ids['unit_madrid']}/transfers",
        json={"to_org_unit_id": world.ids["nairobi"], "reason": "busier"},
        headers=token(client, world, "operator"),
    )
    assert move.status_code == 409
    details += [move.json()["detail"], f"lease {lease.json()['id']} starts"]
    shown |= _pages_of(
        client, world, "operator", ["/", "/fleet", f"/fleet/units/{unit}", "/invoices", "/partners"]
    )
    shown |= _pages_of(
        client, world, "admin_madrid", ["/", "/waitlist", "/calendar", "/utilisation"]
    )
    shown |= _pages_of(
        client,
        world,
        "carlos",
        ["/", "/my/progress", "/my/outcomes", "/my/exercises", "/my/consents"],
    )
    shown |= _pages_of(client, world, "researcher", ["/", "/research"])
    shown |= _pages_of(client, world, "manufacturer", ["/"])

    live = shown[f"therapist_madrid /telerehab/sessions/{world.ids['session']}"]
    assert "Temperatura de la piel: 41,5 °C (límite 41,0 °C)" in live
    assert "fuera de los límites de seguridad del modelo" in live
    english = english_sentences() + details
    leaks = {
        page: sorted({s for s in english if s in text} | set(DECIMAL_POINT.findall(text)))
        for page, text in shown.items()
    }
    assert {page: found for page, found in leaks.items() if found} == {}
    assert "se requiere un motivo para el traslado" in shown["operator move refused"]
    assert "comienza el arrendamiento" in shown[f"operator /fleet/units/{unit}"]


def test_the_check_finds_english_and_decimal_points() -> None:
    # The detector itself: it must flag what it exists to flag, and not Spanish grouping.
    text = visible_text(
        "<p>Peso 78,5 kg · 12.345 pasos</p><script>var x = 1.5</script><p>talla 1.75 m</p>"
    )
    assert DECIMAL_POINT.findall(text) == ["75"]
    assert "Back to the home page" in english_sentences()
