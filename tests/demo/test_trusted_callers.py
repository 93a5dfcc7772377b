"""The service functions the demo calls as a trusted caller: what they find, and that a person's
principal is refused by those that read or write across every scope without an audit row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth import service as auth_service
from exoshare.auth.schemas import Role
from exoshare.auth.scope import SYSTEM_DEMO, Principal
from exoshare.db import session_scope
from exoshare.devices import service as devices_service
from exoshare.errors import PermissionDenied
from exoshare.network import service as network_service
from exoshare.network.schemas import OrgUnitKind
from exoshare.patients import service as patients_service
from exoshare.telerehab import sessions as telerehab_sessions
from tests.world import World, build_world

DOMAIN = "test.exoshare.org"


def _principal(s: Session, world: World, key: str) -> Principal:
    user = auth_service.user_by_email(s, SYSTEM_DEMO, world.emails[key])
    assert user is not None
    return auth_service.principal_for(s, user)


def test_trusted_lookups_find_the_world(session_factory: sessionmaker[Session]) -> None:
    world = build_world(session_factory)
    with session_scope(session_factory) as s:
        carlos = auth_service.user_by_email(s, SYSTEM_DEMO, f" CARLOS@{DOMAIN}")
        assert carlos is not None and carlos.id == world.ids["carlos"]
        assert auth_service.user_by_email(s, SYSTEM_DEMO, f"nobody@{DOMAIN}") is None
        assert auth_service.count_users(s, SYSTEM_DEMO) == 7
        therapists = auth_service.users_with_role_at(
            s, SYSTEM_DEMO, Role.therapist, world.ids["madrid"]
        )
        assert [u.email for u in therapists] == [f"therapist_madrid@{DOMAIN}"]
        grants = auth_service.active_grants_in_domain(s, SYSTEM_DEMO, DOMAIN)
        assert [(g.email.split("@")[0], g.role) for g in grants] == [
            ("admin_madrid", Role.clinic_admin),
            ("carlos", Role.patient),
            ("manufacturer", Role.manufacturer),
            ("operator", Role.consortium_operator),
            ("researcher", Role.researcher),
            ("therapist_barcelona", Role.therapist),
            ("therapist_madrid", Role.therapist),
        ]
        assert auth_service.active_grants_in_domain(s, SYSTEM_DEMO, "elsewhere.org") == []

        clinics = network_service.org_units_of_kind(s, SYSTEM_DEMO, OrgUnitKind.clinic)
        assert [c.code for c in clinics] == ["ES-BCN-01", "ES-MAD-01", "KE-NBO-01"]
        # Scoped like any read: a Madrid therapist sees only Madrid's clinic.
        therapist = _principal(s, world, "therapist_madrid")
        mine = network_service.org_units_of_kind(s, therapist, OrgUnitKind.clinic)
        assert [c.code for c in mine] == ["ES-MAD-01"]
        assert network_service.count_partners(s) == 5  # two makers and the three clinics

        madrid = world.ids["madrid"]
        # Both Madrid patients are 1.75 m and 78 kg.
        fitting = patients_service.clinic_patients(
            s, SYSTEM_DEMO, madrid, min_height_m=1.7, max_height_m=1.8, max_weight_kg=80.0
        )
        assert {p.id for p in fitting} == {world.ids["patient_carlos"], world.ids["patient_lucia"]}
        assert patients_service.clinic_patients(s, SYSTEM_DEMO, madrid, max_weight_kg=70.0) == []
        assert patients_service.clinic_patients(s, SYSTEM_DEMO, madrid, min_height_m=1.76) == []
        others = patients_service.clinic_patients(
            s, SYSTEM_DEMO, madrid, exclude_ids=[world.ids["patient_carlos"]]
        )
        assert [p.id for p in others] == [world.ids["patient_lucia"]]
        own = patients_service.clinic_patients(s, SYSTEM_DEMO, madrid, user_id=carlos.id)
        assert [p.id for p in own] == [world.ids["patient_carlos"]]
        assert patients_service.count_patients(s, SYSTEM_DEMO) == 4
        assert patients_service.count_patients(s, therapist) == 2

        assert [m.name for m in devices_service.all_models(s)] == ["Lumen T1", "Strider X2"]
        units = devices_service.all_units(s, SYSTEM_DEMO)
        assert [(u.serial_number, u.org_unit.code) for u in units] == [
            ("LT1-0001", "ES-BCN-01"),
            ("SX2-0001", "ES-MAD-01"),
        ]
        assert [u.serial_number for u in devices_service.all_units(s, therapist)] == ["SX2-0001"]


def test_a_persons_principal_is_refused(session_factory: sessionmaker[Session]) -> None:
    world = build_world(session_factory)
    with session_scope(session_factory) as s:
        operator = _principal(s, world, "operator")
        madrid = world.ids["madrid"]
        patient = patients_service.clinic_patients(s, SYSTEM_DEMO, madrid)[0]
        unit = devices_service.all_units(s, SYSTEM_DEMO)[1]
        now = datetime.now(UTC)
        calls: list[Callable[[], Any]] = [
            lambda: auth_service.user_by_email(s, operator, world.emails["carlos"]),
            lambda: auth_service.count_users(s, operator),
            lambda: auth_service.users_with_role_at(s, operator, Role.therapist, madrid),
            lambda: auth_service.active_grants_in_domain(s, operator, DOMAIN),
            lambda: auth_service.create_user_with_hash(s, operator, "x@y.org", "X", "hash"),
            lambda: patients_service.clinic_patients(s, operator, madrid),
            lambda: telerehab_sessions.record_completed_session(
                s, operator, patient, unit, world.ids["therapist_madrid"], now, now, "t", {}
            ),
            lambda: telerehab_sessions.abort_active_sessions(s, operator, "restart"),
        ]
        for call in calls:
            with pytest.raises(PermissionDenied):
                call()
