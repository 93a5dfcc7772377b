"""The gate: the system principal for trusted internal callers, route permissions, and the one
caller lookup shared by HTTP and the live WebSocket."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.websockets import WebSocketDisconnect

from exoshare.auth.live_sockets import POLICY_VIOLATION
from exoshare.auth.models import AuditEvent, Invitation
from exoshare.auth.schemas import Role
from exoshare.auth.scope import (
    SYSTEM_CLI,
    SYSTEM_SEEDING,
    Permission,
    SystemPrincipal,
)
from exoshare.db import session_scope
from exoshare.patients import service as patients
from exoshare.patients.schemas import Diagnosis, Sex
from tests.telerehab.helpers import plan, ready_world
from tests.world import World, build_world, token


def test_the_system_principal_passes_every_scope_check_and_has_no_user() -> None:
    system = SystemPrincipal("import")
    assert (system.name, system.user_ref, system.is_system) == ("system:import", None, True)
    assert all(system.covers(p, "/any/clinic/path/") for p in Permission)
    assert system.paths_for(Permission.patients_write) == ["/"]
    assert system.may_grant(Role.consortium_operator, "/root/")
    # Operator-only actions are open to it; narrowing roles never apply.
    assert system.has_role(Role.consortium_operator)
    assert not system.has_role(Role.patient) and not system.has_role(Role.manufacturer)
    assert repr(SYSTEM_CLI) == "SystemPrincipal('cli')"
    with pytest.raises(ValueError):
        SystemPrincipal("two words")


def test_audit_rows_of_the_system_are_recognisable(
    session_factory: sessionmaker[Session],
) -> None:
    world = build_world(session_factory)
    with session_scope(session_factory) as s:
        seeded = patients.create_patient(
            s,
            SYSTEM_SEEDING,
            world.ids["madrid"],
            "MRN-SEED",
            "Ana",
            "Seed",
            Sex.female,
            date(1980, 1, 1),
            1.65,
            60.0,
            Diagnosis.stroke,
        ).id
    with session_scope(session_factory) as s:
        row = s.scalars(select(AuditEvent).where(AuditEvent.patient_id == seeded)).one()
        assert (row.action, row.user_id, row.user_agent) == ("create", None, "system:seeding")
        # No person's row looks like it: theirs carry the user.
        people = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.user_id.is_(None),
                or_(AuditEvent.user_agent.is_(None), AuditEvent.user_agent.not_like("system:%")),
            )
        )
        assert people == 0


def test_a_route_permission_is_checked_at_the_gate(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = build_world(session_factory)
    body = {
        "email": "new@test.exoshare.org",
        "role": "therapist",
        "org_unit_id": world.ids["madrid"],
    }
    refused = client.post(
        "/api/v1/users", json=body, headers=token(client, world, "therapist_madrid")
    )
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this needs the permission users:manage"
    with session_scope(session_factory) as s:
        assert s.scalar(select(Invitation.id).where(Invitation.email == body["email"])) is None
    made = client.post("/api/v1/users", json=body, headers=token(client, world, "admin_madrid"))
    assert made.status_code == 202, made.text
    with session_scope(session_factory) as s:
        invited = s.scalar(select(Invitation.id).where(Invitation.email == body["email"]))
        assert invited == made.json()["id"]


def test_pages_a_caller_may_not_use_do_not_exist_for_them(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = build_world(session_factory)
    carlos = token(client, world, "carlos")
    for page in ("/fleet", "/invoices", "/utilisation"):
        assert client.get(page, headers=carlos).status_code == 404, page
    assert client.get("/fleet", headers=token(client, world, "therapist_madrid")).status_code == 200


def _closed_with(client: TestClient, path: str, headers: dict[str, str]) -> int | None:
    """The close code of a socket closed before its first frame, or None when it opened."""
    with client.websocket_connect(path, headers=headers) as socket:
        try:
            socket.receive_text()
        except WebSocketDisconnect as closed:
            return closed.code
    return None


def test_the_live_websocket_and_http_find_their_caller_through_one_lookup(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world: World = ready_world(session_factory)
    maria = token(client, world, "therapist_madrid")
    sid = plan(client, maria, world)["id"]
    path = f"/api/v1/telerehab/sessions/{sid}/live"
    assert _closed_with(client, path, maria) is None
    # Headers the HTTP gate refuses find no caller on the socket either.
    for refused in ({"Authorization": "Basic bWFyaWE="}, {"Authorization": "Bearer exo_nope"}):
        assert client.get(f"/api/v1/telerehab/sessions/{sid}", headers=refused).status_code == 401
        assert _closed_with(client, path, refused) == POLICY_VIOLATION
