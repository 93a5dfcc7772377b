"""Cancelling and rescheduling at the desk, on the hand-checkable Madrid clinic (open 09–11 on
weekdays, one unit, one therapist; Carlos and Lucia each referred for 2 a week, 2 sessions)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.models import AuditEvent
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.scheduling import bookings
from exoshare.scheduling.appointments import patient_appointments, upcoming_for_patient
from exoshare.scheduling.models import BookedSession, WaitlistEntry
from exoshare.scheduling.runs import run_schedule
from exoshare.scheduling.schemas import BookingStatus, WaitlistStatus
from tests.scheduling.test_service import MADRID, MONDAY, madrid_world
from tests.world import World, token

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""For rules that do not depend on the database; the slot's unique index and the savepoint of a
refused move are tried on both."""


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return madrid_world(session_factory)


def _book(client: TestClient, world: World, headers: dict[str, str], patient: str, at: str) -> str:
    booked = client.post(
        "/api/v1/booked-sessions",
        json={
            "patient_id": world.ids[patient],
            "unit_id": world.ids["unit_madrid"],
            "therapist_id": world.ids["therapist_madrid"],
            "starts_at": at,
        },
        headers=headers,
    )
    assert booked.status_code == 201, booked.text
    return str(booked.json()["id"])


def _rows(session_factory: sessionmaker[Session]) -> list[tuple[str, str, BookingStatus]]:
    with session_factory() as s:
        return [
            (b.patient_id, f"{b.starts_at.astimezone(MADRID):%a %H:%M}", b.status)
            for b in s.scalars(select(BookedSession).order_by(BookedSession.created_at))
        ]


def test_cancel_keeps_the_row_frees_the_slot_and_the_next_run_reuses_it(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    carlos = world.ids["patient_carlos"]
    first = _book(client, world, admin, "patient_carlos", "2026-03-02T09:00:00+01:00")
    second = _book(client, world, admin, "patient_carlos", "2026-03-03T09:00:00+01:00")
    # His course of 2 is full: a third is refused on the course rule.
    third = client.post(
        "/api/v1/booked-sessions",
        json={
            "patient_id": carlos,
            "unit_id": world.ids["unit_madrid"],
            "therapist_id": world.ids["therapist_madrid"],
            "starts_at": "2026-03-04T09:00:00+01:00",
        },
        headers=admin,
    )
    assert third.status_code == 409
    assert {
        "field": "patient_id",
        "reason": "the course of 2 sessions is fully booked (2 sessions)",
    } in [{"field": e["field"], "reason": e["reason"]} for e in third.json()["errors"]]

    cancelled = client.post(
        f"/api/v1/booked-sessions/{first}/cancel", json={"reason": "flu"}, headers=admin
    )
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["cancel_reason"]) == ("cancelled", "flu")
    with session_factory() as s:
        row = s.get(BookedSession, first)
        assert row is not None and row.cancelled_by_id == world.ids["admin_madrid"]
        event = s.scalar(select(AuditEvent).where(AuditEvent.entity_id == first))
        assert event is not None
        assert (event.action, event.patient_id, event.detail) == (
            "cancel",
            carlos,
            {"reason": "flu", "starts_at": "2026-03-02T08:00:00+00:00"},
        )
        entry = s.get(WaitlistEntry, world.ids["entry_patient_carlos"])
        assert entry is not None and entry.first_session_at == datetime(2026, 3, 3, 8, tzinfo=UTC)
    # Cancelled again: refused, nothing changes.
    again = client.post(
        f"/api/v1/booked-sessions/{first}/cancel", json={"reason": "twice"}, headers=admin
    )
    assert (again.status_code, again.json()["type"].rsplit("/", 1)[-1]) == (409, "booking-closed")

    # The freed Monday slot: Lucia may take it by hand, and Carlos's course has room for one.
    _book(client, world, admin, "patient_lucia", "2026-03-02T09:00:00+01:00")
    calendar = client.get(
        f"/api/v1/clinics/{world.ids['madrid']}/calendar?start=2026-03-02", headers=admin
    ).json()
    assert [(b["patient_id"], b["starts_at"][:16]) for b in calendar] == [
        (world.ids["patient_lucia"], "2026-03-02T08:00"),
        (carlos, "2026-03-03T08:00"),
    ]
    assert second in {b["id"] for b in calendar}

    with session_scope(session_factory) as s:
        run = run_schedule(s, SYSTEM_SEEDING, MONDAY, weeks=1, time_limit_s=10)
        # Lucia's second and Carlos's second; the cancelled booking counts for nobody.
        assert run.sessions_booked == 2
    active = [r for r in _rows(session_factory) if r[2] is BookingStatus.booked]
    assert sorted(r[0] == carlos for r in active) == [False, False, True, True]
    assert (carlos, "Mon 09:00", BookingStatus.cancelled) in _rows(session_factory)


@SQLITE_ONLY
def test_a_run_after_a_cancel_books_the_freed_slot(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as s:
        run_schedule(s, SYSTEM_SEEDING, MONDAY, weeks=1, time_limit_s=10)
    with session_factory() as s:
        booked = s.scalars(select(BookedSession).order_by(BookedSession.starts_at)).all()
        monday_9 = next(b for b in booked if b.starts_at == datetime(2026, 3, 2, 8, tzinfo=UTC))
        taken_by = monday_9.patient_id
    admin = token(client, world, "admin_madrid")
    assert (
        client.post(
            f"/api/v1/booked-sessions/{monday_9.id}/cancel",
            json={"reason": "unit check"},
            headers=admin,
        ).status_code
        == 200
    )
    with session_scope(session_factory) as s:
        run = run_schedule(s, SYSTEM_SEEDING, MONDAY, weeks=1, time_limit_s=10)
        # One session is missing from that patient's course; the run books exactly it.
        assert run.sessions_booked == 1
    with session_factory() as s:
        new = s.scalars(
            select(BookedSession).where(
                BookedSession.status == BookingStatus.booked,
                BookedSession.patient_id == taken_by,
            )
        ).all()
        assert len(new) == 2


def test_a_refused_reschedule_keeps_the_original_and_a_good_one_moves_it(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    carlos = world.ids["patient_carlos"]
    original = _book(client, world, admin, "patient_carlos", "2026-03-02T09:00:00+01:00")
    url = f"/api/v1/booked-sessions/{original}/reschedule"

    saturday = client.post(url, json={"starts_at": "2026-03-07T09:00:00+01:00"}, headers=admin)
    assert saturday.status_code == 409
    assert saturday.json()["errors"] == [
        {
            "field": "starts_at",
            "reason": "ES-MAD-01 is not open 09:00–09:45 on Sat 2026-03-07 (Europe/Madrid); "
            "hours: Mon 09:00–11:00, Tue 09:00–11:00, Wed 09:00–11:00, Thu 09:00–11:00, "
            "Fri 09:00–11:00",
        },
        {
            "field": "therapist_id",
            "reason": "the therapist does not work 09:00–09:45 on Sat 2026-03-07 "
            "(Europe/Madrid); hours: Mon 09:00–11:00, Tue 09:00–11:00, Wed 09:00–11:00, "
            "Thu 09:00–11:00, Fri 09:00–11:00",
        },
    ]
    assert _rows(session_factory) == [(carlos, "Mon 09:00", BookingStatus.booked)]

    # Later the same day: the original steps aside, so one-a-day does not refuse it.
    moved = client.post(
        url, json={"starts_at": "2026-03-02T10:00:00+01:00", "reason": "asked"}, headers=admin
    )
    assert moved.status_code == 201, moved.text
    assert moved.json()["starts_at"][:16] == "2026-03-02T09:00"
    with session_factory() as s:
        old = s.get(BookedSession, original)
        assert old is not None
        assert (old.status, old.rescheduled_to_id, old.cancel_reason) == (
            BookingStatus.rescheduled,
            moved.json()["id"],
            "asked",
        )
    assert _rows(session_factory) == [
        (carlos, "Mon 09:00", BookingStatus.rescheduled),
        (carlos, "Mon 10:00", BookingStatus.booked),
    ]
    # The old booking is closed: moving it again is refused.
    assert (
        client.post(url, json={"starts_at": "2026-03-03T10:00:00+01:00"}, headers=admin).status_code
        == 409
    )


@SQLITE_ONLY
def test_a_held_session_is_neither_cancelled_nor_moved(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    booking = _book(client, world, admin, "patient_carlos", "2026-03-02T09:00:00+01:00")
    with session_scope(session_factory) as s:
        # Tele-rehabilitation starts the session five minutes late: that booking is this session.
        started = datetime(2026, 3, 2, 9, 5, tzinfo=MADRID)
        assert (
            bookings.record_session_held(
                s,
                world.ids["patient_carlos"],
                world.ids["unit_madrid"],
                world.ids["therapist_madrid"],
                started,
                held=True,
            )
            is None
        )
    cancel = client.post(
        f"/api/v1/booked-sessions/{booking}/cancel", json={"reason": "no"}, headers=admin
    )
    assert cancel.status_code == 409
    assert cancel.json()["detail"] == (
        "the session was held (started 2026-03-02 09:05); a held session is part of the "
        "patient's record and cannot be cancelled or moved"
    )
    move = client.post(
        f"/api/v1/booked-sessions/{booking}/reschedule",
        json={"starts_at": "2026-03-03T09:00:00+01:00"},
        headers=admin,
    )
    assert move.status_code == 409
    assert _rows(session_factory) == [
        (world.ids["patient_carlos"], "Mon 09:00", BookingStatus.booked)
    ]


@SQLITE_ONLY
def test_a_foreign_booking_answers_like_a_missing_one(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as s:
        start = datetime(2026, 3, 2, 9, tzinfo=MADRID)
        foreign = BookedSession(
            patient_id=world.ids["patient_jordi"],
            unit_id=world.ids["unit_barcelona"],
            therapist_id=world.ids["therapist_barcelona"],
            clinic_id=world.ids["barcelona"],
            starts_at=start,
            ends_at=start + timedelta(minutes=45),
        )
        bookings.insert_sessions(s, [foreign])
        foreign_id = foreign.id
    admin = token(client, world, "admin_madrid")
    missing_id = "0" * 32
    for action, body in (
        ("cancel", {"reason": "x"}),
        ("reschedule", {"starts_at": "2026-03-03T09:00:00+01:00"}),
    ):
        theirs = client.post(
            f"/api/v1/booked-sessions/{foreign_id}/{action}", json=body, headers=admin
        )
        nobody = client.post(
            f"/api/v1/booked-sessions/{missing_id}/{action}", json=body, headers=admin
        )
        assert theirs.status_code == nobody.status_code == 404
        assert theirs.text.replace(foreign_id, "ID") == nobody.text.replace(missing_id, "ID")
    with session_factory() as s:
        row = s.get(BookedSession, foreign_id)
        assert row is not None and row.status is BookingStatus.booked
    # A therapist of the clinic sees its calendar but does not keep it.
    own = _book(client, world, admin, "patient_carlos", "2026-03-02T09:00:00+01:00")
    therapist = token(client, world, "therapist_madrid")
    refused = client.post(
        f"/api/v1/booked-sessions/{own}/cancel", json={"reason": "x"}, headers=therapist
    )
    assert refused.status_code == 403


@SQLITE_ONLY
def test_a_blank_reason_is_refused_and_changes_nothing(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    booking = _book(client, world, admin, "patient_carlos", "2026-03-02T09:00:00+01:00")
    blank = client.post(
        f"/api/v1/booked-sessions/{booking}/cancel", json={"reason": "   "}, headers=admin
    )
    assert blank.status_code == 422
    assert blank.json()["detail"] == "say why the session is cancelled"
    naive = client.post(
        f"/api/v1/booked-sessions/{booking}/reschedule",
        json={"starts_at": "2026-03-03T09:00:00"},
        headers=admin,
    )
    assert naive.status_code == 422
    assert _rows(session_factory) == [
        (world.ids["patient_carlos"], "Mon 09:00", BookingStatus.booked)
    ]


@SQLITE_ONLY
def test_a_patients_appointments_in_the_clinics_local_time(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    monday = _book(client, world, admin, "patient_carlos", "2026-03-02T10:00:00+01:00")
    tuesday = _book(client, world, admin, "patient_carlos", "2026-03-03T09:00:00+01:00")
    client.post(f"/api/v1/booked-sessions/{monday}/cancel", json={"reason": "flu"}, headers=admin)
    since = datetime.combine(MONDAY, time(), tzinfo=UTC)
    until = since + timedelta(days=7)
    with session_factory() as s:
        ahead = upcoming_for_patient(s, world.ids["patient_carlos"], since, until)
        assert [(a.booking_id, a.starts_local.isoformat()) for a in ahead] == [
            (tuesday, "2026-03-03T09:00:00+01:00")
        ]
        assert (ahead[0].clinic.code, ahead[0].therapist_first_name) == ("ES-MAD-01", "Therapist")
        shown = patient_appointments(s, world.ids["patient_carlos"], since, until)
        assert [(a.starts_local.date(), a.status) for a in shown] == [
            (date(2026, 3, 2), BookingStatus.cancelled),
            (date(2026, 3, 3), BookingStatus.booked),
        ]
        entry = s.get(WaitlistEntry, world.ids["entry_patient_carlos"])
        assert entry is not None and entry.status is WaitlistStatus.scheduled
