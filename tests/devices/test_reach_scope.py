"""Approvals, recognition agreements and device models reach countries or the whole network:
an operator whose grant is on one country's subtree records only what stays inside it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth import service as auth
from exoshare.auth.schemas import Role
from exoshare.db import session_scope
from exoshare.devices.approvals.models import DeviceApproval, RecognitionAgreement
from exoshare.devices.models import DeviceModel
from exoshare.network.models import OrgUnit
from tests.devices.test_api import _model
from tests.world import PASSWORD, World, build_world, token


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    world = build_world(session_factory)
    with session_scope(session_factory) as s:
        kenya = s.scalar(select(OrgUnit).where(OrgUnit.code == "KE"))
        europe = s.get(OrgUnit, world.ids["europe"])
        assert kenya is not None and europe is not None
        for key, unit in (("operator_kenya", kenya), ("operator_europe", europe)):
            user = auth.create_user(s, f"{key}@test.exoshare.org", key.title(), PASSWORD)
            auth.add_grant(s, user, Role.consortium_operator, unit)
            world.ids[key], world.emails[key] = user.id, user.email
    return world


def _agreement(client: TestClient, headers: dict[str, str], members: list[str]) -> Response:
    body = {"name": "Reliance " + "-".join(members), "kind": "approval", "members": members}
    return client.post("/api/v1/recognition-agreements", json=body, headers=headers)


def _approval(client: TestClient, headers: dict[str, str], model_id: str, code: str) -> Response:
    body = {
        "jurisdiction": code,
        "status": "approved",
        "status_date": "2024-05-02",
        "indications": "Gait training after stroke (adults)",
    }
    return client.put(f"/api/v1/device-models/{model_id}/approvals", json=body, headers=headers)


def _count(factory: sessionmaker[Session], model: type) -> int:
    with session_scope(factory) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_a_country_operator_records_no_agreement_reaching_beyond_its_country(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    kenya = token(client, world, "operator_kenya")
    # CE reaches Spain (in the network, outside Kenya's subtree) and 29 countries not in it.
    refused = _agreement(client, kenya, ["CE", "PPB"])
    assert refused.status_code == 403, refused.text
    body = refused.json()
    assert body["field"] == "members"
    assert "ES" in body["detail"] and "KE" not in body["detail"].split("reaches")[1]
    # Nigeria has no org unit: only an operator of the whole network can speak for it.
    assert _agreement(client, kenya, ["PPB", "NAFDAC"]).status_code == 403
    assert _count(session_factory, RecognitionAgreement) == 0
    europe = token(client, world, "operator_europe")
    assert _agreement(client, europe, ["CE", "UKCA"]).status_code == 403
    assert _count(session_factory, RecognitionAgreement) == 0

    created = _agreement(client, token(client, world, "operator"), ["CE", "PPB"])
    assert created.status_code == 201, created.text
    with session_scope(session_factory) as s:
        assert s.scalars(select(RecognitionAgreement.members)).all() == [["CE", "PPB"]]


def test_a_country_operator_records_approvals_of_its_own_country_only(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    kenya = token(client, world, "operator_kenya")
    own = _approval(client, kenya, world.ids["model"], "PPB")
    assert own.status_code == 200, own.text
    for code in ("CE", "FDA"):
        refused = _approval(client, kenya, world.ids["model"], code)
        assert refused.status_code == 403, refused.text
        assert code in refused.json()["detail"]
    with session_scope(session_factory) as s:
        rows = s.execute(select(DeviceApproval.jurisdiction, DeviceApproval.recorded_by_id)).all()
    assert rows == [("PPB", world.ids["operator_kenya"])]
    # The operator of the whole network and the model's maker still record any jurisdiction.
    network = _approval(client, token(client, world, "operator"), world.ids["model"], "CE")
    assert network.status_code == 200, network.text
    maker = _approval(client, token(client, world, "manufacturer"), world.ids["model"], "FDA")
    assert maker.status_code == 200, maker.text
    assert _count(session_factory, DeviceApproval) == 3


def test_a_missing_model_answers_404_to_every_operator(client: TestClient, world: World) -> None:
    for key in ("operator", "operator_kenya"):
        response = _approval(client, token(client, world, key), "0" * 32, "PPB")
        assert response.status_code == 404, response.text
        assert response.json()["type"].endswith("/not-found")


def test_only_an_operator_of_the_whole_network_registers_another_makers_model(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    before = _count(session_factory, DeviceModel)
    refused = client.post(
        "/api/v1/device-models",
        json=_model(world.ids["maker"]),
        headers=token(client, world, "operator_kenya"),
    )
    assert refused.status_code == 403, refused.text
    assert "operator" in refused.json()["detail"]
    assert _count(session_factory, DeviceModel) == before
    created = client.post(
        "/api/v1/device-models",
        json=_model(world.ids["maker"]),
        headers=token(client, world, "operator"),
    )
    assert created.status_code == 201, created.text
    assert _count(session_factory, DeviceModel) == before + 1


def test_a_unit_under_a_country_cannot_claim_another_country(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    body = {
        "parent_id": world.ids["spain"],
        "code": "ES-NG-01",
        "name": "Lagos annex",
        "kind": "clinic",
        "country_code": "NG",
    }
    refused = client.post("/api/v1/org-units", json=body, headers=token(client, world, "operator"))
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "country_code"
    with session_scope(session_factory) as s:
        assert s.scalar(select(OrgUnit.id).where(OrgUnit.country_code == "NG")) is None
