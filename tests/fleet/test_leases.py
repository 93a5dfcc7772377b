"""Leases, custody and maintenance through the HTTP API, and lease races on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.errors import ExoshareError
from exoshare.fleet import custody, leases
from exoshare.fleet.models import CustodyMovement, Lease
from tests.world import World, token


def _lease(client: TestClient, world: World, starts: str, ends: str, clinic: str = "barcelona"):
    return client.post(
        "/api/v1/leases",
        json={
            "unit_id": world.ids["unit_madrid"],
            "clinic_id": world.ids[clinic],
            "monthly_fee": "500.00",
            "starts_on": starts,
            "ends_on": ends,
        },
        headers=token(client, world, "operator"),
    )


def test_overlapping_lease_is_409_naming_the_conflicting_lease(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    first = _lease(client, world, "2026-01-01", "2026-06-30")
    assert first.status_code == 201, first.text
    assert first.json()["currency"] == "EUR"
    clash = _lease(client, world, "2026-06-30", "2026-09-30", clinic="nairobi")
    assert clash.status_code == 409
    body = clash.json()
    assert body["conflicting_lease_id"] == first.json()["id"]
    assert first.json()["id"] in body["detail"]
    assert "ES-BCN-01 from 2026-01-01 to 2026-06-30" in body["detail"]
    # Back to back is fine: the first lease's last day is 30 June.
    after = _lease(client, world, "2026-07-01", "2026-07-31")
    assert after.status_code == 201, after.text
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Lease)) == 2


def test_clinic_admin_may_not_lease_out_units(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/leases",
        json={
            "unit_id": world.ids["unit_madrid"],
            "clinic_id": world.ids["barcelona"],
            "monthly_fee": "500.00",
            "starts_on": "2026-01-01",
            "ends_on": "2026-02-01",
        },
        headers=token(client, world, "admin_madrid"),
    )
    assert response.status_code == 403


def test_transfer_of_unit_on_lease_is_refused_and_history_unchanged(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    lease = _lease(client, world, "2020-01-01", "2099-12-31").json()
    with session_factory() as s:
        before = s.scalar(select(func.count()).select_from(CustodyMovement))
    assert before == 2  # the delivery to Barcelona: one out, one in
    response = client.post(
        f"/api/v1/device-units/{world.ids['unit_madrid']}/transfers",
        json={"to_org_unit_id": world.ids["nairobi"], "reason": "busier clinic"},
        headers=token(client, world, "operator"),
    )
    assert response.status_code == 409
    assert response.json()["lease_id"] == lease["id"]
    assert "out on lease" in response.json()["detail"]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(CustodyMovement)) == before


def test_transfer_appends_out_and_in_and_holder_is_derived(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    operator = token(client, world, "operator")
    unit = world.ids["unit_madrid"]
    moved = client.post(
        f"/api/v1/device-units/{unit}/transfers",
        json={
            "to_org_unit_id": world.ids["nairobi"],
            "reason": "idle in Madrid, 30 waiting in Nairobi",
            "at": "2025-01-10T09:00:00Z",
        },
        headers=operator,
    )
    assert moved.status_code == 201, moved.text
    legs = moved.json()
    assert [(m["direction"], m["org_unit_id"]) for m in legs] == [
        ("out", world.ids["madrid"]),
        ("in", world.ids["nairobi"]),
    ]
    assert legs[0]["transfer_id"] == legs[1]["transfer_id"]
    history = client.get(f"/api/v1/device-units/{unit}/custody", headers=operator).json()
    assert len(history) == 2
    fleet = {u["unit_id"]: u for u in client.get("/api/v1/fleet", headers=operator).json()}
    assert fleet[unit]["holder_code"] == "KE-NBO-01"
    assert fleet[unit]["owner_id"] == world.ids["madrid"]  # ownership does not move
    with session_factory() as s:
        assert (
            custody.current_holder(s, unit, datetime(2025, 1, 9, tzinfo=UTC)) == world.ids["madrid"]
        )
    again = client.post(
        f"/api/v1/device-units/{unit}/transfers",
        json={"to_org_unit_id": world.ids["nairobi"], "reason": "again"},
        headers=operator,
    )
    assert again.status_code == 409


def test_custody_is_append_only_in_the_database(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    _lease(client, world, "2026-01-01", "2026-01-31")
    with pytest.raises(DBAPIError), session_scope(session_factory) as s:
        movement = s.scalars(select(CustodyMovement)).first()
        assert movement is not None
        movement.reason = "rewritten history"
        s.flush()


def test_renewal_and_early_return(client: TestClient, world: World) -> None:
    operator = token(client, world, "operator")
    lease = _lease(client, world, "2025-01-01", "2025-03-31").json()
    renewal = client.post(
        f"/api/v1/leases/{lease['id']}/renewals", json={"ends_on": "2025-06-30"}, headers=operator
    )
    assert renewal.status_code == 201, renewal.text
    assert (renewal.json()["starts_on"], renewal.json()["renewed_from_id"]) == (
        "2025-04-01",
        lease["id"],
    )
    back = client.post(
        f"/api/v1/leases/{renewal.json()['id']}/return",
        json={"returned_on": "2025-05-15"},
        headers=operator,
    )
    assert back.status_code == 200, back.text
    assert back.json()["returned_on"] == "2025-05-15"
    # The unit is free again from 16 May, so a new lease may start then.
    assert _lease(client, world, "2025-05-16", "2025-05-31", clinic="nairobi").status_code == 201
    history = client.get(
        f"/api/v1/device-units/{world.ids['unit_madrid']}/custody", headers=operator
    ).json()
    ins = [(m["org_unit_id"], m["at"][:10]) for m in history if m["direction"] == "in"]
    assert ins == [
        (world.ids["barcelona"], "2025-01-01"),
        (world.ids["madrid"], "2025-05-16"),
        (world.ids["nairobi"], "2025-05-16"),
    ]


def test_maintenance_blocks_and_shows_in_fleet(client: TestClient, world: World) -> None:
    admin = token(client, world, "admin_madrid")
    unit = world.ids["unit_madrid"]
    response = client.post(
        f"/api/v1/device-units/{unit}/maintenance",
        json={
            "kind": "calibration",
            "starts_at": "2020-01-01T08:00:00Z",
            "ends_at": "2099-01-01T08:00:00Z",
            "performed_by": "Andes Robotics field service",
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    fleet = client.get("/api/v1/fleet", headers=admin).json()
    assert [(u["serial_number"], u["in_maintenance"], u["available"]) for u in fleet] == [
        ("SX2-0001", True, False)
    ]
    wrong = client.post(
        f"/api/v1/device-units/{unit}/maintenance",
        json={
            "kind": "repair",
            "starts_at": "2026-01-02T08:00:00Z",
            "ends_at": "2026-01-01T08:00:00Z",
        },
        headers=admin,
    )
    assert wrong.status_code == 422
    assert wrong.json()["field"] == "ends_at"


def test_clinic_sees_only_its_fleet(client: TestClient, world: World) -> None:
    madrid = client.get("/api/v1/fleet", headers=token(client, world, "admin_madrid")).json()
    assert [u["serial_number"] for u in madrid] == ["SX2-0001"]
    hidden = client.get(
        f"/api/v1/device-units/{world.ids['unit_barcelona']}/custody",
        headers=token(client, world, "admin_madrid"),
    )
    assert hidden.status_code == 404
    assert client.get("/api/v1/fleet", headers=token(client, world, "researcher")).json() == []


def test_two_concurrent_overlapping_leases_exactly_one_wins(
    database_url: str, world: World, session_factory: sessionmaker[Session]
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite serialises all writers; the race needs PostgreSQL's concurrency")
    barrier = threading.Barrier(2)
    results: list[str] = []

    def lease(clinic_key: str, starts: date) -> None:
        try:
            barrier.wait()
            with session_scope(session_factory) as s:
                leases.create_lease(
                    s,
                    SYSTEM_SEEDING,
                    world.ids["unit_madrid"],
                    world.ids[clinic_key],
                    Decimal("500"),
                    starts,
                    date(2026, 12, 31),
                )
            results.append("won")
        except ExoshareError as exc:
            results.append(type(exc).__name__)

    threads = [
        threading.Thread(target=lease, args=("barcelona", date(2026, 1, 1))),
        threading.Thread(target=lease, args=("nairobi", date(2026, 3, 1))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["LeaseConflict", "won"]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Lease)) == 1


def test_database_refuses_overlap_even_past_the_service(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    def raw(starts: date, ends: date) -> Lease:
        return Lease(
            unit_id=world.ids["unit_madrid"],
            clinic_id=world.ids["barcelona"],
            monthly_fee=Decimal("500"),
            currency="EUR",
            starts_on=starts,
            ends_on=ends,
        )

    with session_scope(session_factory) as s:
        s.add(raw(date(2026, 1, 1), date(2026, 1, 31)))
    with pytest.raises(DBAPIError), session_scope(session_factory) as s:
        s.add(raw(date(2026, 1, 31), date(2026, 2, 28)))
        s.flush()
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Lease)) == 1


def test_a_lease_insert_chosen_to_break_a_deadlock_is_tried_again(
    world: World, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Deadlock(Exception):
        sqlstate = leases.DEADLOCK_DETECTED

    flushes = []
    real_flush = Session.flush

    def flush_once_deadlocked(self: Session, *args: object, **kwargs: object) -> None:
        if any(isinstance(o, Lease) for o in self.new):
            flushes.append(1)
            if len(flushes) == 1:
                raise OperationalError("INSERT INTO leases ...", {}, Deadlock())
        real_flush(self, *args, **kwargs)  # type: ignore[arg-type]

    with session_scope(session_factory) as s:
        monkeypatch.setattr(Session, "flush", flush_once_deadlocked)
        lease = leases.create_lease(
            s,
            SYSTEM_SEEDING,
            world.ids["unit_madrid"],
            world.ids["barcelona"],
            Decimal("500"),
            date(2026, 1, 1),
            date(2026, 6, 30),
        )
        monkeypatch.undo()
    assert len(flushes) == 2  # the deadlocked insert, then the one that stored it
    with session_scope(session_factory) as s:
        assert s.get(Lease, lease.id) is not None
