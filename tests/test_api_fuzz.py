"""schemathesis over the whole OpenAPI: no input from any caller gives a 5xx or off-schema body.

Every generated case is sent anonymously, as a clinic admin and as a consortium operator, on
one SQLite database holding the test network (tests/world.py). The run is bounded for CI
(``MAX_EXAMPLES`` generated cases per operation and mode, derandomized so a failure repeats).
Generating a case costs several times more than answering it, so each case is generated once
and sent by every caller; the operations are split into ``PARTS`` tests that parallel workers
share.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from exoshare.app import create_app
from exoshare.config import Settings
from exoshare.db import make_engine, make_sessionmaker
from exoshare.runtime import runtime_of
from tests.conftest import fresh_database
from tests.world import World, build_world, token

MAX_EXAMPLES = 12
PARTS = 2
ROLES = ("anonymous", "admin_madrid", "operator")
KNOWN_IDS = {
    "org_unit_id": "madrid",
    "clinic_id": "madrid",
    "patient_id": "patient_carlos",
    "model_id": "model",
    "unit_id": "unit_madrid",
    "user_id": "therapist_madrid",
    "partner_id": "partner_madrid",
}


@pytest.fixture(scope="module")
def fuzz_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated SQLite file; PostgreSQL when EXOSHARE_API_FUZZ_BACKEND=postgresql (a longer
    run by hand: its refusals of NUL text and over-long values differ from SQLite's)."""
    backend = os.environ.get("EXOSHARE_API_FUZZ_BACKEND", "sqlite")
    directory = tmp_path_factory.mktemp("api-fuzz-db")
    with fresh_database(request, backend, directory, prefix="exo_fuzz") as url:
        yield url


@pytest.fixture(scope="module")
def fuzz_app(
    fuzz_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FastAPI, World]]:
    engine = make_engine(fuzz_database)
    world = build_world(make_sessionmaker(engine))
    engine.dispose()
    app = create_app(
        Settings(
            database_url=fuzz_database,
            data_dir=tmp_path_factory.mktemp("api-fuzz") / "data",
            secret_key="test-secret",
            cookie_secure=False,
            # Every generated sign-in comes from one address and most fail: throttling (tested
            # in tests/auth) would soon refuse the callers' own sign-ins with 429.
            login_free_failures_per_account=10**6,
            login_free_failures_per_address=10**6,
        )
    )
    yield app, world
    runtime_of(app).engine.dispose()


@pytest.fixture(scope="module")
def fuzz_client(fuzz_app: tuple[FastAPI, World]) -> Iterator[TestClient]:
    with TestClient(fuzz_app[0]) as client:
        yield client


@pytest.fixture(scope="module")
def api_schema(fuzz_app: tuple[FastAPI, World]) -> Any:
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzz_app[0])


_tokens: dict[str, dict[str, str]] = {}


def _headers(client: TestClient, world: World, role: str) -> dict[str, str]:
    if role == "anonymous":
        return {}
    if role not in _tokens:
        _tokens[role] = token(client, world, role)
    return _tokens[role]


def _known_ids(operation: Any, world: World) -> dict[str, str]:
    """Ids of the test network for the operation's path parameters, where it has them.

    Random ids only ever meet a 404; with real ones the generated bodies reach the services.
    """
    names = re.findall(r"{(\w+)}", operation.path)
    return {name: world.ids[KNOWN_IDS[name]] for name in names if name in KNOWN_IDS}


def _fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    client: TestClient,
    world: World,
    statuses: dict[str, Counter[int]],
) -> int:
    """Generated cases of one operation, each sent by every caller; returns how many cases."""
    sent = 0
    ids = _known_ids(operation, world) if mode is GenerationMode.POSITIVE else {}

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=ids or None))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        nonlocal sent
        sent += 1
        for role in ROLES:
            try:
                response = case.call_and_validate(
                    headers={**(case.headers or {}), **_headers(client, world, role)},
                    checks=[not_a_server_error, response_schema_conformance],
                )
            except Exception as exc:
                raise AssertionError(f"sent as {role}: {exc}") from exc
            statuses[role][response.status_code // 100] += 1
            if case.method == "DELETE" and case.path == "/api/v1/auth/token":
                _tokens.pop(role, None)  # that case revoked the token it was sent with

    run()
    return sent


@pytest.mark.parametrize("part", range(PARTS))
def test_no_server_error_and_schema_conformance(
    part: int,
    api_schema: Any,
    fuzz_app: tuple[FastAPI, World],
    fuzz_client: TestClient,
) -> None:
    failures: list[str] = []
    cases = 0
    # Responses per caller by status class (2 = 2xx, ...): proof the cases got past the door.
    statuses: dict[str, Counter[int]] = {role: Counter() for role in ROLES}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    for operation in operations[part::PARTS]:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                cases += _fuzz_operation(operation, mode, fuzz_client, fuzz_app[1], statuses)
            except Unsatisfiable:
                continue  # nothing in this operation can be made invalid (no parameters)
            except Exception as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    for role in ROLES:
        answered = ", ".join(f"{k}xx: {n}" for k, n in sorted(statuses[role].items()))
        print(f"{role}: {cases} cases ({answered})")
    print(f"{len(failures)} failing operations")
    # The signed-in callers' cases got past the door, not only refused.
    assert all(statuses[role][2] for role in ROLES if role != "anonymous"), statuses
    assert not failures, "\n\n".join(failures)
