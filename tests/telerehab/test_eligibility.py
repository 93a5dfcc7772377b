"""The clinical-safety rule, one hand-checkable case per rule, then where it is enforced.

The world: the Strider X2 fits 1.50–1.95 m and at most 110 kg; Carlos (Madrid) is 1.75 m and
78 kg; unit SX2-0001 belongs to Madrid. Unless a test says otherwise Maria is certified for the
Strider X2 through 2026 and the model is CE marked, so the baseline session passes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.academy import certificates
from exoshare.auth.models import AuditEvent
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.devices import service as devices
from exoshare.devices.approvals.schemas import ApprovalStatus, RecognitionKind
from exoshare.devices.approvals.service import create_agreement
from exoshare.devices.approvals.service import record_approval as approve
from exoshare.devices.models import DeviceUnit
from exoshare.devices.schemas import UnitStatus
from exoshare.errors import SessionNotEligible
from exoshare.fleet import leases, maintenance
from exoshare.fleet.schemas import MaintenanceKind
from exoshare.network.models import OrgUnit
from exoshare.patients.models import Patient
from exoshare.scheduling import bookings, eligibility, problem_from_db
from exoshare.scheduling.hours import set_opening_hours
from exoshare.scheduling.models import BookedSession
from exoshare.telemetry.models import TelemetrySession
from exoshare.telerehab import sessions as telerehab_sessions
from exoshare.telerehab.models import TherapySession
from tests.telerehab.helpers import announce, certify, device_secret, plan, ready_world
from tests.world import World, build_world, token

AT = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
API = "/api/v1/telerehab"


def _baseline(factory: sessionmaker[Session], approved: bool = True) -> World:
    world = build_world(factory)
    with session_scope(factory) as s:
        certificates.issue(
            s, SYSTEM_SEEDING, world.ids["therapist_madrid"], world.ids["model"], date(2026, 1, 1),
            date(2026, 12, 31),
        )  # fmt: skip
        if approved:
            approve(
                s,
                SYSTEM_SEEDING,
                world.ids["model"],
                "CE",
                ApprovalStatus.approved,
                date(2020, 1, 1),
                "-",
            )
    return world


def _check(
    s: Session,
    world: World,
    *,
    therapist: str = "therapist_madrid",
    patient: str = "patient_carlos",
    unit: str = "unit_madrid",
    clinic: str = "madrid",
    at: datetime = AT,
    duration: timedelta = timedelta(0),
) -> list[tuple[str, str]]:
    found = eligibility.refusals(
        s,
        therapist_id=world.ids[therapist],
        patient=s.get(Patient, world.ids[patient]),  # type: ignore[arg-type]
        unit=s.get(DeviceUnit, world.ids[unit]),  # type: ignore[arg-type]
        clinic=s.get(OrgUnit, world.ids[clinic]),  # type: ignore[arg-type]
        at=at,
        duration=duration,
    )
    return [(r.field, r.code) for r in found]


def test_a_session_meeting_every_rule_is_not_refused(
    session_factory: sessionmaker[Session],
) -> None:
    world = _baseline(session_factory)
    with session_scope(session_factory) as s:
        assert _check(s, world) == []


def test_the_certificate_must_be_valid_on_the_clinic_date(
    session_factory: sessionmaker[Session],
) -> None:
    world = _baseline(session_factory)
    with session_scope(session_factory) as s:
        certificates.issue(
            s, SYSTEM_SEEDING, world.ids["therapist_madrid"], world.ids["model"], date(2026, 1, 1),
            date(2026, 6, 15),
        )  # fmt: skip
        s.get(OrgUnit, world.ids["madrid"]).timezone = "Europe/Madrid"  # type: ignore[union-attr]
    with session_scope(session_factory) as s:
        # 21:59 UTC is 23:59 in Madrid (summer time): still the 15th, the last valid day.
        assert _check(s, world, at=datetime(2026, 6, 15, 21, 59, tzinfo=UTC)) == []
        # 22:30 UTC is 00:30 on the 16th in Madrid: the certificate has run out there.
        late = datetime(2026, 6, 15, 22, 30, tzinfo=UTC)
        assert _check(s, world, at=late) == [("therapist_id", "not-certified")]
        # Barcelona's therapist holds no certificate at all.
        assert _check(s, world, therapist="therapist_barcelona") == [
            ("therapist_id", "not-certified")
        ]


@pytest.mark.parametrize(
    ("height_m", "weight_kg", "expected"),
    [
        (1.50, 78.0, []),
        (1.49, 78.0, [("patient.height_m", "patient-too-short")]),
        (1.95, 110.0, []),
        (1.96, 78.0, [("patient.height_m", "patient-too-tall")]),
        (1.75, 110.5, [("patient.weight_kg", "patient-too-heavy")]),
        (
            1.96,
            120.0,
            [("patient.height_m", "patient-too-tall"), ("patient.weight_kg", "patient-too-heavy")],
        ),
    ],
)
def test_the_patient_must_fit_the_model_in_height_and_weight(
    session_factory: sessionmaker[Session],
    height_m: float,
    weight_kg: float,
    expected: list[tuple[str, str]],
) -> None:
    world = _baseline(session_factory)
    with session_scope(session_factory) as s:
        carlos = s.get(Patient, world.ids["patient_carlos"])
        assert carlos is not None
        carlos.height_m, carlos.weight_kg = height_m, weight_kg
        assert _check(s, world) == expected


def test_the_words_name_the_numbers(session_factory: sessionmaker[Session]) -> None:
    world = _baseline(session_factory)
    with session_scope(session_factory) as s:
        carlos = s.get(Patient, world.ids["patient_carlos"])
        assert carlos is not None
        carlos.height_m, carlos.weight_kg = 1.78, 120.0
        model = s.get(DeviceUnit, world.ids["unit_madrid"]).model  # type: ignore[union-attr]
        model.min_patient_height_m, model.max_patient_height_m = 0.95, 1.50
        found = eligibility.patient_refusals(carlos, model)
    assert [r.reason for r in found] == [
        "the patient is 1.78 m tall; the Strider X2 fits 0.95–1.50 m",
        "the patient weighs 120.0 kg; the Strider X2 carries at most 110 kg",
    ]
    assert found[0].params == {
        "model": "Strider X2",
        "height": "1.78",
        "min": "0.95",
        "max": "1.50",
    }


def test_the_unit_must_function_and_be_out_of_maintenance(
    session_factory: sessionmaker[Session],
) -> None:
    world = _baseline(session_factory)
    with session_scope(session_factory) as s:
        s.get(DeviceUnit, world.ids["unit_madrid"]).status = UnitStatus.awaiting_repair  # type: ignore[union-attr]
        assert _check(s, world) == [("device_unit_id", "unit-not-functioning")]
        s.get(DeviceUnit, world.ids["unit_madrid"]).status = UnitStatus.functioning  # type: ignore[union-attr]
        maintenance.record_maintenance(
            s, SYSTEM_SEEDING, world.ids["unit_madrid"], MaintenanceKind.calibration,
            datetime(2026, 6, 15, 8, tzinfo=UTC), datetime(2026, 6, 15, 12, tzinfo=UTC),
        )  # fmt: skip
        assert _check(s, world) == [("device_unit_id", "unit-in-maintenance")]
        assert _check(s, world, at=datetime(2026, 6, 15, 12, tzinfo=UTC)) == []
        # A one-hour session from 07:30 runs into the calibration at 08:00.
        early = datetime(2026, 6, 15, 7, 30, tzinfo=UTC)
        assert _check(s, world, at=early) == []
        assert _check(s, world, at=early, duration=timedelta(hours=1)) == [
            ("device_unit_id", "unit-in-maintenance")
        ]


def test_the_clinic_must_hold_the_unit_and_no_lease_may_let_it_elsewhere(
    session_factory: sessionmaker[Session],
) -> None:
    world = _baseline(session_factory)
    with session_scope(session_factory) as s:
        certificates.issue(
            s, SYSTEM_SEEDING, world.ids["therapist_barcelona"], world.ids["model"],
            date(2026, 1, 1), date(2026, 12, 31),
        )  # fmt: skip
        lease = leases.create_lease(
            s, SYSTEM_SEEDING, world.ids["unit_madrid"], world.ids["barcelona"], Decimal("500"),
            date(2026, 6, 1), date(2026, 6, 30), currency="EUR",
        )  # fmt: skip
        lease_id = lease.id
    barcelona = {"therapist": "therapist_barcelona", "patient": "patient_jordi"}
    with session_scope(session_factory) as s:
        # The owner may not use a unit it has let; the lessee may.
        assert _check(s, world) == [("device_unit_id", "unit-leased-elsewhere")]
        assert _check(s, world, clinic="barcelona", **barcelona) == []
        # Before the lease starts the unit is Madrid's again, and Barcelona's not.
        may = datetime(2026, 5, 31, 10, tzinfo=UTC)
        assert _check(s, world, at=may) == []
        assert _check(s, world, clinic="barcelona", at=may, **barcelona) == [
            ("device_unit_id", "unit-not-held")
        ]
        # The lease ran out on the 30th but the unit was never sent back: nobody may use it.
        july = datetime(2026, 7, 2, 10, tzinfo=UTC)
        assert _check(s, world, at=july) == [("device_unit_id", "unit-not-held")]
        assert _check(s, world, clinic="barcelona", at=july, **barcelona) == [
            ("device_unit_id", "unit-lease-ended")
        ]
        leases.return_lease(s, SYSTEM_SEEDING, lease_id, date(2026, 6, 30))
    with session_scope(session_factory) as s:
        assert _check(s, world, at=july) == []


def test_the_model_must_be_approved_in_the_clinic_country(
    session_factory: sessionmaker[Session],
) -> None:
    world = _baseline(session_factory, approved=False)
    with session_scope(session_factory) as s:
        nairobi_unit = devices.create_unit(
            s, SYSTEM_SEEDING, "SX2-0099", world.ids["model"], world.ids["nairobi"]
        )
        world.ids["unit_nairobi"] = nairobi_unit.id
    kenya = {"patient": "patient_amani", "unit": "unit_nairobi", "clinic": "nairobi"}
    with session_scope(session_factory) as s:
        assert _check(s, world) == [("device_unit.model_id", "model-not-approved")]
        approve(
            s,
            SYSTEM_SEEDING,
            world.ids["model"],
            "CE",
            ApprovalStatus.approved,
            date(2020, 1, 1),
            "Gait training.",
        )
        approve(
            s,
            SYSTEM_SEEDING,
            world.ids["model"],
            "SAHPRA",
            ApprovalStatus.approved,
            date(2021, 1, 1),
            "-",
        )
        assert _check(s, world) == []
        # South Africa's approval alone does not open Kenya...
        assert _check(s, world, **kenya) == [("device_unit.model_id", "model-not-approved")]
        # ...until Kenya's regulator recognises it.
        create_agreement(
            s, SYSTEM_SEEDING, "SAHPRA reliance", RecognitionKind.approval, ["SAHPRA", "PPB"]
        )
        assert _check(s, world, **kenya) == []


def test_planning_reports_every_failed_rule_at_once_and_stores_nothing(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = build_world(session_factory)  # no certificate, no approval
    with session_scope(session_factory) as s:
        s.get(Patient, world.ids["patient_carlos"]).height_m = 1.96  # type: ignore[union-attr]
    maria = token(client, world, "therapist_madrid")
    body = {"patient_id": world.ids["patient_carlos"], "device_unit_id": world.ids["unit_madrid"]}
    response = client.post(f"{API}/sessions", json=body, headers=maria)
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"].endswith("/session-not-eligible")
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [
        ("therapist_id", "not-certified"),
        ("patient.height_m", "patient-too-tall"),
        ("device_unit.model_id", "model-not-approved"),
    ]
    assert "the patient is 1.96 m tall; the Strider X2 fits 1.50–1.95 m" in problem["detail"]
    with session_scope(session_factory) as s:
        assert s.scalars(select(TherapySession)).all() == []


def test_a_manual_booking_is_checked_like_the_solver_checks_its_own(
    session_factory: sessionmaker[Session],
) -> None:
    world = _baseline(session_factory)
    starts = datetime(2026, 6, 15, 9, tzinfo=UTC)  # a Monday
    with session_scope(session_factory) as s:
        # The scheduling rules hold too: the clinic is open and its therapist at work then.
        set_opening_hours(s, SYSTEM_SEEDING, world.ids["madrid"], {0: (time(8), time(18))})
        carlos = s.get(Patient, world.ids["patient_carlos"])
        assert carlos is not None
        carlos.height_m = 1.96  # too tall for the Strider X2 (1.50–1.95 m)
        with pytest.raises(SessionNotEligible) as refused:
            bookings.book_session(
                s, SYSTEM_SEEDING, world.ids["patient_carlos"], world.ids["unit_madrid"],
                world.ids["therapist_madrid"], starts,
            )  # fmt: skip
        assert [(r.field, r.code) for r in refused.value.refusals] == [
            ("patient.height_m", "patient-too-tall")
        ]
        carlos.height_m = 1.95
        booked = bookings.book_session(
            s, SYSTEM_SEEDING, world.ids["patient_carlos"], world.ids["unit_madrid"],
            world.ids["therapist_madrid"], starts,
        )  # fmt: skip
        booked_id = booked.id
    with session_scope(session_factory) as s:
        rows = s.scalars(select(BookedSession)).all()
        assert [(b.id, b.therapist_id) for b in rows] == [
            (booked_id, world.ids["therapist_madrid"])
        ]


def test_a_device_cannot_start_a_planned_session_that_breaks_the_rules(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = ready_world(session_factory)
    maria = token(client, world, "therapist_madrid")
    sid = plan(client, maria, world)["id"]
    # Her certificate runs out before the device is switched on.
    certify(session_factory, world, "therapist_madrid", expired=True)
    assert announce(client, device_secret(session_factory, world), world) == "stored"
    record = client.get(f"{API}/sessions/{sid}", headers=maria).json()
    assert (record["status"], record["telemetry_session_id"]) == ("planned", None)
    # The live path asks again while the device streams: still refused, audited once.
    with session_scope(session_factory) as s:
        recording = s.scalars(select(TelemetrySession)).one()
        assert telerehab_sessions.attach_telemetry(s, recording.id) is None
    with session_scope(session_factory) as s:
        refused = s.scalars(select(AuditEvent).where(AuditEvent.action == "start_refused")).all()
        assert [(e.entity_id, e.detail["errors"]) for e in refused] == [
            (sid, [{"field": "therapist_id", "code": "not-certified"}])
        ]


def test_running_a_session_needs_a_certificate_and_abort_needs_a_reason(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = ready_world(session_factory)
    maria = token(client, world, "therapist_madrid")
    sid = plan(client, maria, world)["id"]
    assert client.post(f"{API}/sessions/{sid}/start", headers=maria).status_code == 200

    certify(session_factory, world, "therapist_madrid", expired=True)
    paused = client.post(f"{API}/sessions/{sid}/pause", headers=maria)
    assert paused.status_code == 403 and paused.json()["type"].endswith("/not-certified")
    certify(session_factory, world, "therapist_madrid")

    for body in (None, {"reason": "   "}):
        refused = client.post(f"{API}/sessions/{sid}/abort", json=body, headers=maria)
        assert refused.status_code == 422, refused.text
        assert refused.json()["type"].endswith("/reason-required")
        assert refused.json()["errors"][0]["field"] == "reason"
    assert client.get(f"{API}/sessions/{sid}", headers=maria).json()["status"] == "started"

    aborted = client.post(
        f"{API}/sessions/{sid}/abort", json={"reason": "patient felt dizzy"}, headers=maria
    )
    assert aborted.status_code == 200
    assert (aborted.json()["status"], aborted.json()["end_reason"]) == (
        "aborted",
        "patient felt dizzy",
    )
    with session_scope(session_factory) as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "abort"))
        assert event is not None and event.detail["reason"] == "patient felt dizzy"
        assert event.entity_id == sid


def test_the_scheduler_offers_no_unit_whose_model_may_not_be_used_where_it_is(
    session_factory: sessionmaker[Session],
) -> None:
    world = _baseline(session_factory)  # CE only: usable in Spain, not in Kenya
    with session_scope(session_factory) as s:
        kenyan = devices.create_unit(
            s, SYSTEM_SEEDING, "SX2-0099", world.ids["model"], world.ids["nairobi"]
        )
        kenyan_id = kenyan.id
        for key, lat, lon in (("madrid", 40.42, -3.70), ("nairobi", -1.29, 36.82)):
            clinic = s.get(OrgUnit, world.ids[key])
            assert clinic is not None
            clinic.latitude, clinic.longitude = lat, lon
    with session_scope(session_factory) as s:
        built = problem_from_db.build_problem(s, date(2026, 6, 15), weeks=1)
        assert [u.id for u in built.problem.units] == [world.ids["unit_madrid"]]
        approve(
            s,
            SYSTEM_SEEDING,
            world.ids["model"],
            "PPB",
            ApprovalStatus.approved,
            date(2021, 1, 1),
            "-",
        )
    with session_scope(session_factory) as s:
        built = problem_from_db.build_problem(s, date(2026, 6, 15), weeks=1)
        assert sorted(u.id for u in built.problem.units) == sorted(
            [world.ids["unit_madrid"], kenyan_id]
        )
