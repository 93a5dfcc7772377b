"""Treatment plans: a change makes a new version with who, when and why, and a diff; planned
settings outside the device model's safety envelope are refused, naming week and setting."""

from __future__ import annotations

from exoshare.careplan.plans import SCALAR_FIELDS
from exoshare.web import labels
from tests.careplan.conftest import CareEnv, plan_body


def test_every_field_a_diff_names_has_words() -> None:
    named = {name.removesuffix("_id") for name in SCALAR_FIELDS} | {"goals"}
    assert named == set(labels.PLAN_FIELD)


def test_a_change_is_version_2_with_its_reason_and_diff(care: CareEnv) -> None:
    client, world, maria = care.client, care.world, care.maria
    created = client.post("/api/v1/careplan/plans", json=plan_body(world), headers=maria)
    assert created.status_code == 201, created.text
    plan = created.json()
    assert plan["current_version"] == 1 and plan["current"]["reason"] is None

    revision = plan_body(world, sessions_per_week=4, based_on_version=1, reason="tolerates more")
    revision.pop("patient_id"), revision.pop("title")
    revision["goals"] = ["Walk 10 m indoors with a cane", "Walk 50 m outdoors with a cane"]
    revision["progression"][1]["settings"]["guidance_force_pct"] = 65
    revised = client.post(
        f"/api/v1/careplan/plans/{plan['id']}/versions", json=revision, headers=maria
    )
    assert revised.status_code == 200, revised.text
    body = revised.json()
    assert body["current_version"] == 2
    assert [v["version"] for v in body["versions"]] == [1, 2]
    assert body["current"]["reason"] == "tolerates more"
    assert body["current"]["author_id"] == world.ids["therapist_madrid"]
    # Version 1 stays readable as it was.
    assert body["versions"][0]["sessions_per_week"] == 3
    assert body["versions"][0]["progression"][1] == {
        "week": 2,
        "settings": {"guidance_force_pct": 70.0},
    }

    diff = client.get(f"/api/v1/careplan/plans/{plan['id']}/diff?from=1&to=2", headers=maria)
    assert diff.status_code == 200, diff.text
    assert diff.json()["changes"] == [
        {"field": "sessions_per_week", "before": "3", "after": "4"},
        {"field": "goals", "before": "Stand up from a chair unaided", "after": None},
        {"field": "goals", "before": None, "after": "Walk 50 m outdoors with a cane"},
        {"field": "week 2: guidance_force_pct", "before": "70", "after": "65"},
    ]

    # A change based on version 1 now would undo version 2 unseen: refused.
    stale = client.post(
        f"/api/v1/careplan/plans/{plan['id']}/versions", json=revision, headers=maria
    )
    assert stale.status_code == 409
    assert stale.json()["type"].endswith("plan-version-stale")

    page = client.get(f"/careplan/plans/{plan['id']}?from=1&to=2", headers=maria)
    assert page.status_code == 200
    assert "tolerates more" in page.text and "Walk 50 m outdoors with a cane" in page.text


def test_a_planned_setting_outside_the_envelope_is_refused_and_nothing_stored(
    care: CareEnv,
) -> None:
    client, world, maria = care.client, care.world, care.maria
    plans_url = f"/api/v1/careplan/patients/{world.ids['patient_carlos']}/plans"
    before = client.get(plans_url, headers=maria).json()
    body = plan_body(world)
    body["progression"][2]["settings"]["guidance_force_pct"] = 120
    refused = client.post("/api/v1/careplan/plans", json=body, headers=maria)
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"].endswith("setting-outside-envelope")
    assert problem["errors"][0]["field"] == "progression.2.settings.guidance_force_pct"
    assert "week 3" in problem["detail"] and "0–100 %" in problem["detail"]

    body["progression"][2]["settings"] = {"treadmill_speed_mps": 0.5}  # the Lumen T1's setting
    unknown = client.post("/api/v1/careplan/plans", json=body, headers=maria)
    assert unknown.status_code == 422
    assert unknown.json()["type"].endswith("unknown-setting")

    body["progression"] = [{"week": 9, "settings": {"guidance_force_pct": 50}}]
    late = client.post("/api/v1/careplan/plans", json=body, headers=maria)
    assert late.status_code == 422
    assert "after the course ends (it has 4 weeks)" in late.json()["detail"]

    assert client.get(plans_url, headers=maria).json() == before
