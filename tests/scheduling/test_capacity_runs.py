"""Capacity advice runs in SQL: started through the API, run in the background, stored, and
read by the operator alone."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.scheduling import capacity
from exoshare.scheduling.models import CapacityAdvice, CapacityRun
from tests.scheduling.test_service import MONDAY, madrid_world
from tests.world import token


def test_a_run_is_stored_with_its_ranked_advice_and_only_the_operator_reads_it(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = madrid_world(session_factory)
    operator = token(client, world, "operator")
    started = client.post(
        "/api/v1/capacity-runs",
        json={"start": str(MONDAY), "weeks": 2, "seeds": 1},
        headers=operator,
    )
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "queued"
    run_id = started.json()["id"]
    # The test client runs the background task before it returns: the run is done.
    run = client.get(f"/api/v1/capacity-runs/{run_id}", headers=operator).json()
    assert run["status"] == "done", run
    # Madrid: one unit, one certified therapist working every open day, so the candidates are
    # one more unit there and a relief therapist's Monday (no therapist of Barcelona or Nairobi
    # is certified for the model).
    assert sorted((a["kind"], a["clinic_id"], a["model_id"]) for a in run["advice"]) == [
        ("therapist_day", world.ids["madrid"], None),
        ("unit", world.ids["madrid"], world.ids["model"]),
    ]
    assert [a["rank"] for a in run["advice"]] == [1, 2]
    # 1 seed × (the network as it is + 2 changes); the 3 waiting entries.
    assert (run["runs_done"], run["runs_total"], run["patients_waiting"]) == (3, 3, 3)
    # Carlos and Lucia (2 sessions a week) fit into the one unit's 10 weekly slots: neither
    # change starts anybody more.
    assert [a["extra_patients"] for a in run["advice"]] == [0.0, 0.0]
    assert run["baseline_wait_days"] > 0
    listed = client.get("/api/v1/capacity-runs", headers=operator).json()
    assert [r["id"] for r in listed] == [run_id]

    # Anyone else: the run does not exist (same answer as a missing id), the list is refused.
    admin = token(client, world, "admin_madrid")
    foreign = client.get(f"/api/v1/capacity-runs/{run_id}", headers=admin)
    missing = client.get("/api/v1/capacity-runs/no-such-run", headers=admin)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["type"] == missing.json()["type"]
    assert client.get("/api/v1/capacity-runs", headers=admin).status_code == 403
    refused = client.post(
        "/api/v1/capacity-runs", json={"start": str(MONDAY), "weeks": 2}, headers=admin
    )
    assert refused.status_code == 403
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(CapacityRun)) == 1
        assert s.scalar(select(func.count()).select_from(CapacityAdvice)) == 2


def test_bad_input_and_a_run_under_way_are_refused_and_store_nothing(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = madrid_world(session_factory)
    operator = token(client, world, "operator")
    too_short = client.post(
        "/api/v1/capacity-runs", json={"start": str(MONDAY), "weeks": 1}, headers=operator
    )
    assert too_short.status_code == 422
    assert "weeks" in too_short.text
    with session_scope(session_factory) as s:
        queued = capacity.start_capacity_run(s, SYSTEM_SEEDING, MONDAY, weeks=2, seeds=1).id
    busy = client.post(
        "/api/v1/capacity-runs", json={"start": str(MONDAY), "weeks": 2}, headers=operator
    )
    assert busy.status_code == 409
    assert busy.json()["type"].endswith("/capacity-run-busy")
    assert queued in busy.json()["detail"]
    with session_factory() as s:
        assert s.scalars(select(CapacityRun.id)).all() == [queued]
