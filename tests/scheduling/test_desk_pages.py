"""The desk's pages in the reader's language: a refused booking names each broken rule beside its
field, a cancel needs a reason; a therapist's day shows their sessions in the clinic's time."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.scheduling.models import BookedSession
from exoshare.scheduling.schemas import BookingStatus
from tests.scheduling.test_service import madrid_world
from tests.world import World, form_csrf, sign_in

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return madrid_world(session_factory)


def test_a_refused_booking_and_a_blank_cancel_speak_spanish(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    sign_in(client, world.emails["admin_madrid"])
    client.get("/lang/es", follow_redirects=False)
    form = client.get(
        f"/calendar/book?clinic_id={world.ids['madrid']}&patient_id={world.ids['patient_carlos']}"
    )
    assert form.status_code == 200
    body = {
        "csrf_token": form_csrf(form.text),
        "clinic_id": world.ids["madrid"],
        "patient_id": world.ids["patient_carlos"],
        "unit_id": world.ids["unit_madrid"],
        "therapist_id": world.ids["therapist_madrid"],
        "at": "09:00",
    }
    refused = client.post("/calendar/book", data={**body, "day": "2026-03-07"})
    assert refused.status_code == 409
    assert (
        '<span class="field-error" role="alert" data-field="starts_at" data-code="clinic-closed">'
        "ES-MAD-01 no abre de 09:00 a 09:45 el 7 mar 2026.</span>"
    ) in refused.text
    assert 'data-code="therapist-not-working">El terapeuta no trabaja de 09:00 a 09:45' in (
        refused.text
    )
    assert 'value="2026-03-07"' in refused.text  # the form keeps what was typed
    with session_factory() as s:
        assert s.scalars(select(BookedSession)).all() == []

    # Carlos is already on the waitlist: a second referral is refused beside the patient.
    referral = client.get(f"/waitlist/refer?clinic_id={world.ids['madrid']}")
    again = client.post(
        "/waitlist/refer",
        data={
            "csrf_token": form_csrf(referral.text),
            "clinic_id": world.ids["madrid"],
            "patient_id": world.ids["patient_carlos"],
            "referral_date": "2026-03-01",
            "priority": "high",
            "priority_reason": "falls at home",
            "sessions_per_week": "3",
            "course_sessions": "12",
        },
    )
    assert again.status_code == 409
    assert (
        'data-field="patient_id">Este paciente ya está en la lista de espera.</span>' in again.text
    )
    assert 'value="falls at home"' in again.text

    booked = client.post("/calendar/book", data={**body, "day": "2026-03-02"})
    assert booked.status_code == 200  # followed to the calendar
    assert "La sesión está reservada." in booked.text
    with session_factory() as s:
        (row,) = s.scalars(select(BookedSession)).all()
    change = client.get(f"/calendar/bookings/{row.id}")
    blank = client.post(
        f"/calendar/bookings/{row.id}/cancel",
        data={"csrf_token": form_csrf(change.text), "reason": " "},
    )
    assert blank.status_code == 422
    assert "Diga por qué se cancela la sesión." in blank.text
    with session_factory() as s:
        kept = s.get(BookedSession, row.id)
        assert kept is not None and kept.status is BookingStatus.booked


def test_a_therapists_day_in_the_clinics_time(client: TestClient, world: World) -> None:
    sign_in(client, world.emails["admin_madrid"])
    form = client.get(f"/calendar/book?clinic_id={world.ids['madrid']}")
    client.post(
        "/calendar/book",
        data={
            "csrf_token": form_csrf(form.text),
            "clinic_id": world.ids["madrid"],
            "patient_id": world.ids["patient_lucia"],
            "unit_id": world.ids["unit_madrid"],
            "therapist_id": world.ids["therapist_madrid"],
            "day": "2026-03-02",
            "at": "10:00",
        },
    )
    client.post("/logout", data={"csrf_token": form_csrf(client.get("/").text)})
    sign_in(client, world.emails["therapist_madrid"])
    day = client.get("/therapist/day?day=2026-03-02")
    assert day.status_code == 200
    assert "<strong>10:00–10:45</strong>" in day.text
    assert f'<a href="/patients/{world.ids["patient_lucia"]}">Lucia Test</a>' in day.text
    assert "No sessions booked." in client.get("/therapist/day?day=2026-03-03").text
