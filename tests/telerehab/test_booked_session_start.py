"""From the booking to the session: a booked session that is due is started in one step by its
therapist (the booking's patient, unit and clinic, every safety rule), and the booking and the
session link to each other; the day's page, the booking's page and the session's page show it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.academy.certificates import issue as certify
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope, utcnow
from exoshare.devices.models import DeviceUnit
from exoshare.devices.schemas import UnitStatus
from exoshare.scheduling.bookings import insert_sessions
from exoshare.scheduling.clinics import zone_of
from exoshare.scheduling.models import BookedSession
from exoshare.telerehab.models import TherapySession
from exoshare.telerehab.schemas import TherapyStatus
from tests.scheduling.desk_world import add_admin_barcelona
from tests.scheduling.test_service import madrid_world
from tests.world import World, form_csrf, sign_in, token

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    """Madrid with two bookings of Carlos on SX2-0001 with the Madrid therapist: one began five
    minutes ago (due), one is tomorrow at the same time (not due)."""
    world = madrid_world(session_factory)
    add_admin_barcelona(world, session_factory)
    now = utcnow().replace(second=0, microsecond=0)
    with session_scope(session_factory) as s:
        # A certificate valid whenever the test runs (madrid_world's ends on 1 Jan 2027).
        certify(
            s, SYSTEM_SEEDING, world.ids["therapist_madrid"], world.ids["model"],
            now.date() - timedelta(days=30), now.date() + timedelta(days=365),
        )  # fmt: skip
        for key, start in (("due", now - timedelta(minutes=5)), ("later", now + timedelta(1))):
            row = BookedSession(
                patient_id=world.ids["patient_carlos"],
                unit_id=world.ids["unit_madrid"],
                therapist_id=world.ids["therapist_madrid"],
                clinic_id=world.ids["madrid"],
                starts_at=start,
                ends_at=start + timedelta(minutes=45),
            )
            insert_sessions(s, [row])
            world.ids[f"booking_{key}"] = row.id
    return world


def _start(client: TestClient, world: World, who: str, booking_id: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/telerehab/booked-sessions/{booking_id}/start",
        headers=token(client, world, who),
    )


def _slug(response) -> str:  # type: ignore[no-untyped-def]
    return str(response.json()["type"]).rsplit("/", 1)[-1]


def test_the_therapist_starts_a_due_booking_from_their_day_and_the_pages_link_both_ways(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    due = world.ids["booking_due"]
    with session_factory() as s:
        booking = s.get_one(BookedSession, due)
        day = booking.starts_at.astimezone(zone_of(booking.clinic)).date()
    sign_in(client, world.emails["therapist_madrid"])
    page = client.get(f"/therapist/day?day={day.isoformat()}")
    assert f'action="/telerehab/bookings/{due}/start"' in page.text
    # Tomorrow's booking is not due: no start button for it on its day.
    tomorrow = client.get(f"/therapist/day?day={(day + timedelta(1)).isoformat()}")
    assert "/start" not in tomorrow.text and "Start or follow" in tomorrow.text

    started = client.post(
        f"/telerehab/bookings/{due}/start",
        data={"csrf_token": form_csrf(page.text)},
        follow_redirects=False,
    )
    assert started.status_code == 303
    session_id = started.headers["location"].rsplit("/", 1)[-1]
    with session_factory() as s:
        record = s.get_one(TherapySession, session_id)
        assert (
            record.status,
            record.patient_id,
            record.device_unit_id,
            record.therapist_id,
            record.clinic_id,
        ) == (
            TherapyStatus.started,
            world.ids["patient_carlos"],
            world.ids["unit_madrid"],
            world.ids["therapist_madrid"],
            world.ids["madrid"],
        )
        assert record.planned_for == s.get_one(BookedSession, due).starts_at
        booking = s.get_one(BookedSession, due)
        assert booking.therapy_session_id == session_id and booking.held_at is not None
        # The booking is the session: starting it put nothing else on the calendar.
        assert len(s.scalars(select(BookedSession)).all()) == 2

    link = f'<a href="/telerehab/sessions/{session_id}">Open the session</a>'
    assert link in client.get(f"/therapist/day?day={day.isoformat()}").text
    assert link in client.get(f"/calendar/bookings/{due}").text
    live = client.get(f"/telerehab/sessions/{session_id}")
    assert f'<a href="/calendar/bookings/{due}">See the booking</a>' in live.text
    # Once started, the same booking cannot be started again.
    again = _start(client, world, "therapist_madrid", due)
    assert (again.status_code, _slug(again)) == (409, "booking-closed")


def test_who_may_start_it_and_when(client: TestClient, world: World) -> None:
    due, later = world.ids["booking_due"], world.ids["booking_later"]
    early = _start(client, world, "therapist_madrid", later)
    assert (early.status_code, _slug(early)) == (409, "booking-not-due")
    assert "it can be started from" in early.json()["detail"]
    # The desk keeps the booking but does not run it: only its therapist starts it.
    assert _start(client, world, "admin_madrid", due).status_code == 403
    # Another clinic's admin and therapist: exactly a booking that does not exist.
    missing = "0" * 32
    for who in ("admin_barcelona", "therapist_barcelona"):
        theirs = _start(client, world, who, due)
        nobody = _start(client, world, who, missing)
        assert theirs.status_code == nobody.status_code == 404
        assert theirs.text.replace(due, "ID") == nobody.text.replace(missing, "ID")
        sign_in(client, world.emails[who])
        assert client.get(f"/calendar/bookings/{due}").status_code == 404
        client.cookies.clear()


def test_a_unit_out_of_order_is_refused_as_when_planning_and_nothing_changes(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as s:
        s.get_one(DeviceUnit, world.ids["unit_madrid"]).status = UnitStatus.awaiting_repair
    refused = _start(client, world, "therapist_madrid", world.ids["booking_due"])
    assert (refused.status_code, _slug(refused)) == (409, "session-not-eligible")
    assert [e["code"] for e in refused.json()["errors"]] == ["unit-not-functioning"]
    with session_factory() as s:
        assert s.scalars(select(TherapySession)).all() == []
        booking = s.get_one(BookedSession, world.ids["booking_due"])
        assert (booking.therapy_session_id, booking.held_at) == (None, None)


def test_a_booking_planned_through_the_api_then_called_off_can_be_started_again(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    therapist = token(client, world, "therapist_madrid")
    due = world.ids["booking_due"]
    plan = {
        "patient_id": world.ids["patient_carlos"],
        "device_unit_id": world.ids["unit_madrid"],
        "booking_id": due,
    }
    wrong = client.post(
        "/api/v1/telerehab/sessions",
        json={**plan, "patient_id": world.ids["patient_lucia"]},
        headers=therapist,
    )
    assert (wrong.status_code, wrong.json()["field"]) == (422, "booking_id")
    planned = client.post("/api/v1/telerehab/sessions", json=plan, headers=therapist)
    assert planned.status_code == 201, planned.text
    first = planned.json()["id"]
    again = _start(client, world, "therapist_madrid", due)
    assert (again.status_code, _slug(again)) == (409, "booking-closed")
    off = client.post(
        f"/api/v1/telerehab/sessions/{first}/abort",
        json={"reason": "patient felt unwell"},
        headers=therapist,
    )
    assert off.status_code == 200, off.text
    started = _start(client, world, "therapist_madrid", due)
    assert started.status_code == 201, started.text
    with session_factory() as s:
        booking = s.get_one(BookedSession, due)
        assert booking.therapy_session_id == started.json()["id"] != first
        assert booking.held_at is not None
