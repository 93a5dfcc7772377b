"""Usage metering and invoices through the HTTP API: idempotency, totals, rounding, immutability."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.fleet.invoices import round_money
from exoshare.fleet.metering import transaction_id_for
from exoshare.fleet.models import Invoice, InvoiceLine, UsageEvent
from exoshare.patients import service as patients
from exoshare.patients.schemas import Diagnosis, Sex
from tests.world import World, token


def _usage(
    client: TestClient, world: World, patient_key: str, start: str, who: str = "admin_madrid"
):
    return client.post(
        "/api/v1/usage-events",
        json={
            "unit_id": world.ids["unit_madrid"],
            "patient_id": world.ids[patient_key],
            "session_start": start,
            "session_end": (datetime.fromisoformat(start) + timedelta(hours=1)).isoformat(),
        },
        headers=token(client, world, who),
    )


def _third_patient(world: World, session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as s:
        record = patients.create_patient(
            s,
            SYSTEM_SEEDING,
            world.ids["madrid"],
            "MRN-pilar",
            "Pilar",
            "Test",
            Sex.female,
            date(1960, 1, 1),
            1.62,
            60.0,
            Diagnosis.stroke,
            date(2025, 1, 1),
            "es",
        )
        world.ids["patient_pilar"] = record.id


def _setup_october(
    client: TestClient, world: World, session_factory: sessionmaker[Session], price: str
) -> None:
    operator = token(client, world, "operator")
    lease = client.post(
        "/api/v1/leases",
        json={
            "unit_id": world.ids["unit_barcelona"],
            "clinic_id": world.ids["madrid"],
            "monthly_fee": "500.00",
            "starts_on": "2026-10-01",
            "ends_on": "2027-09-30",
        },
        headers=operator,
    )
    assert lease.status_code == 201, lease.text
    plan = client.post(
        "/api/v1/price-plans",
        json={
            "clinic_id": world.ids["madrid"],
            "kind": "per_patient_treated",
            "amount": price,
            "valid_from": "2026-01-01",
        },
        headers=operator,
    )
    assert plan.status_code == 201, plan.text
    _third_patient(world, session_factory)
    # Three patients in October, Madrid time (Carlos twice; Pilar at 00:30 on 1 October, which is
    # still 30 September in UTC); Lucía also in September, which is not October's.
    for key, start in (
        ("patient_carlos", "2026-10-05T09:00:00+02:00"),
        ("patient_carlos", "2026-10-07T09:00:00+02:00"),
        ("patient_lucia", "2026-10-05T09:00:00+02:00"),
        ("patient_pilar", "2026-10-01T00:30:00+02:00"),
        ("patient_lucia", "2026-09-30T09:00:00+02:00"),
    ):
        assert _usage(client, world, key, start).status_code == 201


def _invoice(client: TestClient, world: World) -> dict:
    response = client.post(
        "/api/v1/invoices",
        json={"clinic_id": world.ids["madrid"], "month": "2026-11-01"},
        headers=token(client, world, "operator"),
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_duplicate_usage_event_bills_once(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    first = _usage(client, world, "patient_carlos", "2026-10-05T09:00:00+02:00")
    assert first.status_code == 201, first.text
    # The same session reported again, with the start in another time zone: same instant.
    replay = _usage(client, world, "patient_carlos", "2026-10-05T07:00:00Z", who="therapist_madrid")
    assert replay.status_code == 200
    assert replay.json()["id"] == first.json()["id"]
    assert first.json()["transaction_id"] == transaction_id_for(
        world.ids["unit_madrid"],
        world.ids["patient_carlos"],
        datetime.fromisoformat("2026-10-05T07:00:00+00:00"),
    )
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(UsageEvent)) == 1


def test_usage_for_unknown_unit_or_foreign_patient_is_refused(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    unknown = client.post(
        "/api/v1/usage-events",
        json={
            "unit_id": "no-such-unit",
            "patient_id": world.ids["patient_carlos"],
            "session_start": "2026-10-05T09:00:00+02:00",
        },
        headers=token(client, world, "therapist_madrid"),
    )
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "unit_id"
    foreign = _usage(
        client, world, "patient_jordi", "2026-10-05T09:00:00+02:00", who="therapist_madrid"
    )
    assert foreign.status_code == 422
    assert foreign.json()["field"] == "patient_id"
    naive = client.post(
        "/api/v1/usage-events",
        json={
            "unit_id": world.ids["unit_madrid"],
            "patient_id": world.ids["patient_carlos"],
            "session_start": "2026-10-05T09:00:00",
        },
        headers=token(client, world, "therapist_madrid"),
    )
    assert naive.status_code == 422
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(UsageEvent)) == 0


def test_invoice_total_lease_plus_unique_patients(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    _setup_october(client, world, session_factory, "35.00")
    invoice = _invoice(client, world)
    assert invoice["number"] == "ES-MAD-01-2026-11"
    assert invoice["currency"] == "EUR"
    lines = [(x["kind"], Decimal(x["quantity"]), Decimal(x["amount"])) for x in invoice["lines"]]
    assert lines == [
        ("lease", Decimal(1), Decimal("500.00")),
        ("per_patient", Decimal(3), Decimal("105.00")),
    ]
    assert Decimal(invoice["total"]) == Decimal("605.00")


def test_per_patient_price_rounds_half_up_once_per_line(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    _setup_october(client, world, session_factory, "33.335")
    invoice = _invoice(client, world)
    per_patient = invoice["lines"][1]
    assert Decimal(per_patient["unit_price"]) == Decimal("33.335")
    assert Decimal(per_patient["amount"]) == Decimal("100.01")  # 3 × 33.335 = 100.005
    assert Decimal(invoice["total"]) == Decimal("600.01")
    assert round_money(Decimal("2.5"), "JPY") == Decimal("3")
    assert round_money(Decimal("1.0005"), "KWD") == Decimal("1.001")


def test_part_month_lease_is_pro_rata(client: TestClient, world: World) -> None:
    operator = token(client, world, "operator")
    client.post(
        "/api/v1/leases",
        json={
            "unit_id": world.ids["unit_barcelona"],
            "clinic_id": world.ids["madrid"],
            "monthly_fee": "500.00",
            "starts_on": "2026-11-21",
            "ends_on": "2027-01-31",
        },
        headers=operator,
    )
    invoice = _invoice(client, world)
    # 10 of November's 30 days: 500 × 10/30 = 166.666… → 166.67
    assert Decimal(invoice["total"]) == Decimal("166.67")


def test_issued_invoice_refuses_edits_and_nothing_changes(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    _setup_october(client, world, session_factory, "35.00")
    invoice = _invoice(client, world)
    operator = token(client, world, "operator")
    issued = client.post(f"/api/v1/invoices/{invoice['id']}/issue", headers=operator)
    assert issued.status_code == 200
    assert issued.json()["status"] == "issued"
    edit = client.patch(
        f"/api/v1/invoices/{invoice['id']}", json={"note": "discount"}, headers=operator
    )
    assert edit.status_code == 409
    assert "credit note" in edit.json()["detail"]
    redraft = client.post(
        "/api/v1/invoices",
        json={"clinic_id": world.ids["madrid"], "month": "2026-11-15"},
        headers=operator,
    )
    assert redraft.status_code == 409
    # A late usage report does not alter the issued document either.
    _usage(client, world, "patient_lucia", "2026-10-20T09:00:00+02:00")
    after = client.get(f"/api/v1/invoices/{invoice['id']}", headers=operator).json()
    assert (after["note"], after["total"], len(after["lines"])) == (None, invoice["total"], 2)
    # Underneath the service, the database refuses too.
    with pytest.raises(DBAPIError), session_scope(session_factory) as s:
        line = s.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice["id"])).first()
        assert line is not None
        line.amount = Decimal("0")
        s.flush()


def test_credit_note_corrects_an_issued_invoice(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    _setup_october(client, world, session_factory, "35.00")
    invoice = _invoice(client, world)
    operator = token(client, world, "operator")
    client.post(f"/api/v1/invoices/{invoice['id']}/issue", headers=operator)
    note = client.post(
        f"/api/v1/invoices/{invoice['id']}/credit-notes",
        json={"amount": "35.00", "reason": "Pilar's session was a free trial"},
        headers=operator,
    )
    assert note.status_code == 201, note.text
    body = note.json()
    assert (body["kind"], body["status"], Decimal(body["total"])) == (
        "credit_note",
        "issued",
        Decimal("-35.00"),
    )
    assert body["credited_invoice_id"] == invoice["id"]
    too_much = client.post(
        f"/api/v1/invoices/{invoice['id']}/credit-notes",
        json={"amount": "600.00", "reason": "everything"},
        headers=operator,
    )
    assert too_much.status_code == 422
    with session_factory() as s:
        totals = s.scalars(select(Invoice.total).where(Invoice.clinic_id == world.ids["madrid"]))
        assert sum(totals, Decimal(0)) == Decimal("570.00")


def test_clinic_admin_sees_only_own_invoices(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    _setup_october(client, world, session_factory, "35.00")
    madrid = _invoice(client, world)
    barcelona = client.post(
        "/api/v1/invoices",
        json={"clinic_id": world.ids["barcelona"], "month": "2026-11-01"},
        headers=token(client, world, "operator"),
    ).json()
    admin = token(client, world, "admin_madrid")
    listed = client.get("/api/v1/invoices", headers=admin).json()
    assert [i["number"] for i in listed] == [madrid["number"]]
    assert client.get(f"/api/v1/invoices/{barcelona['id']}", headers=admin).status_code == 404
    assert client.get(f"/api/v1/invoices/{madrid['id']}", headers=admin).status_code == 200
    # Reading is not preparing: the clinic cannot issue its own invoice.
    assert client.post(f"/api/v1/invoices/{madrid['id']}/issue", headers=admin).status_code == 403
    therapist = client.get("/api/v1/invoices", headers=token(client, world, "therapist_madrid"))
    assert therapist.json() == []
