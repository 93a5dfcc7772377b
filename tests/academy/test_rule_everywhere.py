"""A certificate the academy revokes stops its holder at once where telerehab asks the rule:
planning a session over HTTP (the scheduler's side, ``certified_models``, is in
test_certificates)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from exoshare.academy import certificates
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.runtime import runtime_of
from tests.telerehab.helpers import plan, ready_world
from tests.world import token


def test_telerehab_refuses_to_plan_for_a_therapist_whose_certificate_was_revoked(
    client: TestClient,
) -> None:
    factory = runtime_of(client.app).sessionmaker
    world = ready_world(factory)  # Maria certified for the Strider X2, which is CE marked
    maria = token(client, world, "therapist_madrid")
    assert plan(client, maria, world)["status"] == "planned"
    with session_scope(factory) as s:
        held = certificates.list_certificates(s, SYSTEM_SEEDING, world.ids["therapist_madrid"])
        assert [c.model_id for c in held] == [world.ids["model"]]
        certificates.revoke(s, SYSTEM_SEEDING, held[0].id, "retraining required after an incident")
    body = {"patient_id": world.ids["patient_carlos"], "device_unit_id": world.ids["unit_madrid"]}
    refused = client.post("/api/v1/telerehab/sessions", json=body, headers=maria)
    assert refused.status_code == 409
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
        ("therapist_id", "not-certified")
    ]
