"""Pages offer only what the reader may do, and a sign-in that ends ends everywhere at once.

The live page's controls, the progress page's start list, an htmx request with an expired
sign-in, and live sockets after signing out (in another tab, or in another server process).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from babel.dates import format_date
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.websockets import WebSocketDisconnect

from exoshare.auth.live_sockets import POLICY_VIOLATION
from exoshare.auth.models import Credential
from exoshare.auth.schemas import CredentialKind
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.devices import service as devices
from exoshare.fleet import leases
from exoshare.runtime import runtime_of
from exoshare.telerehab.models import TherapySession
from tests.telerehab.helpers import certify, plan, ready_world
from tests.world import World, sign_in

API = "/api/v1/telerehab"
OWN_PAGE = {"Origin": "http://testserver"}  # a cookie socket must come from exoshare's pages


def _started(client: TestClient, factory: sessionmaker[Session]) -> tuple[World, str]:
    """Maria's session of Carlos on SX2-0001, started; she is signed in in the browser."""
    world = ready_world(factory)
    sign_in(client, world.emails["therapist_madrid"])
    csrf = _csrf(client, "/")
    sid = plan(client, {"X-CSRF-Token": csrf}, world)["id"]
    started = client.post(f"{API}/sessions/{sid}/start", headers={"X-CSRF-Token": csrf})
    assert started.status_code == 200, started.text
    return world, sid


def _csrf(client: TestClient, path: str) -> str:
    found = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


def test_a_therapist_without_a_certificate_sees_the_reason_instead_of_the_controls(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world, sid = _started(client, session_factory)
    page = client.get(f"/telerehab/sessions/{sid}").text
    for action in ("pause", "complete", "abort"):
        assert f'data-action="{action}"' in page
    assert 'id="setting-form"' in page and 'id="abort-dialog"' in page
    assert (
        '<textarea name="reason"' in page and "required" in page.split('<textarea name="reason"')[1]
    )

    certify(session_factory, world, "therapist_madrid", expired=True)
    page = client.get(f"/telerehab/sessions/{sid}").text
    assert "data-action=" not in page and 'id="setting-form"' not in page
    assert 'id="abort-dialog"' not in page
    # The day the rule was asked about is today, written as the reader writes dates.
    yesterday = format_date(date.today(), format="medium", locale="en")
    assert (
        "Only a therapist certified for this model may pause, finish or abort this session. "
        f"No valid certificate for the Strider X2 on {yesterday}." in page
    )
    client.get("/lang/es")
    page = client.get(f"/telerehab/sessions/{sid}").text
    assert "Solo un terapeuta certificado para este modelo puede pausar" in page
    hoy = format_date(date.today(), format="medium", locale="es")
    assert f"No hay certificado válido para el Strider X2 el {hoy}." in page


def test_the_start_list_offers_only_units_the_rule_allows_and_says_why_not_the_others(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = ready_world(session_factory)
    today = date.today()
    with session_scope(session_factory) as s:
        spare = devices.create_unit(
            s, SYSTEM_SEEDING, "SX2-0002", world.ids["model"], world.ids["madrid"]
        )
        spare_id = spare.id
        leases.create_lease(
            s, SYSTEM_SEEDING, world.ids["unit_madrid"], world.ids["barcelona"], Decimal("500"),
            today - timedelta(days=3), today + timedelta(days=30), currency="EUR",
        )  # fmt: skip
    sign_in(client, world.emails["therapist_madrid"])
    page = client.get(f"/patients/{world.ids['patient_carlos']}/progress").text
    offered = re.findall(r'<option value="([0-9a-f]{32})">', page)
    assert offered == [spare_id]
    until = format_date(today + timedelta(days=30), format="medium", locale="en")
    assert f"Unit SX2-0001 is leased to ES-BCN-01 until {until}." in page

    # The service refuses the leased unit even when the form is bypassed; nothing is stored.
    refused = client.post(
        "/telerehab/sessions",
        data={
            "csrf_token": _csrf(client, "/"),
            "patient_id": world.ids["patient_carlos"],
            "device_unit_id": world.ids["unit_madrid"],
            "location": "clinic",
        },
        follow_redirects=False,
    )
    assert refused.status_code == 409
    assert "unit SX2-0001 is leased to ES-BCN-01" in refused.text
    with session_scope(session_factory) as s:
        assert s.scalars(select(TherapySession)).all() == []


def test_a_unit_out_on_lease_offers_no_move_but_says_why(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = ready_world(session_factory)
    unit = world.ids["unit_madrid"]
    sign_in(client, world.emails["operator"])
    assert f'action="/fleet/units/{unit}/move"' in client.get(f"/fleet/units/{unit}").text
    today = date.today()
    with session_scope(session_factory) as s:
        leases.create_lease(
            s, SYSTEM_SEEDING, unit, world.ids["barcelona"], Decimal("500"),
            today - timedelta(days=3), today + timedelta(days=30), currency="EUR",
        )  # fmt: skip
    page = client.get(f"/fleet/units/{unit}").text
    assert f'action="/fleet/units/{unit}/move"' not in page
    assert "Out on lease to ES-BCN-01 until" in page


def test_an_expired_sign_in_sends_htmx_to_the_login_page_not_into_the_fragment(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = ready_world(session_factory)
    sign_in(client, world.emails["therapist_madrid"])
    assert client.get("/patients/search?q=Car", headers={"HX-Request": "true"}).status_code == 200
    with session_scope(session_factory) as s:
        for credential in s.scalars(select(Credential)):
            credential.expires_at = datetime.now(UTC) - timedelta(minutes=1)

    fragment = client.get(
        "/patients/search?q=Car",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/?q=Car"},
        follow_redirects=False,
    )
    assert fragment.status_code == 401
    assert fragment.headers["HX-Redirect"] == "/login?next=/%3Fq%3DCar"
    assert fragment.text == ""  # nothing that htmx could swap into the table
    # A whole page still gets an ordinary redirect.
    whole = client.get("/patients/search?q=Car", follow_redirects=False)
    assert (whole.status_code, whole.headers["location"]) == (
        303,
        "/login?next=/patients/search",
    )


def _until_closed(socket: object, frames: int = 400) -> tuple[int, list[str]]:
    """Read frames until the server closes the socket: its close code, and what came before."""
    seen: list[str] = []
    for _ in range(frames):
        try:
            seen.append(socket.receive_text())  # type: ignore[attr-defined]
        except WebSocketDisconnect as closed:
            return closed.code, seen
    raise AssertionError("the live feed stayed open")


def test_signing_out_in_another_tab_closes_the_live_feed(
    client: TestClient, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    import exoshare.auth.live_sockets as live_sockets

    # The periodic re-check would close the feed too, but only after CHECK_S: the sign-out
    # itself must close it long before.
    monkeypatch.setattr(live_sockets, "CHECK_S", 30.0)
    _world, sid = _started(client, session_factory)
    with client.websocket_connect(f"{API}/sessions/{sid}/live", headers=OWN_PAGE) as socket:
        assert socket.receive_json()["status"] == "started"  # the snapshot
        signed_out = client.post(
            "/logout", data={"csrf_token": _csrf(client, "/")}, follow_redirects=False
        )
        assert signed_out.status_code == 303
        asked = time.monotonic()
        assert _until_closed(socket) == (POLICY_VIOLATION, [])
        assert time.monotonic() - asked < 10.0
    assert runtime_of(client.app).live_sockets.open_count("any") == 0
    with session_scope(session_factory) as s:
        browser = s.scalars(
            select(Credential).where(Credential.kind == CredentialKind.browser_session)
        ).all()
        assert [c.revoked_at is not None for c in browser] == [True]


def test_a_live_feed_notices_a_sign_in_revoked_elsewhere(
    client: TestClient, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    import exoshare.auth.live_sockets as live_sockets
    import exoshare.telerehab.api as telerehab_api

    # Pings keep frames coming while the check (every CHECK_S, all sockets at once) runs.
    monkeypatch.setattr(telerehab_api, "PING_S", 0.05)
    monkeypatch.setattr(live_sockets, "CHECK_S", 0.05)
    _world, sid = _started(client, session_factory)
    with client.websocket_connect(f"{API}/sessions/{sid}/live", headers=OWN_PAGE) as socket:
        assert socket.receive_json()["status"] == "started"
        # Revoked by another server process: no sign-out call reaches this one.
        with session_scope(session_factory) as s:
            for credential in s.scalars(select(Credential)):
                credential.revoked_at = datetime.now(UTC)
        assert _until_closed(socket)[0] == POLICY_VIOLATION
