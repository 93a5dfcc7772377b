"""Scheduling data in SQL: the solver run on a hand-checkable clinic, bookings, races."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.academy.certificates import issue as certify
from exoshare.auth.models import User
from exoshare.auth.schemas import Role
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.auth.service import add_grant
from exoshare.db import session_scope
from exoshare.devices.approvals.schemas import ApprovalStatus
from exoshare.devices.approvals.service import record_approval
from exoshare.errors import ExoshareError
from exoshare.fleet import maintenance
from exoshare.fleet.schemas import MaintenanceKind
from exoshare.network.models import OrgUnit
from exoshare.scheduling.bookings import book_session
from exoshare.scheduling.calendar import CALENDAR_MAX_DAYS
from exoshare.scheduling.hours import set_opening_hours
from exoshare.scheduling.models import BookedSession, WaitlistEntry
from exoshare.scheduling.problem_from_db import build_problem
from exoshare.scheduling.runs import run_schedule
from exoshare.scheduling.schemas import Priority, WaitlistStatus
from exoshare.scheduling.waitlist import add_to_waitlist
from tests.world import World, build_world, token

MONDAY = date(2026, 3, 2)
MADRID = ZoneInfo("Europe/Madrid")


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return madrid_world(session_factory)


def madrid_world(session_factory: sessionmaker[Session]) -> World:
    """One clinic open 09–11 on weekdays, one unit, one certified therapist, CE approval; Carlos
    (routine, 5 Jan) and Lucia (urgent, 20 Feb) of Madrid and Amani of Nairobi wait for 2 a week,
    2 sessions."""
    world = build_world(session_factory)
    with session_scope(session_factory) as s:
        for key, lat, lon, zone in (
            ("madrid", 40.4168, -3.7038, "Europe/Madrid"),
            ("barcelona", 41.3874, 2.1686, "Europe/Madrid"),
            ("nairobi", -1.2921, 36.8219, "Africa/Nairobi"),
        ):
            clinic = s.get(OrgUnit, world.ids[key])
            assert clinic is not None
            clinic.latitude, clinic.longitude, clinic.timezone = lat, lon, zone
        set_opening_hours(
            s, SYSTEM_SEEDING, world.ids["madrid"], {d: (time(9), time(11)) for d in range(5)}
        )
        record_approval(
            s,
            SYSTEM_SEEDING,
            world.ids["model"],
            "CE",
            ApprovalStatus.approved,
            date(2020, 1, 1),
            "gait",
        )
        certify(
            s,
            SYSTEM_SEEDING,
            world.ids["therapist_madrid"],
            world.ids["model"],
            date(2025, 1, 1),
            date(2027, 1, 1),
        )
        for key, priority, referred in (
            ("patient_carlos", Priority.routine, date(2026, 1, 5)),
            ("patient_lucia", Priority.urgent, date(2026, 2, 20)),
            ("patient_amani", Priority.routine, date(2026, 1, 1)),
        ):
            entry = add_to_waitlist(
                s, SYSTEM_SEEDING, world.ids[key], referred, priority, "post-acute stroke", 2, 2
            )
            world.ids[f"entry_{key}"] = entry.id
    return world


def test_schedule_books_a_hand_checkable_week(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as s:
        run = run_schedule(s, SYSTEM_SEEDING, MONDAY, weeks=1, time_limit_s=10)
        assert (run.patients_waiting, run.patients_scheduled, run.sessions_booked) == (3, 2, 4)
    with session_factory() as s:
        sessions = s.scalars(select(BookedSession).order_by(BookedSession.starts_at)).all()
        local = [b.starts_at.astimezone(MADRID) for b in sessions]
        assert all(t.weekday() < 5 and t.time() in (time(9), time(10)) for t in local)
        assert {b.unit_id for b in sessions} == {world.ids["unit_madrid"]}
        assert {b.therapist_id for b in sessions} == {world.ids["therapist_madrid"]}
        per_patient = {
            p: sum(b.patient_id == p for b in sessions) for p in {b.patient_id for b in sessions}
        }
        assert per_patient == {world.ids["patient_carlos"]: 2, world.ids["patient_lucia"]: 2}
        amani = s.get(WaitlistEntry, world.ids["entry_patient_amani"])
        assert amani is not None and amani.status is WaitlistStatus.waiting
        assert amani.unscheduled_reasons is not None
        # Nairobi is a clinic within reach but holds no unit.
        assert amani.unscheduled_reasons == ["no device unit at any clinic within 50 km"]
        lucia = s.get(WaitlistEntry, world.ids["entry_patient_lucia"])
        assert lucia is not None and lucia.status is WaitlistStatus.scheduled


def test_a_therapist_with_remote_cover_elsewhere_is_scheduled_at_their_own_clinic(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    # Remote tele-rehabilitation cover of a far clinic is a second, later therapist grant; the
    # solver, which knows one clinic per therapist, keeps the first.
    with session_scope(session_factory) as s:
        therapist = s.get(User, world.ids["therapist_madrid"])
        nairobi = s.get(OrgUnit, world.ids["nairobi"])
        assert therapist is not None and nairobi is not None
        add_grant(s, therapist, Role.therapist, nairobi)
        built = build_problem(s, MONDAY, weeks=1)
    clinic_of = {t.id: t.clinic_id for t in built.problem.therapists}
    assert clinic_of[world.ids["therapist_madrid"]] == world.ids["madrid"]


def test_maintenance_blocks_the_unit(world: World, session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as s:
        maintenance.record_maintenance(
            s,
            SYSTEM_SEEDING,
            world.ids["unit_madrid"],
            MaintenanceKind.calibration,
            datetime(2026, 3, 2, 0, 0, tzinfo=MADRID),
            datetime(2026, 3, 5, 0, 0, tzinfo=MADRID),
        )
        run = run_schedule(s, SYSTEM_SEEDING, MONDAY, weeks=1, time_limit_s=10)
        assert run.sessions_booked == 4
    with session_factory() as s:
        days = {b.starts_at.astimezone(MADRID).date() for b in s.scalars(select(BookedSession))}
        assert days == {date(2026, 3, 5), date(2026, 3, 6)}  # Thursday and Friday only


def test_waitlist_positions_and_reasons_through_the_api(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    rows = client.get(f"/api/v1/clinics/{world.ids['madrid']}/waitlist", headers=admin).json()
    # Urgent first although referred later; then by referral date.
    assert [(r["entry"]["patient_id"], r["position"]) for r in rows] == [
        (world.ids["patient_lucia"], 1),
        (world.ids["patient_carlos"], 2),
    ]
    twice = client.post(
        "/api/v1/waitlist",
        json={
            "patient_id": world.ids["patient_carlos"],
            "referral_date": "2026-02-01",
            "priority_reason": "again",
            "sessions_per_week": 3,
            "course_sessions": 12,
        },
        headers=admin,
    )
    assert twice.status_code == 409
    foreign = client.get(f"/api/v1/clinics/{world.ids['barcelona']}/waitlist", headers=admin)
    assert foreign.status_code == 404
    not_operator = client.post(
        "/api/v1/schedule-runs", json={"start": "2026-03-02", "weeks": 1}, headers=admin
    )
    assert not_operator.status_code == 403
    ran = client.post(
        "/api/v1/schedule-runs",
        json={"start": "2026-03-02", "weeks": 1, "time_limit_s": 10},
        headers=token(client, world, "operator"),
    )
    assert ran.status_code == 201, ran.text
    assert ran.json()["sessions_booked"] == 4
    calendar = client.get(
        f"/api/v1/clinics/{world.ids['madrid']}/calendar?start=2026-03-02", headers=admin
    ).json()
    assert len(calendar) == 4
    rows = client.get(f"/api/v1/clinics/{world.ids['madrid']}/waitlist", headers=admin).json()
    assert [r["position"] for r in rows] == [None, None]
    assert all(r["entry"]["status"] == "scheduled" for r in rows)


def test_booking_a_taken_unit_slot_is_409(client: TestClient, world: World) -> None:
    admin = token(client, world, "admin_madrid")
    body = {
        "patient_id": world.ids["patient_carlos"],
        "unit_id": world.ids["unit_madrid"],
        "therapist_id": world.ids["therapist_madrid"],
        "starts_at": "2026-03-02T09:00:00+01:00",
    }
    assert client.post("/api/v1/booked-sessions", json=body, headers=admin).status_code == 201
    other = {**body, "patient_id": world.ids["patient_lucia"]}
    clash = client.post("/api/v1/booked-sessions", json=other, headers=admin)
    assert clash.status_code == 409
    assert "already booked at 2026-03-02T08:00:00+00:00" in clash.json()["detail"]


def test_concurrent_booking_of_one_unit_slot_exactly_one_wins(
    database_url: str, world: World, session_factory: sessionmaker[Session]
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite serialises all writers; the race needs PostgreSQL's concurrency")
    barrier = threading.Barrier(2)
    results: list[str] = []
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

    def book(patient_key: str) -> None:
        try:
            with session_scope(session_factory) as s:
                barrier.wait()
                book_session(
                    s,
                    SYSTEM_SEEDING,
                    world.ids[patient_key],
                    world.ids["unit_madrid"],
                    world.ids["therapist_madrid"],
                    start,
                )
            results.append("won")
        except ExoshareError as exc:
            results.append(type(exc).__name__)

    threads = [
        threading.Thread(target=book, args=(k,)) for k in ("patient_carlos", "patient_lucia")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["SlotTaken", "won"]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(BookedSession)) == 1


def test_calendar_days_outside_the_range_are_refused_not_clamped(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    body = {
        "patient_id": world.ids["patient_carlos"],
        "unit_id": world.ids["unit_madrid"],
        "therapist_id": world.ids["therapist_madrid"],
        "starts_at": "2026-03-03T09:00:00+01:00",
    }
    assert client.post("/api/v1/booked-sessions", json=body, headers=admin).status_code == 201
    url = f"/api/v1/clinics/{world.ids['madrid']}/calendar?start=2026-03-02&days="
    assert client.get(url + "1", headers=admin).json() == []
    for days in ("2", str(CALENDAR_MAX_DAYS)):
        shown = client.get(url + days, headers=admin)
        assert shown.status_code == 200, shown.text
        assert [b["starts_at"][:16] for b in shown.json()] == ["2026-03-03T08:00"]
    for days in ("0", "-1", "63", "90", "99999999999999999999999"):
        refused = client.get(url + days, headers=admin)
        assert refused.status_code == 422, (days, refused.text)
        problem = refused.json()
        assert problem["field"] == "days"
        assert problem["detail"] == (
            f"days: {days} is outside 1–62; ask for 1 to 62 days and page on with start"
        )
    # The same refusal for a clinic out of the caller's reach: the range is checked first.
    foreign = client.get(
        f"/api/v1/clinics/{world.ids['nairobi']}/calendar?start=2026-03-02&days=63", headers=admin
    )
    assert foreign.status_code == 422 and foreign.json()["field"] == "days"
    with session_scope(session_factory) as s:
        assert s.scalar(select(func.count()).select_from(BookedSession)) == 1
