"""A small, hand-checkable network for tests: two clinics in Spain, one in Kenya, their people."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth import service as auth
from exoshare.auth.schemas import Role
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.devices import service as devices
from exoshare.devices.envelope import SettingLimit
from exoshare.devices.schemas import DeviceType
from exoshare.network import partners
from exoshare.network import service as network
from exoshare.network.schemas import OrgUnitKind, PartnerKind
from exoshare.patients import service as patients
from exoshare.patients.schemas import Diagnosis, Sex

PASSWORD = "correct-horse-battery"


@dataclass
class World:
    ids: dict[str, str] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)


def build_world(factory: sessionmaker[Session]) -> World:
    world = World()
    with session_scope(factory) as s:
        root = network.create_org_unit(s, "EXO", "Test Consortium", OrgUnitKind.consortium, None)
        europe = network.create_org_unit(s, "EU", "Europe", OrgUnitKind.region, root)
        spain = network.create_org_unit(
            s, "ES", "Spain", OrgUnitKind.country, europe, country_code="ES"
        )
        madrid = network.create_org_unit(
            s,
            "ES-MAD-01",
            "Madrid Clinic",
            OrgUnitKind.clinic,
            spain,
            country_code="ES",
            city="Madrid",
        )
        barcelona = network.create_org_unit(
            s,
            "ES-BCN-01",
            "Barcelona Clinic",
            OrgUnitKind.clinic,
            spain,
            country_code="ES",
            city="Barcelona",
        )
        africa = network.create_org_unit(s, "AF", "Africa", OrgUnitKind.region, root)
        kenya = network.create_org_unit(
            s, "KE", "Kenya", OrgUnitKind.country, africa, country_code="KE"
        )
        nairobi = network.create_org_unit(
            s,
            "KE-NBO-01",
            "Nairobi Clinic",
            OrgUnitKind.clinic,
            kenya,
            country_code="KE",
            city="Nairobi",
        )
        maker = partners.create_partner(
            s, SYSTEM_SEEDING, "Andes Robotics", PartnerKind.manufacturer, "CL"
        )
        other_maker = partners.create_partner(
            s, SYSTEM_SEEDING, "Baltic Motion", PartnerKind.manufacturer, "EE"
        )
        for key, clinic in (("madrid", madrid), ("barcelona", barcelona), ("nairobi", nairobi)):
            world.ids[f"partner_{key}"] = partners.create_partner(
                s,
                SYSTEM_SEEDING,
                clinic.name,
                PartnerKind.clinic_operator,
                clinic.country_code or "",
                org_unit_id=clinic.id,
            ).id
        model = devices.create_model(
            s,
            SYSTEM_SEEDING,
            "Strider X2",
            maker.id,
            DeviceType.overground_exoskeleton,
            1.5,
            1.95,
            110,
            "battery 4 h",
            [SettingLimit("guidance_force_pct", "%", 0, 100, 10, 50)],
        )
        other_model = devices.create_model(
            s,
            SYSTEM_SEEDING,
            "Lumen T1",
            other_maker.id,
            DeviceType.treadmill_gait_trainer,
            1.0,
            2.0,
            135,
            "230 V AC",
            [SettingLimit("treadmill_speed_mps", "m/s", 0.1, 3.2, 0.2, 0.5)],
        )
        unit_madrid = devices.create_unit(s, SYSTEM_SEEDING, "SX2-0001", model.id, madrid.id)
        unit_barcelona = devices.create_unit(
            s, SYSTEM_SEEDING, "LT1-0001", other_model.id, barcelona.id
        )

        def person(key: str, role: Role, unit_id: str, partner_id: str | None = None) -> None:
            user = auth.create_user(
                s,
                f"{key}@test.exoshare.org",
                key.replace("_", " ").title(),
                PASSWORD,
                partner_id=partner_id,
            )
            auth.add_grant(s, user, role, s.get(type(root), unit_id))  # type: ignore[arg-type]
            world.ids[key] = user.id
            world.emails[key] = user.email

        person("operator", Role.consortium_operator, root.id)
        person("admin_madrid", Role.clinic_admin, madrid.id)
        person("therapist_madrid", Role.therapist, madrid.id)
        person("therapist_barcelona", Role.therapist, barcelona.id)
        person("manufacturer", Role.manufacturer, root.id, partner_id=maker.id)
        person("researcher", Role.researcher, root.id)
        person("carlos", Role.patient, madrid.id)

        def patient(key: str, clinic_id: str, user_key: str | None = None) -> None:
            record = patients.create_patient(
                s,
                SYSTEM_SEEDING,
                clinic_id,
                f"MRN-{key}",
                key.title(),
                "Test",
                Sex.male,
                date(1970, 5, 1),
                1.75,
                78.0,
                Diagnosis.stroke,
                date(2025, 3, 1),
                "es",
                user_id=world.ids.get(user_key) if user_key else None,
            )
            world.ids[f"patient_{key}"] = record.id

        patient("carlos", madrid.id, "carlos")
        patient("lucia", madrid.id)
        patient("jordi", barcelona.id)
        patient("amani", nairobi.id)
        world.ids.update(
            root=root.id,
            europe=europe.id,
            spain=spain.id,
            madrid=madrid.id,
            barcelona=barcelona.id,
            nairobi=nairobi.id,
            maker=maker.id,
            model=model.id,
            other_model=other_model.id,
            unit_madrid=unit_madrid.id,
            unit_barcelona=unit_barcelona.id,
        )
    return world


def token(client: TestClient, world: World, key: str) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/token", json={"email": world.emails[key], "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def sign_in(client: TestClient, email: str) -> None:
    """Sign ``email`` in through the login form, as a browser does (the session cookie stays
    on ``client``)."""
    page = client.get("/login")
    login_csrf = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "login_csrf": login_csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def form_csrf(html: str) -> str:
    """The CSRF token a page's forms carry."""
    return html.split('name="csrf_token" value="')[1].split('"')[0]
