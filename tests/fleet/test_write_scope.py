"""Fleet writes by every kind of caller: a foreign unit, patient, clinic or lease answers exactly
like a missing one, and nothing is written."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth import service as auth
from exoshare.auth.schemas import Role
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.fleet import leases, transfers
from exoshare.fleet.models import CustodyMovement, Lease, MaintenanceRecord, PricePlan, UsageEvent
from exoshare.network.models import OrgUnit
from tests.scope_checks import missing_id, same_refusal
from tests.world import PASSWORD, World, token

START = "2026-10-05T09:00:00+02:00"


def _count(factory: sessionmaker[Session], table: type) -> int:
    with session_scope(factory) as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def _usage(client: TestClient, headers: dict[str, str], unit_id: str, patient_id: str) -> Response:
    return client.post(
        "/api/v1/usage-events",
        json={"unit_id": unit_id, "patient_id": patient_id, "session_start": START},
        headers=headers,
    )


def _spain_operator(client: TestClient, world: World, factory: sessionmaker[Session]) -> dict:
    """An operator of the Spanish network only (a consortium_operator grant on Spain)."""
    with session_scope(factory) as s:
        user = auth.create_user(s, "ops-es@test.exoshare.org", "Ops Spain", PASSWORD)
        spain = s.get(OrgUnit, world.ids["spain"])
        assert spain is not None
        auth.add_grant(s, user, Role.consortium_operator, spain)
    world.emails["operator_spain"] = "ops-es@test.exoshare.org"
    return token(client, world, "operator_spain")


def test_usage_on_a_unit_of_another_clinic_is_refused_like_an_unknown_unit(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    """A Madrid therapist cannot meter a Barcelona unit, which would bill Barcelona."""
    for who in ("therapist_madrid", "admin_madrid"):
        headers = token(client, world, who)
        nowhere = missing_id()
        foreign = _usage(client, headers, world.ids["unit_barcelona"], world.ids["patient_carlos"])
        missing = _usage(client, headers, nowhere, world.ids["patient_carlos"])
        body = same_refusal(foreign, world.ids["unit_barcelona"], missing, nowhere)
        assert (foreign.status_code, body["field"]) == (422, "unit_id")
        assert body["detail"] == f"device unit {world.ids['unit_barcelona']} does not exist"
    assert _count(session_factory, UsageEvent) == 0


def test_usage_of_a_patient_of_another_clinic_is_refused_like_an_unknown_patient(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = token(client, world, "therapist_madrid")
    nowhere = missing_id()
    foreign = _usage(client, headers, world.ids["unit_madrid"], world.ids["patient_jordi"])
    missing = _usage(client, headers, world.ids["unit_madrid"], nowhere)
    body = same_refusal(foreign, world.ids["patient_jordi"], missing, nowhere)
    assert body["field"] == "patient_id"
    # The same caller meters its own unit and patient: the gate refuses ids, not the caller.
    own = _usage(client, headers, world.ids["unit_madrid"], world.ids["patient_carlos"])
    assert own.status_code == 201, own.text
    with session_scope(session_factory) as s:
        event = s.scalars(select(UsageEvent)).one()
        assert (event.unit_id, event.clinic_id) == (world.ids["unit_madrid"], world.ids["madrid"])


def test_usage_follows_custody_a_unit_moved_away_is_no_longer_the_clinics_to_meter(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as s:
        transfers.transfer_unit(
            s,
            SYSTEM_SEEDING,
            world.ids["unit_madrid"],
            world.ids["barcelona"],
            "loan",
            at=datetime(2026, 9, 1, tzinfo=UTC),
        )
    headers = token(client, world, "therapist_madrid")
    moved = _usage(client, headers, world.ids["unit_madrid"], world.ids["patient_carlos"])
    assert moved.status_code == 422 and moved.json()["field"] == "unit_id"
    assert _count(session_factory, UsageEvent) == 0


def test_maintenance_of_a_unit_outside_the_callers_clinic_answers_404_like_a_missing_one(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = token(client, world, "admin_madrid")
    body = {
        "kind": "repair",
        "starts_at": "2026-10-05T09:00:00+00:00",
        "ends_at": "2026-10-05T12:00:00+00:00",
    }
    nowhere = missing_id()
    foreign = client.post(
        f"/api/v1/device-units/{world.ids['unit_barcelona']}/maintenance",
        json=body,
        headers=headers,
    )
    missing = client.post(f"/api/v1/device-units/{nowhere}/maintenance", json=body, headers=headers)
    assert same_refusal(foreign, world.ids["unit_barcelona"], missing, nowhere)["status"] == 404
    own = client.post(
        f"/api/v1/device-units/{world.ids['unit_madrid']}/maintenance", json=body, headers=headers
    )
    assert own.status_code == 201, own.text
    assert _count(session_factory, MaintenanceRecord) == 1


def test_an_operator_of_one_country_leases_and_moves_only_within_it(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = _spain_operator(client, world, session_factory)
    lease = {
        "unit_id": world.ids["unit_madrid"],
        "monthly_fee": "500",
        "starts_on": "2026-11-01",
        "ends_on": "2026-12-31",
    }
    nowhere = missing_id()
    foreign = client.post(
        "/api/v1/leases", json={**lease, "clinic_id": world.ids["nairobi"]}, headers=headers
    )
    missing = client.post("/api/v1/leases", json={**lease, "clinic_id": nowhere}, headers=headers)
    assert same_refusal(foreign, world.ids["nairobi"], missing, nowhere)["field"] == "clinic_id"
    move = {"to_org_unit_id": world.ids["nairobi"], "reason": "loan"}
    url = f"/api/v1/device-units/{world.ids['unit_madrid']}/transfers"
    foreign = client.post(url, json=move, headers=headers)
    missing = client.post(url, json={**move, "to_org_unit_id": nowhere}, headers=headers)
    assert (
        same_refusal(foreign, world.ids["nairobi"], missing, nowhere)["field"] == "to_org_unit_id"
    )
    assert (_count(session_factory, Lease), _count(session_factory, CustodyMovement)) == (0, 0)


def test_a_lease_outside_the_callers_scope_cannot_be_renewed_or_returned(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as s:
        clinic = s.get(OrgUnit, world.ids["nairobi"])
        assert clinic is not None
        clinic.currency = "KES"
        # A Madrid unit lent to Nairobi: visible to Spain's operator (it owns the unit).
        spain_lease = leases.create_lease(
            s,
            SYSTEM_SEEDING,
            world.ids["unit_madrid"],
            world.ids["nairobi"],
            Decimal(500),
            date(2026, 11, 1),
            date(2026, 11, 30),
        ).id
        barcelona_lease = leases.create_lease(
            s,
            SYSTEM_SEEDING,
            world.ids["unit_barcelona"],
            world.ids["nairobi"],
            Decimal(500),
            date(2026, 11, 1),
            date(2026, 11, 30),
        ).id
    before = (_count(session_factory, Lease), _count(session_factory, CustodyMovement))
    # Madrid's clinic admin sees neither lease (fleet:read on Madrid; Nairobi holds them).
    headers = token(client, world, "admin_madrid")
    nowhere = missing_id()
    for action, payload in (
        ("renew", {"ends_on": "2027-01-31"}),
        ("return", {"returned_on": "2026-11-15"}),
    ):
        foreign = client.post(
            f"/api/v1/leases/{barcelona_lease}/{action}", json=payload, headers=headers
        )
        missing = client.post(f"/api/v1/leases/{nowhere}/{action}", json=payload, headers=headers)
        assert same_refusal(foreign, barcelona_lease, missing, nowhere)["status"] == 404
    # Madrid's admin sees its own unit's lease but may not change it: 403, not 404.
    seen = client.post(
        f"/api/v1/leases/{spain_lease}/return", json={"returned_on": "2026-11-15"}, headers=headers
    )
    assert seen.status_code == 403, seen.text
    assert (_count(session_factory, Lease), _count(session_factory, CustodyMovement)) == before


def test_price_plans_for_a_clinic_out_of_reach_answer_like_an_unknown_clinic(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = _spain_operator(client, world, session_factory)
    plan = {"kind": "per_patient_treated", "amount": "40", "valid_from": "2026-11-01"}
    nowhere = missing_id()
    foreign = client.post(
        "/api/v1/price-plans", json={**plan, "clinic_id": world.ids["nairobi"]}, headers=headers
    )
    missing = client.post(
        "/api/v1/price-plans", json={**plan, "clinic_id": nowhere}, headers=headers
    )
    assert same_refusal(foreign, world.ids["nairobi"], missing, nowhere)["field"] == "clinic_id"
    assert _count(session_factory, PricePlan) == 0
