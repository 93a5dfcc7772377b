"""Units on loan at the desk: a unit leased in is offered and booked for the days of its lease; a
unit the clinic owns but has leased out is not offered then, and booking it is refused with the
lease named. The form, the booking and the schedule run ask one rule."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.scheduling.models import BookedSession
from exoshare.scheduling.problem_from_db import build_problem
from tests.scheduling.desk_world import loan_world
from tests.world import World, form_csrf, sign_in, token

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return loan_world(session_factory)


def _offered(html: str) -> list[str]:
    units = html.split('<select name="unit_id"')[1].split("</select>")[0]
    return re.findall(r">(SX2-\d{4}|LT1-\d{4}) ·", units)


def test_the_form_offers_the_units_the_clinic_holds_that_day(
    client: TestClient, world: World
) -> None:
    sign_in(client, world.emails["admin_madrid"])
    url = f"/calendar/book?clinic_id={world.ids['madrid']}&day="
    # Mon 2 March: its own unit is home, the borrowed one has arrived.
    assert _offered(client.get(url + "2026-03-02").text) == ["SX2-0001", "SX2-0002"]
    # Tue 10 March: its own unit is in Barcelona; the page says so instead of offering it.
    away = client.get(url + "2026-03-10")
    assert _offered(away.text) == ["SX2-0002"]
    assert (
        '<li data-code="unit-leased-elsewhere">Not offered: Unit SX2-0001 is leased to ES-BCN-01 '
        "until Mar 20, 2026.</li>"
    ) in away.text
    # Mon 6 April: both leases are over. The borrowed unit is no longer Madrid's to use, and
    # SX2-0001 counts as in Barcelona until its return is recorded (custody says so).
    assert _offered(client.get(url + "2026-04-06").text) == []
    # Another clinic's admin does not see Madrid's desk at all.
    client.post("/logout", data={"csrf_token": form_csrf(client.get("/").text)})
    sign_in(client, world.emails["admin_barcelona"])
    assert client.get(url + "2026-03-02").status_code == 404


def test_a_booking_on_a_leased_out_unit_is_refused_and_on_a_leased_in_one_accepted(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    sign_in(client, world.emails["admin_madrid"])
    form = client.get(f"/calendar/book?clinic_id={world.ids['madrid']}&day=2026-03-10")
    body = {
        "csrf_token": form_csrf(form.text),
        "clinic_id": world.ids["madrid"],
        "patient_id": world.ids["patient_carlos"],
        "therapist_id": world.ids["therapist_madrid"],
        "day": "2026-03-10",
        "at": "09:00",
    }
    refused = client.post("/calendar/book", data={**body, "unit_id": world.ids["unit_madrid"]})
    assert refused.status_code == 409
    assert (
        '<span class="field-error" role="alert" data-field="unit_id" '
        'data-code="unit-leased-elsewhere">Unit SX2-0001 is leased to ES-BCN-01 until '
        "Mar 20, 2026.</span>"
    ) in refused.text
    with session_factory() as s:
        assert s.scalars(select(BookedSession)).all() == []

    booked = client.post("/calendar/book", data={**body, "unit_id": world.ids["unit_borrowed"]})
    assert booked.status_code == 200 and "The session is booked." in booked.text
    with session_factory() as s:
        (row,) = s.scalars(select(BookedSession)).all()
        assert (row.unit_id, row.clinic_id, row.patient_id) == (
            world.ids["unit_borrowed"],
            world.ids["madrid"],
            world.ids["patient_carlos"],
        )


def test_the_api_names_the_lease_and_answers_another_clinic_like_a_missing_unit(
    client: TestClient, world: World
) -> None:
    admin = token(client, world, "admin_madrid")
    ask = {
        "patient_id": world.ids["patient_lucia"],
        "therapist_id": world.ids["therapist_madrid"],
        "starts_at": "2026-03-11T09:00:00+01:00",
    }
    # No clinic given: the unit is in Barcelona, which Madrid's admin does not see, so the
    # booking is judged at its owner, Madrid, and the lease is named.
    own = client.post(
        "/api/v1/booked-sessions", json={**ask, "unit_id": world.ids["unit_madrid"]}, headers=admin
    )
    assert own.status_code == 409
    assert [(e["field"], e["code"], e["reason"]) for e in own.json()["errors"]] == [
        (
            "device_unit_id",
            "unit-leased-elsewhere",
            "unit SX2-0001 is leased to ES-BCN-01 until 2026-03-20",
        )
    ]
    lent = client.post(
        "/api/v1/booked-sessions",
        json={**ask, "unit_id": world.ids["unit_borrowed"], "clinic_id": world.ids["madrid"]},
        headers=admin,
    )
    assert lent.status_code == 201, lent.text
    assert lent.json()["clinic_id"] == world.ids["madrid"]

    # Barcelona's admin, at Madrid: the same answer as a unit that does not exist.
    other = token(client, world, "admin_barcelona")
    at_madrid = {**ask, "clinic_id": world.ids["madrid"], "starts_at": "2026-03-12T09:00:00+01:00"}
    theirs = client.post(
        "/api/v1/booked-sessions", json={**at_madrid, "unit_id": world.ids["unit_borrowed"]},
        headers=other,
    )  # fmt: skip
    missing = client.post(
        "/api/v1/booked-sessions", json={**at_madrid, "unit_id": "0" * 32}, headers=other
    )
    assert theirs.status_code == missing.status_code == 422
    assert theirs.json()["detail"].replace(world.ids["unit_borrowed"], "ID") == missing.json()[
        "detail"
    ].replace("0" * 32, "ID")


def test_the_schedule_run_sees_the_same_days(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as s:
        built = build_problem(s, date(2026, 3, 9), weeks=1, clinic_ids=[world.ids["madrid"]])
    units = {u.id: u for u in built.problem.units}
    # Madrid holds SX2-0001 when the week starts but it is away every day of it; the borrowed
    # unit is Madrid's all week.
    away = {(a.date(), b.date()) for a, b in units[world.ids["unit_madrid"]].maintenance}
    assert away == {(date(2026, 3, d), date(2026, 3, d + 1)) for d in range(9, 16)}
    assert units[world.ids["unit_borrowed"]].clinic_id == world.ids["madrid"]
    assert units[world.ids["unit_borrowed"]].maintenance == ()
