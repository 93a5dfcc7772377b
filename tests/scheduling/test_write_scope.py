"""Scheduling writes by clinic admins and therapists: a foreign patient, unit, therapist or clinic
answers exactly like a missing one and books nothing; a calendar never names a foreign patient."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.academy import certificates
from exoshare.auth import service as auth
from exoshare.auth.models import User
from exoshare.auth.schemas import Role
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.auth.service import principal_for
from exoshare.db import session_scope
from exoshare.devices.approvals.schemas import ApprovalStatus
from exoshare.devices.approvals.service import record_approval
from exoshare.errors import ExoshareError, InvalidInput, NotFound, PermissionDenied
from exoshare.network.models import OrgUnit
from exoshare.scheduling.bookings import book_session
from exoshare.scheduling.hours import set_opening_hours, set_working_hours
from exoshare.scheduling.models import (
    BookedSession,
    ClinicOpeningHours,
    TherapistWorkingHours,
    WaitlistEntry,
)
from exoshare.scheduling.runs import run_schedule
from exoshare.scheduling.schemas import Priority
from exoshare.scheduling.waitlist import add_to_waitlist
from tests.scope_checks import missing_id, same_refusal
from tests.world import PASSWORD, World, build_world, token

START = "2026-03-02T09:00:00+01:00"


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    """The test world where Madrid's bookings meet the clinical-safety rule: the Strider X2 is
    CE marked and Madrid's therapist certified for it over the booked dates."""
    world = build_world(session_factory)
    with session_scope(session_factory) as s:
        for key in ("madrid", "barcelona", "nairobi"):
            clinic = s.get(OrgUnit, world.ids[key])
            assert clinic is not None
            clinic.latitude, clinic.longitude, clinic.timezone = 40.4, -3.7, "Europe/Madrid"
        record_approval(
            s, SYSTEM_SEEDING, world.ids["model"], "CE", ApprovalStatus.approved,
            date(2020, 1, 1), "Gait training.",
        )  # fmt: skip
        certificates.issue(
            s, SYSTEM_SEEDING, world.ids["therapist_madrid"], world.ids["model"],
            date(2025, 1, 1), date(2027, 12, 31),
        )  # fmt: skip
        set_opening_hours(
            s, SYSTEM_SEEDING, world.ids["madrid"], {d: (time(8), time(18)) for d in range(5)}
        )
    return world


def _count(factory: sessionmaker[Session], table: type) -> int:
    with session_scope(factory) as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def _book(client: TestClient, headers: dict[str, str], **ids: str) -> Response:
    return client.post("/api/v1/booked-sessions", json={**ids, "starts_at": START}, headers=headers)


@pytest.mark.parametrize(
    ("field", "foreign_key"),
    [
        ("patient_id", "patient_jordi"),  # a Barcelona patient
        ("unit_id", "unit_barcelona"),  # a unit Barcelona holds
        ("therapist_id", "therapist_barcelona"),  # a therapist of Barcelona
    ],
)
def test_a_clinic_admin_books_only_their_own_patients_units_and_therapists(
    client: TestClient,
    world: World,
    session_factory: sessionmaker[Session],
    field: str,
    foreign_key: str,
) -> None:
    own = {
        "patient_id": world.ids["patient_carlos"],
        "unit_id": world.ids["unit_madrid"],
        "therapist_id": world.ids["therapist_madrid"],
    }
    admin = token(client, world, "admin_madrid")
    nowhere = missing_id()
    foreign = _book(client, admin, **{**own, field: world.ids[foreign_key]})
    missing = _book(client, admin, **{**own, field: nowhere})
    body = same_refusal(foreign, world.ids[foreign_key], missing, nowhere)
    assert (foreign.status_code, body["field"]) == (422, field)
    assert _count(session_factory, BookedSession) == 0
    # Everything of their own clinic books.
    assert _book(client, admin, **own).status_code == 201


def test_a_therapist_who_does_not_keep_the_schedule_books_nothing(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    therapist = token(client, world, "therapist_madrid")
    refused = _book(
        client,
        therapist,
        patient_id=world.ids["patient_carlos"],
        unit_id=world.ids["unit_madrid"],
        therapist_id=world.ids["therapist_madrid"],
    )
    # A therapist keeps no clinic's schedule: the gate refuses before any id is looked at.
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this needs the permission scheduling:manage"
    assert _count(session_factory, BookedSession) == 0


def test_waitlist_entries_only_for_the_callers_own_patients(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    entry = {
        "referral_date": "2026-02-01",
        "priority": "routine",
        "priority_reason": "post-acute stroke",
        "sessions_per_week": 2,
        "course_sessions": 10,
    }
    nowhere = missing_id()
    foreign = client.post(
        "/api/v1/waitlist", json={**entry, "patient_id": world.ids["patient_jordi"]}, headers=admin
    )
    missing = client.post("/api/v1/waitlist", json={**entry, "patient_id": nowhere}, headers=admin)
    assert same_refusal(foreign, world.ids["patient_jordi"], missing, nowhere)["field"] == (
        "patient_id"
    )
    assert _count(session_factory, WaitlistEntry) == 0


def _as(factory: sessionmaker[Session], world: World, key: str, action: object) -> str:
    """Run ``action(session, principal)`` as a world user; the refusal's type and detail."""
    with session_scope(factory) as s:
        user = s.get(User, world.ids[key])
        assert user is not None
        try:
            action(s, principal_for(s, user))  # type: ignore[operator]
        except ExoshareError as exc:
            s.rollback()
            return f"{type(exc).__name__}: {exc.detail}"
    return "done"


def test_hours_of_a_foreign_clinic_or_therapist_answer_like_missing_ones(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    hours = {0: (time(9), time(17))}
    nowhere = missing_id()

    def clinic_hours(clinic_id: str) -> str:
        return _as(
            session_factory,
            world,
            "admin_madrid",
            lambda s, p: set_opening_hours(s, p, clinic_id, hours),
        ).replace(clinic_id, "<id>")

    assert clinic_hours(world.ids["nairobi"]) == clinic_hours(nowhere)
    assert clinic_hours(nowhere) == f"{NotFound.__name__}: clinic <id> not found"
    # Barcelona is visible to no one in Madrid either; Madrid itself is the admin's to set.
    assert clinic_hours(world.ids["barcelona"]) == clinic_hours(nowhere)
    assert clinic_hours(world.ids["madrid"]) == "done"

    def therapist_hours(therapist_id: str) -> str:
        return _as(
            session_factory,
            world,
            "admin_madrid",
            lambda s, p: set_working_hours(s, p, therapist_id, world.ids["madrid"], hours),
        ).replace(therapist_id, "<id>")

    assert therapist_hours(world.ids["therapist_barcelona"]) == therapist_hours(nowhere)
    assert therapist_hours(nowhere) == (f"{InvalidInput.__name__}: therapist <id> does not exist")
    assert therapist_hours(world.ids["therapist_madrid"]) == "done"
    # A therapist of the clinic may read its schedule but not keep it.
    assert (
        _as(
            session_factory,
            world,
            "therapist_madrid",
            lambda s, p: set_opening_hours(s, p, world.ids["madrid"], hours),
        )
        == f"{PermissionDenied.__name__}: you may not change the schedule of ES-MAD-01"
    )
    with session_scope(session_factory) as s:
        assert [h.clinic_id for h in s.scalars(select(ClinicOpeningHours))] == [world.ids["madrid"]]
        assert [h.therapist_id for h in s.scalars(select(TherapistWorkingHours))] == [
            world.ids["therapist_madrid"]
        ]


def test_the_calendar_never_prints_a_foreign_patients_name(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    """The network schedule may send a Barcelona patient to a Madrid unit; Madrid's calendar
    shows the slot, but the name stays with Barcelona."""
    with session_scope(session_factory) as s:
        for patient, hour in (("patient_carlos", 9), ("patient_jordi", 10)):
            book_session(
                s,
                SYSTEM_SEEDING,
                world.ids[patient],
                world.ids["unit_madrid"],
                world.ids["therapist_madrid"],
                datetime(2026, 3, 2, hour, tzinfo=UTC),
            )
    page = client.get(
        f"/calendar?clinic_id={world.ids['madrid']}&start={date(2026, 3, 2).isoformat()}",
        headers=token(client, world, "admin_madrid"),
    )
    assert page.status_code == 200, page.text
    assert "Carlos Test" in page.text
    assert "Jordi" not in page.text
    assert page.text.count("SX2-0001") == 2


def test_an_operator_of_one_country_schedules_only_that_countrys_waitlist(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as s:
        for key in ("patient_carlos", "patient_amani"):  # Madrid, Nairobi
            add_to_waitlist(
                s,
                SYSTEM_SEEDING,
                world.ids[key],
                date(2026, 1, 5),
                Priority.routine,
                "stroke",
                2,
                2,
            )
        spain = s.get(OrgUnit, world.ids["spain"])
        assert spain is not None
        spain_operator = auth.create_user(s, "ops-es@test.exoshare.org", "Ops Spain", PASSWORD)
        auth.add_grant(s, spain_operator, Role.consortium_operator, spain)
        spain_operator_id = spain_operator.id
    with session_scope(session_factory) as s:
        user = s.get(User, spain_operator_id)
        assert user is not None
        run = run_schedule(s, principal_for(s, user), date(2026, 3, 2), weeks=1, time_limit_s=5)
        assert run.patients_waiting == 1
    with session_scope(session_factory) as s:
        status = dict(s.execute(select(WaitlistEntry.patient_id, WaitlistEntry.status)).all())
        reasons = dict(
            s.execute(select(WaitlistEntry.patient_id, WaitlistEntry.unscheduled_reasons)).all()
        )
    # Madrid's patient was considered (and booked); Nairobi's untouched.
    assert status[world.ids["patient_carlos"]] == "scheduled"
    assert (status[world.ids["patient_amani"]], reasons[world.ids["patient_amani"]]) == (
        "waiting",
        None,
    )
