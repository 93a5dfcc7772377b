"""The demo network generator: shape of the tree, fleet, patients, logins, determinism, reuse."""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exoshare import db
from exoshare.academy import certificates, learning
from exoshare.academy import courses as academy_courses
from exoshare.auth import service as auth_service
from exoshare.auth.models import RoleGrant, User
from exoshare.auth.schemas import Role
from exoshare.auth.scope import SYSTEM_CLI, SYSTEM_SEEDING, Permission
from exoshare.auth.service import authenticate, principal_for
from exoshare.demo.network import (
    DEMO_PASSWORD,
    MARIA_EMAIL,
    REFERENCE_DATE,
    REMOTE_THERAPIST_EMAIL,
    DemoNetwork,
    ensure_demo_network,
    generate_demo_network,
)
from exoshare.devices import service as devices_service
from exoshare.devices.models import DeviceModel, DeviceUnit
from exoshare.devices.schemas import DeviceType, UnitStatus
from exoshare.errors import NotAuthenticated
from exoshare.network import agreements
from exoshare.network import service as network_service
from exoshare.network.models import OrgUnit, Partner
from exoshare.network.schemas import AgreementStatus, OrgUnitKind, PartnerKind
from exoshare.patients.models import Patient
from exoshare.patients.schemas import Diagnosis, Sex

# Commercial exoskeletons, gait robots and their makers (lower case). The demo fleet is fictional.
REAL_BRANDS = (
    "ekso", "rewalk", "lokomat", "hocoma", "indego", "parker hannifin", "cyberdyne", "wandercraft",
    "atalante", "suitx", "phoenix", "ottobock", "fourier", "g-eo", "reha technology", "lyra",
    "thera-trainer", "andago", "keeogo", "b-temia", "honda", "toyota", "welwalk", "axiobionics",
    "myosuit", "myoswiss", "exoatlet", "harmonic bionics", "motek", "alter g", "alterg",
)  # fmt: skip
ISO_COUNTRIES = set(Locale("en").territories)


def _fresh_sessionmaker(directory: Path) -> sessionmaker[Session]:
    url = f"sqlite:///{directory / 'demo.db'}"
    db.upgrade(url)
    return db.make_sessionmaker(db.make_engine(url))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, DemoNetwork]]:
    factory = _fresh_sessionmaker(tmp_path_factory.mktemp("demo"))
    with db.session_scope(factory) as session:
        network = generate_demo_network(session, seed=7)
    session = factory()
    yield session, network
    session.close()


def _age(birth: date) -> float:
    return (REFERENCE_DATE - birth).days / 365.25


def _units(session: Session, kind: OrgUnitKind) -> list[OrgUnit]:
    return list(session.scalars(select(OrgUnit).where(OrgUnit.kind == kind)).all())


def test_tree_has_one_consortium_five_regions_and_real_countries(
    demo: tuple[Session, DemoNetwork],
) -> None:
    session, network = demo
    (consortium,) = _units(session, OrgUnitKind.consortium)
    assert consortium.code == "EXO"
    regions = _units(session, OrgUnitKind.region)
    assert sorted(r.name for r in regions) == [
        "Africa", "Asia-Pacific", "Europe", "Latin America", "North America",
    ]  # fmt: skip
    assert all(r.parent_id == consortium.id for r in regions)
    countries = _units(session, OrgUnitKind.country)
    assert network.regions == 5 and network.countries == len(countries) >= 15
    for country in countries:
        assert country.country_code in ISO_COUNTRIES
        assert country.currency and len(country.currency) == 3
        ZoneInfo(country.timezone or "")  # raises for an unknown zone
    by_code = {c.country_code: c for c in countries}
    assert by_code["ES"].currency == "EUR" and by_code["IN"].currency == "INR"
    assert by_code["JP"].timezone == "Asia/Tokyo"


def test_about_twenty_clinics_in_real_places(demo: tuple[Session, DemoNetwork]) -> None:
    session, network = demo
    clinics = {c.code: c for c in _units(session, OrgUnitKind.clinic)}
    assert 18 <= len(clinics) == network.clinics <= 25
    for code, clinic in clinics.items():
        assert re.fullmatch(r"[A-Z]{2}-[A-Z]{3}-\d{2}", code)
        assert clinic.country_code == code[:2] and clinic.country_code in ISO_COUNTRIES
        assert clinic.parent is not None and clinic.parent.country_code == clinic.country_code
        assert clinic.latitude is not None and -90 <= clinic.latitude <= 90
        assert clinic.longitude is not None and -180 <= clinic.longitude <= 180
        assert clinic.city and clinic.opened_on and clinic.opened_on < REFERENCE_DATE
        ZoneInfo(clinic.timezone or "")
    madrid, bangalore = clinics["ES-MAD-01"], clinics["IN-BLR-01"]
    assert madrid.city == "Madrid" and madrid.latitude == pytest.approx(40.42, abs=0.1)
    assert madrid.longitude == pytest.approx(-3.70, abs=0.1)
    assert bangalore.latitude == pytest.approx(12.97, abs=0.1)
    assert bangalore.longitude == pytest.approx(77.59, abs=0.1)
    assert clinics["AU-SYD-01"].latitude < 0  # type: ignore[operator]
    assert {c.country_code for c in clinics.values()} >= {"ES", "DE", "IN", "KE", "BR", "JP"}


def test_partners_cover_every_kind_and_makers_are_fictional(
    demo: tuple[Session, DemoNetwork],
) -> None:
    session, _ = demo
    partners = session.scalars(select(Partner)).all()
    kinds = {p.kind for p in partners}
    assert kinds >= {PartnerKind.manufacturer, PartnerKind.university, PartnerKind.ngo,
                     PartnerKind.regulator, PartnerKind.patient_group}  # fmt: skip
    makers = [p for p in partners if p.kind is PartnerKind.manufacturer]
    assert len(makers) >= 5
    for maker in makers:
        assert not any(brand in maker.name.lower() for brand in REAL_BRANDS), maker.name
        assert maker.country_code in ISO_COUNTRIES


def test_models_span_three_types_with_plausible_ranges_and_envelopes(
    demo: tuple[Session, DemoNetwork],
) -> None:
    session, network = demo
    models = session.scalars(select(DeviceModel)).all()
    assert len(models) == network.device_models >= 8
    assert {m.device_type for m in models} == set(DeviceType)
    for model in models:
        name = model.name.lower()
        assert not any(brand in name for brand in REAL_BRANDS), model.name
        assert not re.search(r"\bhal\b", name), model.name
        assert 0.9 <= model.min_patient_height_m < model.max_patient_height_m <= 2.05
        assert 50 <= model.max_patient_weight_kg <= 135
        assert model.power_requirements
        settings = {s.setting: s for s in model.envelope}
        assert "guidance_force_pct" in settings
        for s in model.envelope:
            assert s.min_value <= s.default_value <= s.max_value and s.unit
        if model.device_type is DeviceType.treadmill_gait_trainer:
            speed = settings["treadmill_speed_mps"]
            assert (speed.unit, speed.min_value, speed.max_step) == ("m/s", 0.1, 0.2)
            bws = settings["body_weight_support_pct"]
            assert (bws.min_value, bws.max_value, bws.max_step) == (0, 60, 5)
            assert model.min_patient_height_m <= 1.0 and model.max_patient_height_m >= 1.95
        if model.device_type is DeviceType.overground_exoskeleton:
            assert {"hip_rom_limit_deg", "knee_rom_limit_deg", "step_length_m"} <= set(settings)
    paediatric = [m for m in models if m.max_patient_height_m <= 1.5]
    assert paediatric and paediatric[0].min_patient_height_m <= 1.0
    ax2 = next(m for m in models if m.name == "Corvane AX2")
    assert (ax2.min_patient_height_m, ax2.max_patient_height_m) == (1.50, 1.95)


def test_fleet_is_uneven_and_bangalore_has_one_unit_for_many_patients(
    demo: tuple[Session, DemoNetwork],
) -> None:
    session, network = demo
    units = session.scalars(select(DeviceUnit)).all()
    assert 55 <= len(units) == network.device_units <= 65
    for unit in units:
        assert re.fullmatch(r"[A-Z0-9]{3}-20(19|2[0-5])-\d{5}", unit.serial_number)
    per_clinic: dict[str, int] = defaultdict(int)
    for unit in units:
        per_clinic[unit.org_unit.code] += 1
    assert per_clinic["IN-BLR-01"] == 1
    assert max(per_clinic.values()) >= 5 and min(per_clinic.values()) == 1
    assert all(unit.org_unit.kind is OrgUnitKind.clinic for unit in units)
    blr_unit = next(u for u in units if u.org_unit.code == "IN-BLR-01")
    assert blr_unit.status is UnitStatus.functioning
    assert blr_unit.model.device_type is DeviceType.overground_exoskeleton
    blr_patients = session.scalar(
        select(func.count()).select_from(Patient).where(Patient.clinic_id == blr_unit.org_unit_id)
    )
    assert blr_patients is not None and blr_patients >= 40

    broken = [u for u in units if u.status is not UnitStatus.functioning]
    assert len(broken) == network.units_out_of_service
    assert {u.status for u in broken} == {UnitStatus.awaiting_repair, UnitStatus.unserviceable}
    assert all(u.status_reason and len(u.status_reason) > 20 for u in broken)
    assert all(u.status_reason is None for u in units if u.status is UnitStatus.functioning)


def test_patients_have_plausible_bodies_ages_and_diagnoses(
    demo: tuple[Session, DemoNetwork],
) -> None:
    session, network = demo
    rows = session.execute(
        select(Patient, OrgUnit.country_code, OrgUnit.code).join(
            OrgUnit, OrgUnit.id == Patient.clinic_id
        )
    ).all()
    assert len(rows) == network.patients >= 400
    ages_by_diagnosis: dict[Diagnosis, list[float]] = defaultdict(list)
    for patient, _, _ in rows:
        age = _age(patient.birth_date)
        assert 8 <= age < 87, patient.birth_date
        if age < 18:
            assert 1.05 <= patient.height_m <= 1.95, (age, patient.height_m)
        else:
            assert 1.38 <= patient.height_m <= 2.10, (age, patient.height_m)
        bmi = patient.weight_kg / patient.height_m**2
        assert 12.5 <= bmi <= 45, (patient.height_m, patient.weight_kg)
        assert patient.sex in (Sex.male, Sex.female)
        assert patient.onset_date is not None
        assert patient.birth_date <= patient.onset_date <= REFERENCE_DATE
        assert patient.diagnosis_detail
        ages_by_diagnosis[patient.diagnosis].append(age)
    assert set(ages_by_diagnosis) == set(Diagnosis)
    assert statistics.median(ages_by_diagnosis[Diagnosis.cerebral_palsy]) < 18
    assert statistics.median(ages_by_diagnosis[Diagnosis.stroke]) > 55
    assert 22 < statistics.median(ages_by_diagnosis[Diagnosis.spinal_cord_injury]) < 45
    assert min(ages_by_diagnosis[Diagnosis.stroke]) >= 30
    cp = [p for p, _, _ in rows if p.diagnosis is Diagnosis.cerebral_palsy]
    assert all(p.onset_date == p.birth_date for p in cp)  # congenital

    mrns = [(code, p.medical_record_number) for p, _, code in rows]
    assert len(set(mrns)) == len(mrns)


def test_adult_heights_follow_country_and_sex(demo: tuple[Session, DemoNetwork]) -> None:
    session, _ = demo
    rows = session.execute(
        select(Patient, OrgUnit.country_code).join(OrgUnit, OrgUnit.id == Patient.clinic_id)
    ).all()
    heights: dict[tuple[str | None, Sex], list[float]] = defaultdict(list)
    for patient, country in rows:
        if _age(patient.birth_date) >= 18:
            heights[(country, patient.sex)].append(patient.height_m)

    def mean(countries: tuple[str | None, ...], sex: Sex) -> float:
        return statistics.mean(h for c in countries for h in heights[(c, sex)])

    tall, short = ("NL", "DE"), ("IN", "PH")
    assert mean(tall, Sex.male) > mean(short, Sex.male) + 0.10
    assert mean(tall, Sex.female) > mean(short, Sex.female) + 0.08
    assert statistics.mean(heights[("NL", Sex.male)]) > statistics.mean(heights[("IN", Sex.male)])
    everyone = tuple({c for c, _ in heights})
    assert mean(everyone, Sex.male) - mean(everyone, Sex.female) == pytest.approx(0.12, abs=0.04)
    assert 1.60 < statistics.mean(heights[("IN", Sex.male)]) < 1.68


def test_patients_speak_their_countrys_language(demo: tuple[Session, DemoNetwork]) -> None:
    session, _ = demo
    languages: dict[str, set[str]] = defaultdict(set)
    for language, code in session.execute(
        select(Patient.preferred_language, OrgUnit.code).join(
            OrgUnit, OrgUnit.id == Patient.clinic_id
        )
    ):
        languages[code].add(language)
    assert languages["ES-MAD-01"] == {"es"}
    assert languages["JP-TYO-01"] == {"ja"}
    assert languages["KR-SEL-01"] == {"ko"}
    assert languages["BR-SAO-01"] == {"pt"}
    assert "sw" in languages["KE-NBO-01"]
    assert "kn" in languages["IN-BLR-01"]
    all_languages = set().union(*languages.values())
    assert len(all_languages) >= 12


def test_curated_logins_tell_the_story(demo: tuple[Session, DemoNetwork]) -> None:
    session, network = demo
    roles = [login.role for login in network.logins]
    assert roles == [
        Role.consortium_operator, Role.therapist, Role.therapist, Role.clinic_admin,
        Role.patient, Role.researcher, Role.manufacturer, Role.trainer, Role.translator,
    ]  # fmt: skip
    maria = network.logins[1]
    assert maria.display_name.startswith("María") and "Madrid" in maria.where
    maria_user = session.scalar(select(User).where(User.email == maria.email))
    assert maria_user is not None and maria_user.locale == "es"
    assert "Toronto" in network.logins[2].where
    assert "Bangalore" in network.logins[3].where
    carlos = network.logins[4]
    carlos_record = session.scalar(
        select(Patient).join(User, User.id == Patient.user_id).where(User.email == carlos.email)
    )
    assert carlos_record is not None and carlos_record.given_name == "Carlos"
    assert carlos_record.diagnosis is Diagnosis.spinal_cord_injury
    assert carlos_record.clinic.code == "ES-MAD-01"

    manufacturer = session.scalar(select(User).where(User.email == network.logins[6].email))
    assert manufacturer is not None and manufacturer.partner_id is not None
    maker = session.get(Partner, manufacturer.partner_id)
    assert maker is not None and maker.kind is PartnerKind.manufacturer

    consortium_level = {
        Role.consortium_operator,
        Role.researcher,
        Role.manufacturer,
        Role.trainer,
        Role.translator,
    }
    for login in network.logins:
        grant = session.scalar(
            select(RoleGrant)
            .join(User, User.id == RoleGrant.user_id)
            .where(User.email == login.email)
        )
        assert grant is not None and grant.role is login.role
        assert (grant.org_unit.kind is OrgUnitKind.consortium) == (login.role in consortium_level)


def test_a_toronto_therapist_also_covers_lagos_from_afar(
    demo: tuple[Session, DemoNetwork],
) -> None:
    """Journey 3: a therapist in Canada follows and adjusts a home session in Nigeria."""
    session, _ = demo
    wong = session.scalar(select(User).where(User.email == REMOTE_THERAPIST_EMAIL))
    assert wong is not None
    grants = session.scalars(
        select(RoleGrant).where(RoleGrant.user_id == wong.id).order_by(RoleGrant.granted_at)
    ).all()
    assert [(g.role, g.org_unit.code) for g in grants] == [
        (Role.therapist, "CA-TOR-01"),  # her own clinic first: the scheduler places her there
        (Role.therapist, "NG-LOS-01"),
    ]
    principal = principal_for(session, wong)
    lagos_patient = session.scalar(
        select(Patient)
        .join(OrgUnit, OrgUnit.id == Patient.clinic_id)
        .where(OrgUnit.code == "NG-LOS-01")
    )
    assert lagos_patient is not None
    assert principal.covers(Permission.patients_read, lagos_patient.clinic.path)
    madrid = session.scalar(select(OrgUnit).where(OrgUnit.code == "ES-MAD-01"))
    assert madrid is not None and not principal.covers(Permission.patients_read, madrid.path)
    # The Lagos grant is the cover of an active tele-supervision agreement, not a bare grant.
    cover = agreements.list_agreements(session, SYSTEM_CLI, AgreementStatus.active)
    assert [(a.provider.name, a.recipient.name, [c.grant_id for c in a.covers]) for a in cover] == [
        ("Toronto Gait and Mobility Clinic", "Lagos Mobility and Spine Centre", [grants[1].id])
    ]


def test_every_clinic_has_an_admin_and_therapists_of_its_country(
    demo: tuple[Session, DemoNetwork],
) -> None:
    session, network = demo
    staff: dict[str, dict[Role, list[User]]] = defaultdict(lambda: defaultdict(list))
    for user, role, code in session.execute(
        select(User, RoleGrant.role, OrgUnit.code)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .join(OrgUnit, OrgUnit.id == RoleGrant.org_unit_id)
        .where(OrgUnit.kind == OrgUnitKind.clinic)
    ):
        staff[code][role].append(user)
    assert len(staff) == network.clinics
    for code, by_role in staff.items():
        assert len(by_role[Role.clinic_admin]) == 1, code
        assert 1 <= len(by_role[Role.therapist]) <= 3, code
    assert {u.locale for u in staff["JP-TYO-01"][Role.therapist]} == {"ja"}
    assert {u.locale for u in staff["DE-BER-01"][Role.therapist]} == {"de"}
    patient_logins = [login for login in network.all_logins if login.role is Role.patient]
    assert len(patient_logins) >= 3


def test_every_demo_login_authenticates_with_the_demo_password(
    demo: tuple[Session, DemoNetwork],
) -> None:
    session, network = demo
    assert len(DEMO_PASSWORD) >= 10
    assert network.all_logins[: len(network.logins)] == network.logins
    assert len(network.all_logins) == network.users
    for login in network.all_logins:
        assert login.email.endswith("@demo.exoshare.org")
        assert authenticate(session, login.email, DEMO_PASSWORD).email == login.email
    with pytest.raises(NotAuthenticated):
        authenticate(session, network.logins[0].email, DEMO_PASSWORD + "x")


def _fingerprint(session: Session) -> list[tuple[object, ...]]:
    return [
        tuple(row)
        for row in session.execute(
            select(
                OrgUnit.code,
                Patient.medical_record_number,
                Patient.given_name,
                Patient.family_name,
                Patient.birth_date,
                Patient.height_m,
                Patient.weight_kg,
                Patient.diagnosis,
            )
            .join(OrgUnit, OrgUnit.id == Patient.clinic_id)
            .order_by(OrgUnit.code, Patient.medical_record_number)
        )
    ]


def _serials(session: Session) -> list[tuple[str, str]]:
    return [
        (serial, status.value)
        for serial, status in session.execute(
            select(DeviceUnit.serial_number, DeviceUnit.status).order_by(DeviceUnit.serial_number)
        )
    ]


def test_same_seed_gives_the_same_network(
    demo: tuple[Session, DemoNetwork], tmp_path: Path
) -> None:
    session, network = demo
    factory = _fresh_sessionmaker(tmp_path)
    with db.session_scope(factory) as again:
        second = generate_demo_network(again, seed=7)
        assert _fingerprint(again) == _fingerprint(session)
        assert _serials(again) == _serials(session)
    assert second.all_logins == network.all_logins


def test_another_seed_gives_another_network(
    demo: tuple[Session, DemoNetwork], tmp_path: Path
) -> None:
    session, _ = demo
    factory = _fresh_sessionmaker(tmp_path)
    with db.session_scope(factory) as other:
        generate_demo_network(other, seed=8)
        assert _fingerprint(other) != _fingerprint(session)


def test_ensure_creates_once_then_reuses(
    demo: tuple[Session, DemoNetwork], session_factory: sessionmaker[Session]
) -> None:
    # session_factory runs this on SQLite and PostgreSQL: the seed decides the data, not the
    # backend, so both match the module's SQLite network.
    with db.session_scope(session_factory) as session:
        first = ensure_demo_network(session)
    assert first.created
    with db.session_scope(session_factory) as session:
        again = ensure_demo_network(session)
        patients = session.scalar(select(func.count()).select_from(Patient))
        consortia = session.scalar(
            select(func.count()).select_from(OrgUnit).where(OrgUnit.kind == OrgUnitKind.consortium)
        )
        assert _fingerprint(session) == _fingerprint(demo[0])
    assert not again.created
    assert (patients, consortia) == (first.patients, 1)
    assert again.logins == first.logins and again.all_logins == first.all_logins
    assert (again.clinics, again.device_units, again.users) == (
        first.clinics, first.device_units, first.users,
    )  # fmt: skip
    _check_demo_academy(session_factory)


def _check_demo_academy(factory: sessionmaker[Session]) -> None:
    """A published course per model; Nairobi's therapists certified through the Tembea course;
    Maria half-way through the Corvane AX2 course (2 of 4 lessons, quiz 50 %)."""
    with db.session_scope(factory) as session:
        published = academy_courses.list_courses(session, SYSTEM_SEEDING)
        assert sorted(c.model.name for c in published) == sorted(
            m.name for m in devices_service.all_models(session)
        )
        assert all(c.published and len(c.questions) == 4 for c in published)
        nairobi = network_service.find_org_unit_by_code(session, "KE-NBO-01")
        assert nairobi is not None
        nairobi_therapists = {
            u.id
            for u in auth_service.users_with_role_at(
                session, SYSTEM_SEEDING, Role.therapist, nairobi.id
            )
        }
        by_course = [
            c
            for c in certificates.list_certificates(session, SYSTEM_SEEDING)
            if c.basis == "course"
        ]
        assert {c.therapist_id for c in by_course} == nairobi_therapists != set()
        assert {c.model.name for c in by_course} == {"Umoja Tembea"}
        maria = auth_service.user_by_email(session, SYSTEM_SEEDING, MARIA_EMAIL)
        assert maria is not None
        ax2 = next(c for c in published if c.model.name == "Corvane AX2")
        state = learning.progress(session, maria.id, ax2)
        assert (state.lessons_completed, state.best_score_pct, state.certificate) == (2, 50.0, None)
