"""Device-unit and org-unit writes by clinic admins: a foreign unit or org unit answers exactly
like a missing one, and nothing changes."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.db import session_scope
from exoshare.devices.models import DeviceUnit
from exoshare.network.models import OrgUnit
from tests.scope_checks import missing_id, same_refusal
from tests.world import build_world, token


def test_units_are_registered_and_changed_only_in_the_callers_clinic(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = build_world(session_factory)
    admin = token(client, world, "admin_madrid")
    nowhere = missing_id()
    unit = {"serial_number": "SX2-0999", "model_id": world.ids["model"]}
    foreign = client.post(
        "/api/v1/device-units", json={**unit, "org_unit_id": world.ids["barcelona"]}, headers=admin
    )
    missing = client.post(
        "/api/v1/device-units", json={**unit, "org_unit_id": nowhere}, headers=admin
    )
    assert same_refusal(foreign, world.ids["barcelona"], missing, nowhere)["status"] == 404
    status = {"status": "awaiting_repair", "reason": "motor noise"}
    foreign = client.put(
        f"/api/v1/device-units/{world.ids['unit_barcelona']}/status", json=status, headers=admin
    )
    missing = client.put(f"/api/v1/device-units/{nowhere}/status", json=status, headers=admin)
    assert same_refusal(foreign, world.ids["unit_barcelona"], missing, nowhere)["status"] == 404
    with session_scope(session_factory) as s:
        rows = s.execute(select(DeviceUnit.serial_number, DeviceUnit.status)).all()
    assert sorted(rows) == [("LT1-0001", "functioning"), ("SX2-0001", "functioning")]


def test_org_units_out_of_reach_answer_like_missing_ones(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = build_world(session_factory)
    admin = token(client, world, "admin_madrid")
    nowhere = missing_id()
    foreign = client.patch(
        f"/api/v1/org-units/{world.ids['nairobi']}", json={"name": "Renamed"}, headers=admin
    )
    missing = client.patch(f"/api/v1/org-units/{nowhere}", json={"name": "Renamed"}, headers=admin)
    assert same_refusal(foreign, world.ids["nairobi"], missing, nowhere)["status"] == 404
    child = {"code": "KE-NBO-02", "name": "Annex", "kind": "clinic"}
    foreign = client.post(
        "/api/v1/org-units", json={**child, "parent_id": world.ids["nairobi"]}, headers=admin
    )
    missing = client.post("/api/v1/org-units", json={**child, "parent_id": nowhere}, headers=admin)
    assert same_refusal(foreign, world.ids["nairobi"], missing, nowhere)["status"] == 404
    with session_scope(session_factory) as s:
        nairobi = s.get(OrgUnit, world.ids["nairobi"])
        assert nairobi is not None and nairobi.name == "Nairobi Clinic"
        assert s.scalar(select(OrgUnit.id).where(OrgUnit.code == "KE-NBO-02")) is None
