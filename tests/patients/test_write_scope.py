"""Patient writes by clinic admins and therapists: a foreign clinic, patient or login answers
exactly like a missing one, and nothing is written."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth import service as auth
from exoshare.auth.models import User
from exoshare.auth.schemas import Role
from exoshare.auth.service import principal_for
from exoshare.db import session_scope
from exoshare.errors import ExoshareError
from exoshare.network.models import OrgUnit
from exoshare.patients import service
from exoshare.patients.models import Patient
from exoshare.patients.schemas import Diagnosis, Sex
from tests.scope_checks import missing_id, same_refusal
from tests.world import PASSWORD, build_world, token

NEW = {
    "medical_record_number": "MRN-NEW",
    "given_name": "Nora",
    "family_name": "New",
    "sex": "female",
    "birth_date": "1975-02-03",
    "height_m": 1.68,
    "weight_kg": 64.0,
    "diagnosis": "stroke",
}


def _patients(factory: sessionmaker[Session]) -> int:
    with session_scope(factory) as s:
        return s.scalar(select(func.count()).select_from(Patient)) or 0


def test_records_are_added_only_to_the_callers_clinic(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = build_world(session_factory)
    before = _patients(session_factory)
    for who in ("admin_madrid", "therapist_madrid"):
        headers = token(client, world, who)
        nowhere = missing_id()
        foreign = client.post(
            "/api/v1/patients", json={**NEW, "clinic_id": world.ids["barcelona"]}, headers=headers
        )
        missing = client.post(
            "/api/v1/patients", json={**NEW, "clinic_id": nowhere}, headers=headers
        )
        assert same_refusal(foreign, world.ids["barcelona"], missing, nowhere)["status"] == 404
    assert _patients(session_factory) == before


def test_a_foreign_record_cannot_be_changed_or_voided(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = build_world(session_factory)
    headers = token(client, world, "therapist_madrid")
    jordi = world.ids["patient_jordi"]
    nowhere = missing_id()
    foreign = client.patch(f"/api/v1/patients/{jordi}", json={"height_m": 1.9}, headers=headers)
    missing = client.patch(f"/api/v1/patients/{nowhere}", json={"height_m": 1.9}, headers=headers)
    assert same_refusal(foreign, jordi, missing, nowhere)["status"] == 404
    foreign = client.post(
        f"/api/v1/patients/{jordi}/void", json={"reason": "duplicate record"}, headers=headers
    )
    missing = client.post(
        f"/api/v1/patients/{nowhere}/void", json={"reason": "duplicate record"}, headers=headers
    )
    assert same_refusal(foreign, jordi, missing, nowhere)["status"] == 404
    with session_scope(session_factory) as s:
        record = s.get(Patient, jordi)
        assert record is not None
        assert (record.height_m, record.voided) == (1.75, False)


def test_a_record_is_linked_only_to_a_login_the_caller_manages(
    session_factory: sessionmaker[Session],
) -> None:
    world = build_world(session_factory)
    with session_scope(session_factory) as s:
        madrid = s.get(OrgUnit, world.ids["madrid"])
        assert madrid is not None
        dana = auth.create_user(s, "dana@test.exoshare.org", "Dana", PASSWORD)
        auth.add_grant(s, dana, Role.patient, madrid)
        world.ids["dana"] = dana.id
    nowhere = missing_id()

    def create(user_id: str) -> str:
        with session_scope(session_factory) as s:
            admin = s.get(User, world.ids["admin_madrid"])
            assert admin is not None
            try:
                service.create_patient(
                    s, principal_for(s, admin), world.ids["madrid"], f"MRN-{user_id[:6]}",
                    "Link", "Test", Sex.male, date(1970, 1, 1), 1.8, 80.0, Diagnosis.stroke,
                    user_id=user_id,
                )  # fmt: skip
            except ExoshareError as exc:
                s.rollback()
                return f"{exc.detail} ({getattr(exc, 'field', None)})".replace(user_id, "<id>")
        return "done"

    # A Barcelona therapist's login is as unknown to Madrid's admin as no login at all.
    assert create(world.ids["therapist_barcelona"]) == create(nowhere)
    assert create(nowhere) == "user <id> does not exist (user_id)"
    assert create(world.ids["dana"]) == "done"
