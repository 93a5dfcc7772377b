"""Matchmaking through the API and its page: facts gathered from approvals, the fleet, language."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.world import World, build_world, token


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return build_world(session_factory)


def test_nairobi_needs_devices_madrid_lends_one_the_maker_has_an_approved_model(
    client: TestClient, world: World
) -> None:
    ids, operator = world.ids, token(client, world, "operator")
    # The Strider X2 (Andes Robotics) is approved in Kenya; the Lumen T1 (Baltic Motion, held
    # in Barcelona) is not, so Barcelona's unit is of no use to Nairobi.
    approval = client.put(
        f"/api/v1/device-models/{ids['model']}/approvals",
        json={"jurisdiction": "PPB", "status": "approved", "status_date": "2024-02-01",
              "indications": "gait rehabilitation"},
        headers=operator,
    )  # fmt: skip
    assert approval.status_code in (200, 201), approval.text
    profiles = {
        "partner_nairobi": {"languages": ["sw", "en"], "needs": ["devices"]},
        "partner_madrid": {"languages": ["es", "en"], "offers": ["devices"]},
        "partner_barcelona": {"languages": ["es", "ca"], "offers": ["devices"]},
        "maker": {"languages": ["es"], "offers": ["devices", "training"]},
    }
    for key, body in profiles.items():
        answer = client.patch(f"/api/v1/partners/{ids[key]}", json=body, headers=operator)
        assert answer.status_code == 200, answer.text

    found = client.get(
        f"/api/v1/partners/{ids['partner_nairobi']}/matches",
        params={"need": "devices"},
        headers=token(client, world, "therapist_madrid"),
    )
    assert found.status_code == 200, found.text
    matches = found.json()["matches"]
    # Madrid: 2·1/5 (one spare Strider X2) + 1 (English) = 1.4; Andes: 1 (a model approved in
    # KE) + 0 (no shared language) = 1.0; no coordinates, so no distance term.
    assert [(m["name"], m["score"]) for m in matches] == [
        ("Madrid Clinic", 1.4),
        ("Andes Robotics", 1.0),
    ]
    assert [r["text"] for r in matches[0]["reasons"]] == [
        "works in en",
        "1 spare unit(s) of models approved in KE",
    ]
    assert [r["text"] for r in matches[1]["reasons"]] == [
        "no language in common",
        "1 of its models approved in KE: Strider X2",
    ]

    page = client.get(
        f"/partners/{ids['partner_nairobi']}/matches?need=devices&lang=es", headers=operator
    )
    assert page.status_code == 200
    assert "trabaja en inglés" in page.text
    assert page.text.index("Madrid Clinic") < page.text.index("Andes Robotics")

    # A patient reads no network; an unknown need is named.
    url = f"/api/v1/partners/{ids['partner_nairobi']}/matches"
    denied = client.get(url, params={"need": "devices"}, headers=token(client, world, "carlos"))
    assert denied.status_code == 403
    wrong = client.get(url, params={"need": "love"}, headers=operator)
    assert wrong.status_code == 422 and "need" in wrong.text
