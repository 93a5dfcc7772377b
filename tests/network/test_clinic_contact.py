"""A clinic's address and phone: kept by whoever may change the clinic, checked, and read by its
patients on their appointments page and in their reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth import service as auth
from exoshare.auth.schemas import Role
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.config import Settings
from exoshare.db import session_scope, utcnow
from exoshare.network.models import OrgUnit
from exoshare.reminders import preferences
from exoshare.reminders.dispatch import due_reminders
from exoshare.reminders.schemas import PreferenceIn
from exoshare.scheduling.bookings import insert_sessions
from exoshare.scheduling.models import BookedSession
from tests.world import PASSWORD, World, build_world, sign_in, token

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

MADRID_CONTACT = {
    "address_line1": "Calle de Alcalá 402",
    "address_line2": "Planta 2",
    "postcode": "28027",
    "phone": "913 20 45 00",
}


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    world = build_world(session_factory)
    with session_scope(session_factory) as s:
        s.get_one(OrgUnit, world.ids["madrid"]).timezone = "Europe/Madrid"
        admin = auth.create_user(s, "admin_barcelona@test.exoshare.org", "Admin Bcn", PASSWORD)
        auth.add_grant(s, admin, Role.clinic_admin, s.get_one(OrgUnit, world.ids["barcelona"]))
        world.ids["admin_barcelona"] = admin.id
        world.emails["admin_barcelona"] = admin.email
    return world


def _patch(client: TestClient, world: World, who: str, clinic: str, body: dict[str, str | None]):  # type: ignore[no-untyped-def]
    return client.patch(
        f"/api/v1/org-units/{world.ids[clinic]}", json=body, headers=token(client, world, who)
    )


def test_the_operator_keeps_a_clinics_address_and_phone_in_e164(
    client: TestClient, world: World
) -> None:
    saved = _patch(client, world, "operator", "madrid", MADRID_CONTACT)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert (body["address_line1"], body["address_line2"], body["postcode"], body["phone"]) == (
        "Calle de Alcalá 402",
        "Planta 2",
        "28027",
        "+34913204500",  # a national number read in the clinic's country (ES)
    )
    # A foreign number keeps its own country; null clears a line.
    again = _patch(
        client, world, "operator", "madrid", {"phone": "+41 22 372 00 00", "address_line2": None}
    )
    assert (again.json()["phone"], again.json()["address_line2"]) == ("+41223720000", None)

    bad = _patch(client, world, "operator", "madrid", {"phone": "91 32", "postcode": "28001"})
    assert bad.status_code == 422
    assert (bad.json()["type"].rsplit("/", 1)[-1], bad.json()["field"]) == (
        "invalid-phone-number",
        "phone",
    )
    assert "'91 32' is not a valid phone number" in bad.json()["detail"]
    kept = client.get(
        f"/api/v1/org-units/{world.ids['madrid']}", headers=token(client, world, "operator")
    ).json()
    assert (kept["phone"], kept["postcode"]) == ("+41223720000", "28027")  # nothing written

    spain = _patch(client, world, "operator", "spain", {"phone": "913 20 45 00"})
    assert spain.status_code == 422 and spain.json()["field"] == "phone"
    assert "only clinics have an address and phone" in spain.json()["detail"]


def test_who_may_change_the_contact(client: TestClient, world: World) -> None:
    # network:write, as for any change of the clinic: the clinic admin reads but does not edit.
    own = _patch(client, world, "admin_madrid", "madrid", {"phone": "913 20 45 00"})
    assert own.status_code == 403
    # Another clinic's admin does not see Madrid at all: exactly a missing id.
    theirs = _patch(client, world, "admin_barcelona", "madrid", {"phone": "913 20 45 00"})
    missing = client.patch(
        f"/api/v1/org-units/{'0' * 32}",
        json={"phone": "913 20 45 00"},
        headers=token(client, world, "admin_barcelona"),
    )
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text.replace(world.ids["madrid"], "ID") == missing.text.replace("0" * 32, "ID")

    sign_in(client, world.emails["admin_barcelona"])
    assert client.get(f"/clinics/{world.ids['madrid']}/contact").status_code == 404
    assert client.get(f"/clinics/{world.ids['barcelona']}/contact").status_code == 200


def test_the_contact_page_edits_and_refuses_in_words(client: TestClient, world: World) -> None:
    sign_in(client, world.emails["operator"])
    page = client.get(f"/clinics/{world.ids['madrid']}/contact")
    assert page.status_code == 200 and 'name="phone"' in page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    saved = client.post(
        f"/clinics/{world.ids['madrid']}/contact", data={**MADRID_CONTACT, "csrf_token": csrf}
    )
    assert saved.status_code == 200  # followed back to the page
    assert '<a href="tel:+34913204500"><bdi>913 20 45 00</bdi></a>' in saved.text
    assert "Calle de Alcalá 402<br>Planta 2<br>28027 Madrid" in saved.text
    refused = client.post(
        f"/clinics/{world.ids['madrid']}/contact",
        data={**MADRID_CONTACT, "phone": "555", "csrf_token": csrf},
    )
    assert refused.status_code == 200
    assert "is not a valid phone number" in refused.text
    assert "tel:+34913204500" in refused.text  # the old number stays


def test_the_patient_reads_where_to_go_and_whom_to_call(
    client: TestClient, world: World, session_factory: sessionmaker[Session], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    assert _patch(client, world, "operator", "madrid", MADRID_CONTACT).status_code == 200
    starts = (utcnow() + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    with session_scope(session_factory) as s:
        row = BookedSession(
            patient_id=world.ids["patient_carlos"],
            unit_id=world.ids["unit_madrid"],
            therapist_id=world.ids["therapist_madrid"],
            clinic_id=world.ids["madrid"],
            starts_at=starts,
            ends_at=starts + timedelta(minutes=45),
        )
        insert_sessions(s, [row])
        preferences.set_preference(
            s,
            SYSTEM_SEEDING,
            world.ids["patient_carlos"],
            PreferenceIn(channel="sms", language="es", phone="612 34 56 78", lead_hours=24),  # type: ignore[arg-type]
        )
    sign_in(client, world.emails["carlos"])
    page = client.get("/my/appointments")
    assert page.status_code == 200
    assert "<address>Calle de Alcalá 402<br>Planta 2<br>28027 Madrid</address>" in page.text
    assert 'To change it, call <a href="tel:+34913204500"><bdi>913 20 45 00</bdi></a>.' in page.text

    with session_scope(session_factory) as s:
        [due] = due_reminders(
            s, Settings(data_dir=tmp_path), starts.astimezone(UTC) - timedelta(hours=1)
        )
    assert due.text.body.endswith(
        " Dirección: Calle de Alcalá 402, Planta 2, 28027 Madrid."
        " Para cambiarla, llame al 913 20 45 00."
    )
    assert datetime.fromisoformat(due.occasion_at.isoformat()) == starts
