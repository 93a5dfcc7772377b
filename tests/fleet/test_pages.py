"""Fleet, invoice, approvals, waitlist, calendar and utilisation pages, per role."""

from __future__ import annotations

from datetime import date, time

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.fleet import invoices
from exoshare.scheduling.hours import set_opening_hours
from exoshare.scheduling.schemas import Priority
from exoshare.scheduling.waitlist import add_to_waitlist
from tests.world import PASSWORD, World, token


def _login(client: TestClient, world: World, key: str) -> None:
    page = client.get("/login")
    login_csrf = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"email": world.emails[key], "password": PASSWORD, "login_csrf": login_csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_fleet_and_invoice_pages(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    client.post(
        "/api/v1/leases",
        json={
            "unit_id": world.ids["unit_barcelona"],
            "clinic_id": world.ids["madrid"],
            "monthly_fee": "500.00",
            "starts_on": "2020-10-01",
            "ends_on": "2099-09-30",
        },
        headers=token(client, world, "operator"),
    )
    with session_scope(session_factory) as s:
        madrid = invoices.draft_invoice(s, SYSTEM_SEEDING, world.ids["madrid"], date(2026, 11, 1))
        barcelona = invoices.draft_invoice(
            s, SYSTEM_SEEDING, world.ids["barcelona"], date(2026, 11, 1)
        )
        madrid_id, barcelona_id = madrid.id, barcelona.id
    _login(client, world, "admin_madrid")
    fleet = client.get("/fleet")
    assert fleet.status_code == 200
    assert "LT1-0001" in fleet.text and "SX2-0001" in fleet.text  # owned, and leased in
    invoice = client.get(f"/invoices/{madrid_id}")
    assert invoice.status_code == 200
    assert "€500.00" in invoice.text
    assert "@media print" in invoice.text
    assert client.get(f"/invoices/{barcelona_id}").status_code == 404
    spanish = client.get(f"/invoices/{madrid_id}?lang=es")
    assert "500,00\xa0€" in spanish.text
    assert "Factura" in spanish.text
    custody = client.get(f"/fleet/units/{world.ids['unit_barcelona']}")
    assert custody.status_code == 200
    assert "Madrid Clinic" in custody.text


def test_waitlist_calendar_utilisation_and_approvals_pages(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as s:
        set_opening_hours(
            s, SYSTEM_SEEDING, world.ids["madrid"], {d: (time(9), time(11)) for d in range(5)}
        )
        add_to_waitlist(
            s,
            SYSTEM_SEEDING,
            world.ids["patient_lucia"],
            date(2026, 2, 1),
            Priority.urgent,
            "recent stroke, walking window",
            3,
            12,
            40.4,
            -3.7,
        )
    _login(client, world, "admin_madrid")
    waitlist = client.get("/waitlist")
    assert waitlist.status_code == 200
    assert "Lucia Test" in waitlist.text and "recent stroke, walking window" in waitlist.text
    assert client.get(f"/waitlist?clinic_id={world.ids['barcelona']}").status_code == 404
    assert client.get("/calendar?start=2026-03-02").status_code == 200
    assert client.get("/utilisation").status_code == 200
    approvals = client.get(f"/device-models/{world.ids['model']}/approvals?country=ES")
    assert approvals.status_code == 200
    assert "not approved by CE" in approvals.text


def test_operator_moves_a_unit_from_the_page_and_the_history_shows_it(
    client: TestClient, world: World
) -> None:
    _login(client, world, "operator")
    page = client.get(f"/fleet/units/{world.ids['unit_madrid']}").text
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert "Move this unit" in page
    moved = client.post(
        f"/fleet/units/{world.ids['unit_madrid']}/move",
        data={
            "csrf_token": csrf,
            "to_org_unit_id": world.ids["nairobi"],
            "reason": "idle in Madrid, 16 patients waiting in Nairobi",
        },
        follow_redirects=False,
    )
    assert moved.status_code == 303
    history = client.get(f"/fleet/units/{world.ids['unit_madrid']}").text
    assert "idle in Madrid, 16 patients waiting in Nairobi" in history
    assert "Nairobi Clinic" in history
    fleet = client.get("/api/v1/fleet", headers=token(client, world, "operator")).json()
    holder = next(u for u in fleet if u["unit_id"] == world.ids["unit_madrid"])
    assert holder["holder_id"] == world.ids["nairobi"]

    # No reason: refused with the reason shown on the page, nothing moved back or forth.
    refused = client.post(
        f"/fleet/units/{world.ids['unit_madrid']}/move",
        data={"csrf_token": csrf, "to_org_unit_id": world.ids["madrid"], "reason": " "},
    )
    assert "a reason is required for a move" in refused.text


def test_therapist_sees_no_move_form(client: TestClient, world: World) -> None:
    _login(client, world, "therapist_madrid")
    page = client.get(f"/fleet/units/{world.ids['unit_madrid']}")
    assert "Move this unit" not in page.text
