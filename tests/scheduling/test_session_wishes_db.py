"""A referral's session length and preferences in SQL: written through the API with their scope
checked, planned by a schedule run, and asked of a booking by hand (the Madrid clinic of
test_service: open 09–11 on weekdays, one unit, one certified therapist)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.errors import BookingRefused, SlotTaken
from exoshare.scheduling.bookings import book_session
from exoshare.scheduling.models import BookedSession, WaitlistEntry
from exoshare.scheduling.problem_from_db import build_problem
from exoshare.scheduling.runs import run_schedule
from exoshare.scheduling.utilisation import utilisation
from tests.scheduling.test_service import MADRID, MONDAY, madrid_world
from tests.world import World, token


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return madrid_world(session_factory)


def _two_slot_carlos(client: TestClient, world: World) -> None:
    admin = token(client, world, "admin_madrid")
    changed = client.patch(
        f"/api/v1/waitlist/{world.ids['entry_patient_carlos']}",
        json={"session_slots": 2, "preferred_therapist_id": world.ids["therapist_madrid"]},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["session_slots"], changed.json()["preferred_therapist_id"]) == (
        2,
        world.ids["therapist_madrid"],
    )


def test_a_run_books_the_whole_length_of_a_two_slot_referral(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    _two_slot_carlos(client, world)
    with session_factory() as s:
        built = build_problem(s, MONDAY, weeks=1)
        carlos = built.problem.patient_by_id[world.ids["entry_patient_carlos"]]
        assert (carlos.session_slots, carlos.preferred_therapist_id) == (
            2,
            world.ids["therapist_madrid"],
        )
    with session_scope(session_factory) as s:
        run = run_schedule(s, SYSTEM_SEEDING, MONDAY, weeks=1, time_limit_s=10)
        # Carlos twice for two slots, Lucia twice for one: 6 of the week's 10 unit-slots.
        assert (run.patients_scheduled, run.sessions_booked) == (2, 4)
    with session_factory() as s:
        rows = s.scalars(select(BookedSession).order_by(BookedSession.starts_at)).all()
        carlos_rows = [b for b in rows if b.patient_id == world.ids["patient_carlos"]]
        # 09:00–10:45, the changeover to 11:00, when the clinic closes: the whole morning.
        assert [
            (b.starts_at.astimezone(MADRID).time(), b.ends_at - b.starts_at) for b in carlos_rows
        ] == [(time(9), timedelta(minutes=105))] * 2
        carlos_days = {b.starts_at.astimezone(MADRID).date() for b in carlos_rows}
        others = [b for b in rows if b.patient_id != world.ids["patient_carlos"]]
        assert len(others) == 2
        assert not carlos_days & {b.starts_at.astimezone(MADRID).date() for b in others}
        # Utilisation counts the hour-slots sessions hold: 2 × 2 + 2 × 1 of 5 days × 2 hours.
        madrid = utilisation(s, SYSTEM_SEEDING, MONDAY, weeks=1)
        assert [(u.clinic.id, u.booked_hours, u.open_unit_hours) for u in madrid] == [
            (world.ids["madrid"], 6, 10)
        ]


def test_a_hand_booking_of_a_two_slot_referral_needs_the_whole_span(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    _two_slot_carlos(client, world)
    ids = world.ids
    with session_scope(session_factory) as s:
        book_session(
            s,
            SYSTEM_SEEDING,
            ids["patient_lucia"],
            ids["unit_madrid"],
            ids["therapist_madrid"],
            datetime(2026, 3, 2, 10, 0, tzinfo=MADRID),
        )
    with session_scope(session_factory) as s:
        # Monday 09:00 is free, 10:00 is Lucia's: one slot free, two wanted.
        with pytest.raises(SlotTaken) as taken:
            book_session(
                s,
                SYSTEM_SEEDING,
                ids["patient_carlos"],
                ids["unit_madrid"],
                ids["therapist_madrid"],
                datetime(2026, 3, 2, 9, 0, tzinfo=MADRID),
            )
        assert str(taken.value.detail).startswith(
            "the referral asks for 105-min sessions, so 09:00–10:45 must be free: "
            "the unit has a session at 10:00"
        )
        # Tuesday 10:00 would run to 11:45, past closing at 11:00.
        with pytest.raises(BookingRefused) as refused:
            book_session(
                s,
                SYSTEM_SEEDING,
                ids["patient_carlos"],
                ids["unit_madrid"],
                ids["therapist_madrid"],
                datetime(2026, 3, 3, 10, 0, tzinfo=MADRID),
            )
        assert "clinic-closed" in [r.code for r in refused.value.refusals]
    with session_scope(session_factory) as s:
        booked = book_session(
            s,
            SYSTEM_SEEDING,
            ids["patient_carlos"],
            ids["unit_madrid"],
            ids["therapist_madrid"],
            datetime(2026, 3, 3, 9, 0, tzinfo=MADRID),
        )
        assert booked.ends_at - booked.starts_at == timedelta(minutes=105)


def test_preferences_name_only_what_the_caller_sees_and_what_is_in_reach(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    url = f"/api/v1/waitlist/{world.ids['entry_patient_carlos']}"

    def change(**body: object) -> tuple[int, str]:
        answer = client.patch(url, json=body, headers=admin)
        return answer.status_code, answer.json().get("detail", "")

    # Barcelona's clinic and therapist are outside the Madrid admin's scope: they answer
    # exactly like ids that do not exist.
    for field, foreign in (
        ("preferred_clinic_id", world.ids["barcelona"]),
        ("preferred_therapist_id", world.ids["therapist_barcelona"]),
    ):
        status, detail = change(**{field: foreign})
        missing_status, missing_detail = change(**{field: "0" * 32})
        assert (status, detail.replace(foreign, "<id>")) == (
            missing_status,
            missing_detail.replace("0" * 32, "<id>"),
        )
        assert status == 422 and detail.endswith(f"{foreign} does not exist")
    # The admin's own clinic and its therapist are accepted and stored.
    status, _ = change(
        preferred_clinic_id=world.ids["madrid"],
        preferred_therapist_id=world.ids["therapist_madrid"],
    )
    assert status == 200
    with session_factory() as s:
        entry = s.get(WaitlistEntry, world.ids["entry_patient_carlos"])
        assert entry is not None
        assert (entry.preferred_clinic_id, entry.preferred_therapist_id) == (
            world.ids["madrid"],
            world.ids["therapist_madrid"],
        )
    # Another clinic's entry answers like a missing one.
    foreign_entry = client.patch(
        f"/api/v1/waitlist/{world.ids['entry_patient_amani']}",
        json={"session_slots": 2},
        headers=admin,
    )
    missing_entry = client.patch(
        f"/api/v1/waitlist/{'0' * 32}", json={"session_slots": 2}, headers=admin
    )
    assert foreign_entry.status_code == missing_entry.status_code == 404
