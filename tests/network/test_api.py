"""The network tree through the HTTP API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.world import World, build_world, token


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return build_world(session_factory)


def test_tree_counts_for_operator(client: TestClient, world: World) -> None:
    tree = client.get("/api/v1/network/tree", headers=token(client, world, "operator")).json()
    assert len(tree) == 1
    root = tree[0]
    assert (root["clinics"], root["patients"], root["device_units"]) == (3, 4, 2)
    europe = next(c for c in root["children"] if c["code"] == "EU")
    assert (europe["clinics"], europe["patients"]) == (2, 3)


def test_therapist_sees_only_own_subtree(client: TestClient, world: World) -> None:
    units = client.get("/api/v1/org-units", headers=token(client, world, "therapist_madrid"))
    assert [u["code"] for u in units.json()["items"]] == ["ES-MAD-01"]


def test_create_clinic_gets_path_and_level(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/org-units",
        json={
            "parent_id": world.ids["spain"],
            "code": "ES-VLC-01",
            "name": "Valencia Clinic",
            "kind": "clinic",
            "country_code": "ES",
        },
        headers=token(client, world, "operator"),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["level"] == 3
    assert body["path"].startswith(f"/{world.ids['root']}/{world.ids['europe']}/")
    assert body["path"].endswith(f"/{body['id']}/")


def test_clinic_cannot_sit_above_country(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/org-units",
        json={"parent_id": world.ids["madrid"], "code": "XX", "name": "X", "kind": "country"},
        headers=token(client, world, "operator"),
    )
    assert response.status_code == 422 and response.json()["field"] == "kind"


def test_closing_before_opening_is_refused(client: TestClient, world: World) -> None:
    headers = token(client, world, "therapist_madrid")
    response = client.patch(
        f"/api/v1/org-units/{world.ids['madrid']}", json={"name": "x"}, headers=headers
    )
    assert response.status_code == 403


def test_openapi_schema_is_served(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/patients/{patient_id}" in schema["paths"]
