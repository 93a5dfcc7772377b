"""Regulatory approvals and the eligibility query through the HTTP API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.devices.approvals.models import DeviceApproval
from exoshare.devices.approvals.service import approved_countries
from tests.world import World, build_world, token


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return build_world(session_factory)


def _approve(
    client: TestClient, headers: dict[str, str], model_id: str, code: str, status: str = "approved"
) -> dict:
    response = client.put(
        f"/api/v1/device-models/{model_id}/approvals",
        json={
            "jurisdiction": code,
            "status": status,
            "status_date": "2024-05-02",
            "indications": "Gait training after stroke and incomplete SCI (adults)",
            "reference": f"{code}-123",
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _agreement(client: TestClient, world: World, name: str, kind: str, members: list[str]) -> None:
    response = client.post(
        "/api/v1/recognition-agreements",
        json={"name": name, "kind": kind, "members": members},
        headers=token(client, world, "operator"),
    )
    assert response.status_code == 201, response.text


def _eligibility(client: TestClient, world: World, country: str) -> dict:
    response = client.get(
        f"/api/v1/device-models/{world.ids['model']}/eligibility?country={country}",
        headers=token(client, world, "therapist_madrid"),
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_manufacturer_records_approvals_of_own_models_only(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = token(client, world, "manufacturer")
    own = _approve(client, headers, world.ids["model"], "ce")
    assert own["jurisdiction"] == "CE"
    foreign = client.put(
        f"/api/v1/device-models/{world.ids['other_model']}/approvals",
        json={
            "jurisdiction": "FDA",
            "status": "approved",
            "status_date": "2024-01-01",
            "indications": "x",
        },
        headers=headers,
    )
    assert foreign.status_code == 403
    unknown = client.put(
        f"/api/v1/device-models/{world.ids['model']}/approvals",
        json={
            "jurisdiction": "XYZ",
            "status": "approved",
            "status_date": "2024-01-01",
            "indications": "x",
        },
        headers=headers,
    )
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "jurisdiction"
    therapist = client.put(
        f"/api/v1/device-models/{world.ids['model']}/approvals",
        json={
            "jurisdiction": "FDA",
            "status": "approved",
            "status_date": "2024-01-01",
            "indications": "x",
        },
        headers=token(client, world, "therapist_madrid"),
    )
    assert therapist.status_code == 403
    with session_factory() as s:
        rows = s.scalars(select(DeviceApproval)).all()
        assert [(r.model_id, r.jurisdiction) for r in rows] == [(world.ids["model"], "CE")]


def test_approved_directly(client: TestClient, world: World) -> None:
    _approve(client, token(client, world, "manufacturer"), world.ids["model"], "CE")
    answer = _eligibility(client, world, "ES")
    assert answer["eligible"] is True
    assert answer["basis"] == "direct"
    assert answer["jurisdictions"] == ["CE"]
    assert [a["jurisdiction"] for a in answer["approvals"]] == ["CE"]
    assert answer["routes"] == []


def test_approved_through_mutual_recognition(client: TestClient, world: World) -> None:
    _approve(client, token(client, world, "manufacturer"), world.ids["model"], "CE")
    _agreement(client, world, "East African reliance on CE", "approval", ["CE", "PPB"])
    answer = _eligibility(client, world, "KE")
    assert answer["eligible"] is True
    assert answer["basis"] == "mutual_recognition"
    assert answer["via_agreement"] == "East African reliance on CE"
    assert [a["jurisdiction"] for a in answer["approvals"]] == ["CE"]


def test_not_approved_names_the_routes_that_shorten_the_way(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = token(client, world, "manufacturer")
    _approve(client, headers, world.ids["model"], "FDA")
    _approve(client, headers, world.ids["model"], "CDSCO", status="pending")
    _agreement(client, world, "Indo-US trial data", "trial_data", ["FDA", "CDSCO"])
    answer = _eligibility(client, world, "IN")
    assert answer["eligible"] is False
    assert answer["basis"] is None
    kinds = sorted((r["kind"], r["via_jurisdiction"]) for r in answer["routes"])
    assert kinds == [("pending_application", None), ("trial_data_recognition", "FDA")]
    pending = next(r for r in answer["routes"] if r["kind"] == "pending_application")
    assert pending["explanation"] == "application to CDSCO pending since 2024-05-02"
    assert answer["explanation"] == "not approved by CDSCO; 2 route(s) would shorten the way"
    # A country no approval reaches has no routes at all.
    nowhere = _eligibility(client, world, "JP")
    assert (nowhere["eligible"], nowhere["routes"]) == (False, [])
    with session_factory() as s:
        countries = approved_countries(s)[world.ids["model"]]
    assert countries == {"US", "PR"}  # trial-data agreements do not open markets


def test_bad_country_and_unknown_model(client: TestClient, world: World) -> None:
    headers = token(client, world, "therapist_madrid")
    bad = client.get(
        f"/api/v1/device-models/{world.ids['model']}/eligibility?country=1X", headers=headers
    )
    assert bad.status_code == 422
    missing = client.get("/api/v1/device-models/nope/eligibility?country=ES", headers=headers)
    assert missing.status_code == 404
