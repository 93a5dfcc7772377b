"""Schedule runs as a clinic lives them: started courses continue, hand bookings are respected and
checked, a lease that ends inside the horizon ends the unit's sessions there."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.academy.certificates import issue as certify
from exoshare.auth.models import User
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.auth.service import principal_for
from exoshare.db import session_scope
from exoshare.devices.approvals.schemas import ApprovalStatus
from exoshare.devices.approvals.service import record_approval
from exoshare.errors import BookingRefused
from exoshare.fleet import leases, maintenance
from exoshare.fleet.schemas import MaintenanceKind
from exoshare.scheduling import bookings
from exoshare.scheduling.bookings import book_session
from exoshare.scheduling.calendar import calendar
from exoshare.scheduling.hours import record_leave, set_opening_hours, set_working_hours
from exoshare.scheduling.models import BookedSession, WaitlistEntry
from exoshare.scheduling.problem import haversine_km
from exoshare.scheduling.runs import run_schedule
from exoshare.scheduling.schemas import WaitlistStatus
from exoshare.scheduling.utilisation import utilisation
from exoshare.scheduling.waitlist import waitlist
from exoshare.telerehab import sessions as telerehab_sessions
from exoshare.telerehab.schemas import TherapyLocation
from tests.scheduling.test_service import MADRID, MONDAY, madrid_world
from tests.world import World

MADRID_CLINIC = (40.4168, -3.7038)


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return madrid_world(session_factory)


def _sessions(factory: sessionmaker[Session]) -> list[BookedSession]:
    with factory() as s:
        return list(s.scalars(select(BookedSession).order_by(BookedSession.starts_at)))


def _entry(factory: sessionmaker[Session], entry_id: str) -> WaitlistEntry:
    with factory() as s:
        entry = s.get(WaitlistEntry, entry_id)
        assert entry is not None
        return entry


def test_a_started_course_continues_on_its_unit_therapist_and_hour_in_the_next_run(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as s:
        carlos = s.get(WaitlistEntry, world.ids["entry_patient_carlos"])
        assert carlos is not None
        carlos.course_sessions = 4  # two weeks at two a week
        first = run_schedule(s, SYSTEM_SEEDING, MONDAY, weeks=1, time_limit_s=5)
        assert (first.patients_scheduled, first.sessions_booked) == (2, 4)
    week_one = [
        b for b in _sessions(session_factory) if b.patient_id == world.ids["patient_carlos"]
    ]
    hour = {b.starts_at.astimezone(MADRID).time() for b in week_one}
    assert len(week_one) == 2 and len(hour) == 1
    with session_scope(session_factory) as s:
        second = run_schedule(s, SYSTEM_SEEDING, date(2026, 3, 9), weeks=1, time_limit_s=5)
        # Nobody new waits (Amani has no unit within reach); Carlos's course goes on, Lucia's
        # two sessions were her whole course.
        assert (second.patients_waiting, second.sessions_booked) == (1, 2)
        assert second.notes == "started courses continued first: 1, with 2 sessions"
    week_two = [b for b in _sessions(session_factory) if b.starts_at.date() >= date(2026, 3, 9)]
    assert {b.patient_id for b in week_two} == {world.ids["patient_carlos"]}
    assert {(b.unit_id, b.therapist_id) for b in week_two} == {
        (world.ids["unit_madrid"], world.ids["therapist_madrid"])
    }
    assert {b.starts_at.astimezone(MADRID).time() for b in week_two} == hour
    assert {b.waitlist_entry_id for b in week_two} == {world.ids["entry_patient_carlos"]}


def test_a_session_booked_by_hand_is_respected_and_counted_by_the_run(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    monday_9 = datetime(2026, 3, 2, 9, tzinfo=MADRID)
    with session_scope(session_factory) as s:
        hand = book_session(
            s,
            SYSTEM_SEEDING,
            world.ids["patient_carlos"],
            world.ids["unit_madrid"],
            world.ids["therapist_madrid"],
            monday_9,
        )
        assert hand.waitlist_entry_id == world.ids["entry_patient_carlos"]
        # The run used to abort with SlotTaken here or book Carlos twice on Monday.
        run = run_schedule(s, SYSTEM_SEEDING, MONDAY, weeks=1, time_limit_s=5)
        assert run.sessions_booked == 3  # Carlos's second session, Lucia's two
    sessions = _sessions(session_factory)
    per_patient = Counter(b.patient_id for b in sessions)
    assert per_patient == {world.ids["patient_carlos"]: 2, world.ids["patient_lucia"]: 2}
    carlos_days = [
        b.starts_at.astimezone(MADRID).date()
        for b in sessions
        if b.patient_id == world.ids["patient_carlos"]
    ]
    assert carlos_days[0] == date(2026, 3, 2) and carlos_days[1] != date(2026, 3, 2)
    # One unit, so no two sessions may overlap (each 45 min, 15 min changeover after it).
    for a, b in pairwise(sessions):
        assert b.starts_at >= a.ends_at
    assert _entry(session_factory, world.ids["entry_patient_carlos"]).status is (
        WaitlistStatus.scheduled
    )


def test_a_hand_booking_is_refused_with_every_rule_it_breaks_and_nothing_stored(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    berlin = (52.52, 13.405)
    km = haversine_km(*berlin, *MADRID_CLINIC)
    with session_scope(session_factory) as s:
        carlos = s.get(WaitlistEntry, world.ids["entry_patient_carlos"])
        assert carlos is not None
        carlos.home_latitude, carlos.home_longitude = berlin
        with pytest.raises(BookingRefused) as refused:
            book_session(
                s,
                SYSTEM_SEEDING,
                world.ids["patient_carlos"],
                world.ids["unit_madrid"],
                world.ids["therapist_madrid"],
                datetime(2026, 12, 25, 12, tzinfo=MADRID),  # Christmas, after closing
            )
    assert round(km) == 1869
    assert refused.value.extra["errors"] == [
        {"field": "starts_at", "reason": "2026-12-25 is a public holiday in ES"},
        {
            "field": "starts_at",
            "reason": "ES-MAD-01 is not open 12:00–12:45 on Fri 2026-12-25 (Europe/Madrid); "
            "hours: Mon 09:00–11:00, Tue 09:00–11:00, Wed 09:00–11:00, Thu 09:00–11:00, "
            "Fri 09:00–11:00",
        },
        {
            "field": "therapist_id",
            "reason": "the therapist does not work 12:00–12:45 on Fri 2026-12-25 "
            "(Europe/Madrid); hours: Mon 09:00–11:00, Tue 09:00–11:00, Wed 09:00–11:00, "
            "Thu 09:00–11:00, Fri 09:00–11:00",
        },
        {
            "field": "unit_id",
            "reason": "ES-MAD-01 is 1869 km from the patient's home, beyond the 50 km travel "
            "limit; book a unit at a nearer clinic",
        },
    ]
    assert _sessions(session_factory) == []


def test_a_third_session_in_a_week_of_two_is_refused(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as s:
        for day in (2, 3):
            book_session(
                s,
                SYSTEM_SEEDING,
                world.ids["patient_carlos"],
                world.ids["unit_madrid"],
                world.ids["therapist_madrid"],
                datetime(2026, 3, day, 9, tzinfo=MADRID),
            )
    with session_scope(session_factory) as s, pytest.raises(BookingRefused) as refused:
        book_session(
            s,
            SYSTEM_SEEDING,
            world.ids["patient_carlos"],
            world.ids["unit_madrid"],
            world.ids["therapist_madrid"],
            datetime(2026, 3, 4, 9, tzinfo=MADRID),
        )
    assert [e["reason"] for e in refused.value.extra["errors"]] == [
        "the patient already has 2 sessions in the week of 2026-03-02, the 2 a week of the "
        "referral",
        "the course of 2 sessions is fully booked (2 sessions)",
    ]


def test_a_lease_ending_mid_horizon_books_nothing_after_the_unit_went_back(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as s:
        # Madrid leases Barcelona's Lumen T1 until Wednesday 4 March; its own unit is in for
        # service all week.
        leases.create_lease(
            s,
            SYSTEM_SEEDING,
            world.ids["unit_barcelona"],
            world.ids["madrid"],
            Decimal("500"),
            date(2026, 2, 1),
            date(2026, 3, 4),
            currency="EUR",
        )
        maintenance.record_maintenance(
            s,
            SYSTEM_SEEDING,
            world.ids["unit_madrid"],
            MaintenanceKind.repair,
            datetime(2026, 3, 1, tzinfo=MADRID),
            datetime(2026, 3, 8, tzinfo=MADRID),
        )
        record_approval(
            s,
            SYSTEM_SEEDING,
            world.ids["other_model"],
            "CE",
            ApprovalStatus.approved,
            date(2020, 1, 1),
            "gait",
        )
        certify(
            s,
            SYSTEM_SEEDING,
            world.ids["therapist_madrid"],
            world.ids["other_model"],
            date(2025, 1, 1),
            date(2027, 1, 1),
        )
        for key in ("entry_patient_carlos", "entry_patient_lucia"):
            entry = s.get(WaitlistEntry, world.ids[key])
            assert entry is not None
            entry.sessions_per_week = entry.course_sessions = 3
        run_schedule(s, SYSTEM_SEEDING, MONDAY, weeks=1, time_limit_s=5)
    sessions = _sessions(session_factory)
    days = Counter(b.starts_at.astimezone(MADRID).date() for b in sessions)
    # Two slots a day (09:00, 10:00) on the leased unit, Monday to Wednesday only.
    assert days == {date(2026, 3, 2): 2, date(2026, 3, 3): 2, date(2026, 3, 4): 2}
    assert {b.unit_id for b in sessions} == {world.ids["unit_barcelona"]}
    assert {b.starts_at.astimezone(MADRID).time() for b in sessions} == {time(9), time(10)}


def test_a_session_planned_outside_the_calendar_is_on_it_in_utilisation_and_kept_by_a_run(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    monday_10 = datetime(2026, 3, 2, 10, tzinfo=MADRID)
    with session_scope(session_factory) as s:
        therapist = s.get(User, world.ids["therapist_madrid"])
        assert therapist is not None
        planned = telerehab_sessions.plan_session(
            s,
            principal_for(s, therapist),
            world.ids["patient_carlos"],
            world.ids["unit_madrid"],
            TherapyLocation.clinic,
            planned_for=monday_10,
        )
        shown = calendar(s, SYSTEM_SEEDING, world.ids["madrid"], MONDAY, 7)
        assert [(b.patient_id, b.starts_at.astimezone(MADRID)) for b in shown] == [
            (world.ids["patient_carlos"], monday_10)
        ]
        # 1 session-hour of 40 open unit-hours (2 a day, 5 days, 4 weeks).
        (madrid,) = [
            u for u in utilisation(s, SYSTEM_SEEDING, MONDAY, 4) if u.clinic.code == "ES-MAD-01"
        ]
        assert (madrid.booked_hours, madrid.open_unit_hours) == (1, 40)
        # Planning it again, or starting it, adds nothing: that booking is this session.
        assert planned.planned_for is not None
        assert (
            bookings.record_session_held(
                s,
                world.ids["patient_carlos"],
                world.ids["unit_madrid"],
                therapist.id,
                monday_10,
                held=False,
            )
            is None
        )
        run_schedule(s, SYSTEM_SEEDING, MONDAY, weeks=1, time_limit_s=5)
    sessions = _sessions(session_factory)
    assert len({b.starts_at for b in sessions}) == len(sessions)  # one unit: no start twice
    carlos = [b for b in sessions if b.patient_id == world.ids["patient_carlos"]]
    # The planned session counts towards his 2 a week: the run adds one, on another day.
    assert len(carlos) == 2 and carlos[1].starts_at.astimezone(MADRID).date() != date(2026, 3, 2)


def test_the_waitlist_shows_the_first_session_in_the_clinics_local_time(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as s:
        run_schedule(s, SYSTEM_SEEDING, MONDAY, weeks=1, time_limit_s=5)
        rows = waitlist(s, SYSTEM_SEEDING, world.ids["madrid"], today=MONDAY)
    starts = {
        row.entry.patient_id: (row.first_session_local, row.first_session_clinic)
        for row in rows
        if row.position is None
    }
    # Madrid is UTC+1 in March: the first sessions are at 09:00 and 10:00 there (08:00, 09:00 UTC).
    assert {(t.isoformat(), clinic) for t, clinic in starts.values() if t is not None} == {
        ("2026-03-02T09:00:00+01:00", "Madrid Clinic"),
        ("2026-03-02T10:00:00+01:00", "Madrid Clinic"),
    }


def test_a_patients_wait_ends_at_their_first_session(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as s:
        run_schedule(s, SYSTEM_SEEDING, MONDAY, weeks=1, time_limit_s=5)
        before = waitlist(s, SYSTEM_SEEDING, world.ids["madrid"], today=MONDAY - timedelta(days=3))
        later = waitlist(s, SYSTEM_SEEDING, world.ids["madrid"], today=MONDAY + timedelta(days=40))
    started = {
        row.entry.id: (row.entry.referral_date, row.first_session_local)
        for row in later
        if row.first_session_local is not None
    }
    assert started
    for row in later:
        if row.entry.id in started:
            referred, first = started[row.entry.id]
            # Forty days on, the scheduled patients' waits still end on 2 March.
            assert row.waited_days == (first.date() - referred).days
            assert first.date() == date(2026, 3, 2)
        else:
            assert row.waited_days == (MONDAY + timedelta(days=40) - row.entry.referral_date).days
    # Before the first session the wait so far runs to today.
    for row in before:
        assert row.waited_days == (MONDAY - timedelta(days=3) - row.entry.referral_date).days


def test_leave_a_break_a_daily_limit_and_the_patients_hours_are_kept(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    weekdays = {d: (time(8), time(12)) for d in range(5)}
    with session_scope(session_factory) as s:
        set_opening_hours(s, SYSTEM_SEEDING, world.ids["madrid"], weekdays)
        set_working_hours(
            s,
            SYSTEM_SEEDING,
            world.ids["therapist_madrid"],
            world.ids["madrid"],
            weekdays,
            breaks={d: (time(10), time(11)) for d in range(5)},
            max_sessions=2,
        )
        record_leave(
            s,
            SYSTEM_SEEDING,
            world.ids["madrid"],
            world.ids["therapist_madrid"],
            date(2026, 3, 3),
            date(2026, 3, 4),
            "training course",
        )
        carlos = s.get(WaitlistEntry, world.ids["entry_patient_carlos"])
        assert carlos is not None
        carlos.available_hours = {"0": ["08:00", "10:00"], "3": ["08:00", "10:00"]}
        run = run_schedule(s, SYSTEM_SEEDING, MONDAY, weeks=1, time_limit_s=5)
        assert run.sessions_booked == 4
    sessions = [(b.patient_id, b.starts_at.astimezone(MADRID)) for b in _sessions(session_factory)]
    per_day = Counter(t.date() for _, t in sessions)
    # Tuesday and Wednesday on leave; at most 2 a day; nothing in the 10:00–11:00 break.
    assert set(per_day) <= {date(2026, 3, 2), date(2026, 3, 5), date(2026, 3, 6)}
    assert max(per_day.values()) <= 2
    assert all(not time(9, 16) <= t.time() < time(11) for _, t in sessions)
    carlos_times = [t for p, t in sessions if p == world.ids["patient_carlos"]]
    assert [(t.weekday(), t.time() <= time(9, 15)) for t in carlos_times] == [(0, True), (3, True)]
    with session_scope(session_factory) as s, pytest.raises(BookingRefused) as refused:
        book_session(
            s,
            SYSTEM_SEEDING,
            world.ids["patient_lucia"],
            world.ids["unit_madrid"],
            world.ids["therapist_madrid"],
            datetime(2026, 3, 3, 8, tzinfo=MADRID),
        )
    assert {"field": "therapist_id", "reason": "the therapist is on leave on 2026-03-03"} in (
        refused.value.extra["errors"]
    )
