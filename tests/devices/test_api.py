"""Device models and units through the HTTP API, per caller."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.devices.models import DeviceModel, DeviceUnit
from tests.world import World, build_world, token


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return build_world(session_factory)


def _model(maker_id: str, **overrides: object) -> dict:
    body = {
        "name": "Strider X3",
        "maker_id": maker_id,
        "device_type": "overground_exoskeleton",
        "min_patient_height_m": 1.55,
        "max_patient_height_m": 1.9,
        "max_patient_weight_kg": 100,
        "power_requirements": "48 V battery, 5 h",
        "envelope": [
            {
                "setting": "guidance_force_pct",
                "unit": "%",
                "min_value": 0,
                "max_value": 100,
                "max_step": 10,
                "default_value": 60,
            }
        ],
    }
    return {**body, **overrides}


def test_manufacturer_registers_own_model_only(client: TestClient, world: World) -> None:
    headers = token(client, world, "manufacturer")
    own = client.post("/api/v1/device-models", json=_model(world.ids["maker"]), headers=headers)
    assert own.status_code == 201, own.text
    assert own.json()["envelope"][0]["max_step"] == 10
    other = client.get("/api/v1/partners?kind=manufacturer", headers=headers).json()["items"]
    other_id = next(p["id"] for p in other if p["id"] != world.ids["maker"])
    foreign = client.post(
        "/api/v1/device-models", json=_model(other_id, name="Fake"), headers=headers
    )
    assert foreign.status_code == 403


def test_bad_envelope_is_refused_naming_the_field(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = token(client, world, "manufacturer")
    body = _model(world.ids["maker"])
    body["envelope"][0]["default_value"] = 140
    response = client.post("/api/v1/device-models", json=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == "envelope.0.default_value"
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(DeviceModel)) == 2


def test_units_are_scoped_to_clinic(client: TestClient, world: World) -> None:
    madrid = client.get("/api/v1/device-units", headers=token(client, world, "therapist_madrid"))
    assert [u["serial_number"] for u in madrid.json()["items"]] == ["SX2-0001"]
    hidden = client.get(
        f"/api/v1/device-units/{world.ids['unit_barcelona']}",
        headers=token(client, world, "therapist_madrid"),
    )
    assert hidden.status_code == 404
    operator = client.get("/api/v1/device-units", headers=token(client, world, "operator"))
    assert operator.json()["total"] == 2


def test_manufacturer_sees_only_units_of_own_models(client: TestClient, world: World) -> None:
    response = client.get("/api/v1/device-units", headers=token(client, world, "manufacturer"))
    assert {u["serial_number"] for u in response.json()["items"]} == {"SX2-0001"}


def test_status_change_needs_reason(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = token(client, world, "admin_madrid")
    url = f"/api/v1/device-units/{world.ids['unit_madrid']}/status"
    refused = client.put(url, json={"status": "awaiting_repair"}, headers=headers)
    assert refused.status_code == 422 and refused.json()["field"] == "reason"
    ok = client.put(
        url, json={"status": "awaiting_repair", "reason": "knee actuator noise"}, headers=headers
    )
    assert ok.status_code == 200
    with session_factory() as s:
        unit = s.get(DeviceUnit, world.ids["unit_madrid"])
        assert unit is not None and unit.status_reason == "knee actuator noise"
    therapist = client.put(
        url,
        json={"status": "functioning"},
        headers=token(client, world, "therapist_madrid"),
    )
    assert therapist.status_code == 403


def test_duplicate_serial_conflicts(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/device-units",
        json={
            "serial_number": "SX2-0001",
            "model_id": world.ids["model"],
            "org_unit_id": world.ids["madrid"],
        },
        headers=token(client, world, "operator"),
    )
    assert response.status_code == 409
    assert response.json()["field"] == "serial_number"
