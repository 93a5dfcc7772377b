"""The partner registry through the API: who registers and edits, and bad input named."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.world import World, build_world, token


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return build_world(session_factory)


def test_a_clinic_keeps_its_own_partner_record_and_bad_input_changes_nothing(
    client: TestClient, world: World
) -> None:
    admin = token(client, world, "admin_madrid")
    made = client.post(
        "/api/v1/partners",
        json={"name": "Madrid Gait Lab", "kind": "university", "country_code": "ES",
              "org_unit_id": world.ids["madrid"], "offers": ["data", "data", "training"],
              "languages": ["es"]},
        headers=admin,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.json()["offers"] == ["data", "training"]  # each once, in the order given
    partner_url = f"/api/v1/partners/{made.json()['id']}"
    changed = client.patch(partner_url, json={"needs": ["funding"]}, headers=admin)
    assert (changed.json()["needs"], changed.json()["languages"]) == (["funding"], ["es"])
    # Barcelona's record is not Madrid's to change; a network partner is the operator's.
    barcelona = f"/api/v1/partners/{world.ids['partner_barcelona']}"
    assert client.patch(barcelona, json={"needs": []}, headers=admin).status_code == 403
    elsewhere = client.post(
        "/api/v1/partners",
        json={"name": "Lab", "kind": "ngo", "country_code": "ES"},
        headers=admin,
    )
    assert elsewhere.status_code == 403
    offering = client.get("/api/v1/partners", params={"offering": "training"}, headers=admin)
    assert [p["name"] for p in offering.json()["items"]] == ["Madrid Gait Lab"]

    # Bad input is named, and changes nothing.
    operator = token(client, world, "operator")
    url = f"/api/v1/partners/{world.ids['partner_madrid']}"
    assert client.patch(url, json={"languages": ["es"]}, headers=operator).status_code == 200
    cases = [
        ({"languages": ["Spanish"]}, "languages"),
        ({"countries": ["Spain"]}, "countries"),
        ({"offers": ["love"]}, "offers"),
        ({"website": "javascript:alert(1)"}, "website"),
        ({"name": None}, "name"),
    ]
    for body, field in cases:
        answer = client.patch(url, json=body, headers=operator)
        assert answer.status_code == 422, (body, answer.text)
        assert field in answer.text
    taken = client.patch(url, json={"name": "Barcelona Clinic"}, headers=operator)
    assert taken.status_code == 409 and taken.json()["field"] == "name"
    kept = client.get(url, headers=operator).json()
    assert (kept["name"], kept["languages"], kept["website"]) == ("Madrid Clinic", ["es"], None)
