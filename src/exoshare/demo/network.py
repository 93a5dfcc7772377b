"""The deterministic demo network: consortium, regions, clinics, partners, fleet, patients, logins.

Everything is written through the capabilities' services as the system principal
``SYSTEM_SEEDING``, so the demo obeys the same validation as real data. One seed gives one
network: all randomness comes from ``random.Random(seed)`` and all dates are relative to
:data:`REFERENCE_DATE`, never to the clock.

>>> network = ensure_demo_network(session)            # doctest: +SKIP
>>> network.clinics, network.device_units, network.patients  # doctest: +SKIP
(21, 61, 462)
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from exoshare.auth import service as auth_service
from exoshare.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from exoshare.auth.schemas import Role
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.demo.academy_demo import seed_academy_demo
from exoshare.demo.fleet_demo import seed_fleet_demo
from exoshare.demo.network_data import (
    CLINIC_CONTACTS,
    CLINICS,
    CONSORTIUM_CODE,
    CONSORTIUM_NAME,
    COUNTRIES,
    COUNTRY_BY_CODE,
    DIAGNOSIS_MIX,
    FAULT_REASONS,
    FIXED_MODELS,
    MODEL_MIX_BY_REGION,
    MODELS,
    PARTNER_PROFILES,
    PARTNERS,
    REGIONS,
    UNIT_FAULTS,
    ClinicSpec,
    CountrySpec,
)
from exoshare.demo.people import (
    age_at,
    age_for,
    height_for,
    language_for,
    name_for,
    onset_for,
    weight_for,
    weighted,
    years_before,
)
from exoshare.demo.sharing_demo import seed_consents
from exoshare.devices import service as devices_service
from exoshare.devices.schemas import UnitStatus
from exoshare.network import agreements as partner_agreements
from exoshare.network import partners as partner_registry
from exoshare.network import service as network_service
from exoshare.network.phones import to_e164
from exoshare.network.schemas import AgreementKind, OrgUnitKind, PartnerKind
from exoshare.patients import service as patients_service
from exoshare.patients.schemas import Diagnosis, Sex

if TYPE_CHECKING:
    from exoshare.auth.models import User
    from exoshare.devices.models import DeviceModel, DeviceUnit
    from exoshare.network.models import OrgUnit, Partner

DEMO_PASSWORD = "exoshare-demo"
DEMO_EMAIL_DOMAIN = "demo.exoshare.org"
# The demo's "today": ages, onset dates and waiting times are measured from here, so a network
# generated next year is identical to one generated now.
REFERENCE_DATE = date(2026, 11, 1)
DEFAULT_SEED = 7

assert len(DEMO_PASSWORD) >= MIN_PASSWORD_LENGTH


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: Role
    where: str
    display_name: str


@dataclass
class DemoNetwork:
    """What the generator wrote (or found), and the accounts worth showing to a visitor."""

    created: bool
    regions: int
    countries: int
    clinics: int
    partners: int
    device_models: int
    device_units: int
    units_out_of_service: int
    patients: int
    users: int
    logins: list[DemoLogin] = field(default_factory=list)
    """The curated few to print first: operator, therapist, clinic admin, patient, ..."""
    all_logins: list[DemoLogin] = field(default_factory=list)
    """Every demo account, the curated ones first; all share :data:`DEMO_PASSWORD`."""


# The curated logins, in the order `exoshare demo` prints them.
OPERATOR_EMAIL = f"operator@{DEMO_EMAIL_DOMAIN}"
MARIA_EMAIL = f"maria.lopez@{DEMO_EMAIL_DOMAIN}"
REMOTE_THERAPIST_EMAIL = f"emily.wong@{DEMO_EMAIL_DOMAIN}"
BANGALORE_ADMIN_EMAIL = f"lakshmi.rao@{DEMO_EMAIL_DOMAIN}"
CARLOS_EMAIL = f"carlos.ruiz@{DEMO_EMAIL_DOMAIN}"
RESEARCHER_EMAIL = f"researcher@{DEMO_EMAIL_DOMAIN}"
MANUFACTURER_EMAIL = f"manufacturer@{DEMO_EMAIL_DOMAIN}"
TRAINER_EMAIL = f"trainer@{DEMO_EMAIL_DOMAIN}"
TRANSLATOR_EMAIL = f"translator@{DEMO_EMAIL_DOMAIN}"
CURATED_EMAILS: tuple[str, ...] = (
    OPERATOR_EMAIL,
    MARIA_EMAIL,
    REMOTE_THERAPIST_EMAIL,
    BANGALORE_ADMIN_EMAIL,
    CARLOS_EMAIL,
    RESEARCHER_EMAIL,
    MANUFACTURER_EMAIL,
    TRAINER_EMAIL,
    TRANSLATOR_EMAIL,
)


@dataclass(frozen=True)
class _Person:
    """A named person fixed by the story (the article's Maria, Carlos, ...)."""

    email: str
    given_name: str
    family_name: str
    locale: str


@dataclass(frozen=True)
class _StoryPatient:
    clinic: str
    person: _Person
    sex: Sex
    birth_date: date
    height_m: float
    weight_kg: float
    diagnosis: Diagnosis
    detail: str
    onset_date: date


STORY_STAFF: dict[str, dict[str, _Person]] = {
    "ES-MAD-01": {"therapist": _Person(MARIA_EMAIL, "María", "López", "es")},
    # "A therapist in Canada could monitor a patient in Nigeria" (the article's Gait Trainers
    # Without Borders, Dr. Wong): she also covers the Lagos clinic, see REMOTE_COVER.
    "CA-TOR-01": {"therapist": _Person(REMOTE_THERAPIST_EMAIL, "Emily", "Wong", "en")},
    "IN-BLR-01": {"clinic_admin": _Person(BANGALORE_ADMIN_EMAIL, "Lakshmi", "Rao", "en")},
}

REMOTE_COVER: tuple[tuple[str, str, str], ...] = (
    (REMOTE_THERAPIST_EMAIL, "CA-TOR-01", "NG-LOS-01"),
)
"""(therapist, provider clinic, recipient clinic) of each tele-supervision agreement."""
REMOTE_COVER_SINCE = date(2025, 9, 1)


def clinic_partner_profile(spec: ClinicSpec) -> tuple[list[str], list[str], list[str]]:
    """A clinic's partner record from its size: a clinic with three or more units lends
    devices, one with two or more therapists teaches and supervises remotely; a clinic with a
    single unit needs devices, and one with a single therapist needs supervision and training.
    Its languages are its staff's and its patients'."""
    offers: list[str] = []
    needs: list[str] = []
    if spec.units >= 3:
        offers.append("devices")
    if spec.therapists >= 2:
        offers += ["training", "remote_supervision"]
    if spec.units <= 1:
        needs.append("devices")
    if spec.therapists <= 1:
        needs += ["remote_supervision", "training"]
    languages = [spec.staff_locale] + [code for code, _ in spec.patient_languages]
    return offers, needs, list(dict.fromkeys(languages))


"""(therapist, far clinic): a second therapist grant, for journey 3 (Canada → Nigeria)."""

NOT_YET_CERTIFIED: tuple[tuple[str, str], ...] = ((MARIA_EMAIL, "Corvane AX2"),)
"""(therapist, model name) without a certificate: Maria may watch a colleague's Corvane AX2
session at her clinic, and the demo shows her a setting change on it refused."""

STORY_PATIENTS: tuple[_StoryPatient, ...] = (
    # "Carlos had been in a wheelchair for two years after a spinal cord injury."
    _StoryPatient(
        "ES-MAD-01",
        _Person(CARLOS_EMAIL, "Carlos", "Ruiz", "es"),
        Sex.male,
        date(1989, 3, 14),
        1.78,
        76.0,
        Diagnosis.spinal_cord_injury,
        "Incomplete SCI T10, AIS C; wheelchair user",
        date(2024, 10, 12),
    ),
    # "Raj walking to the market alone" — a stroke survivor on Bangalore's one exoskeleton.
    _StoryPatient(
        "IN-BLR-01",
        _Person(f"ravi.gowda@{DEMO_EMAIL_DOMAIN}", "Ravi", "Gowda", "kn"),
        Sex.male,
        date(1967, 7, 2),
        1.66,
        68.5,
        Diagnosis.stroke,
        "Ischaemic stroke, left MCA territory; right hemiparesis",
        date(2026, 3, 21),
    ),
    # "Amara Okafor, a spinal cord injury survivor and coalition lead."
    _StoryPatient(
        "NG-LOS-01",
        _Person(f"amara.okafor@{DEMO_EMAIL_DOMAIN}", "Amara", "Okafor", "en"),
        Sex.female,
        date(1987, 11, 23),
        1.64,
        61.0,
        Diagnosis.spinal_cord_injury,
        "Complete SCI T12, AIS A",
        date(2016, 5, 8),
    ),
    # "Anna Kim, who uses an exoskeleton daily."
    _StoryPatient(
        "CA-TOR-01",
        _Person(f"anna.kim@{DEMO_EMAIL_DOMAIN}", "Anna", "Kim", "en"),
        Sex.female,
        date(1993, 4, 30),
        1.62,
        55.0,
        Diagnosis.spinal_cord_injury,
        "Incomplete SCI T6, AIS B; daily home exoskeleton user",
        date(2018, 8, 19),
    ),
)

STORY_EMAILS = frozenset(
    [*CURATED_EMAILS, *(p.person.email for p in STORY_PATIENTS)]
    + [person.email for staff in STORY_STAFF.values() for person in staff.values()]
)
"""Fixed by the story: a generated staff member never takes one (a Lagos therapist drawn as
"Amara Okafor" would collide with the article's patient of that name, created after staff)."""

# Network-wide accounts: (email, given, family, locale, role, partner key).
NETWORK_ACCOUNTS: tuple[tuple[str, str, str, str, Role, str | None], ...] = (
    (OPERATOR_EMAIL, "Kenji", "Tanaka", "en", Role.consortium_operator, None),
    (RESEARCHER_EMAIL, "James", "Chen", "en", Role.researcher, "northbridge"),
    (MANUFACTURER_EMAIL, "Raj", "Patel", "en", Role.manufacturer, "sahaj"),
    (TRAINER_EMAIL, "Lisa", "Wong", "en", Role.trainer, "gtwb"),
    (TRANSLATOR_EMAIL, "Amina", "Haddad", "en", Role.translator, "gtwb"),
)


def _ascii_slug(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = plain.replace("ı", "i").replace("ş", "s")
    return "".join(ch for ch in plain.lower() if ch.isalnum() or ch == "-").strip("-")


# ---------------------------------------------------------------------------------------------
# Generation


class _Writer:
    """Holds the generator's state: the seeded RNG, the password hash, the e-mails in use."""

    def __init__(self, session: Session, seed: int) -> None:
        self.session = session
        self.rng = random.Random(seed)
        # argon2 is deliberately slow; every demo account shares one password, so one hash.
        self.password_hash = hash_password(DEMO_PASSWORD)
        self.emails: set[str] = set()

    def user(
        self,
        email: str,
        display_name: str,
        locale: str,
        role: Role,
        org_unit: OrgUnit,
        partner_id: str | None = None,
    ) -> User:
        # auth.service.create_user hashes the password each call (~50 ms of argon2 each for
        # ~70 accounts); every demo account gets the one precomputed hash instead.
        email = auth_service.normalise_email(email)
        if email in self.emails:
            raise ValueError(f"demo e-mail {email} used twice")
        self.emails.add(email)
        user = auth_service.create_user_with_hash(
            self.session,
            SYSTEM_SEEDING,
            email,
            display_name,
            self.password_hash,
            locale=locale,
            partner_id=partner_id,
        )
        auth_service.add_grant(self.session, user, role, org_unit)
        return user

    def staff_email(self, given: str, family: str) -> str:
        base = f"{_ascii_slug(given)}.{_ascii_slug(family.replace(' ', '-'))}"
        candidate, n = f"{base}@{DEMO_EMAIL_DOMAIN}", 2
        while candidate in self.emails or candidate in STORY_EMAILS:
            candidate, n = f"{base}{n}@{DEMO_EMAIL_DOMAIN}", n + 1
        return candidate

    def name(self, country: CountrySpec, sex: Sex) -> tuple[str, str, str]:
        return name_for(self.rng, country, sex)


def generate_demo_network(session: Session, seed: int = DEFAULT_SEED) -> DemoNetwork:
    """Write the whole demo network into an empty database and describe it.

    The caller owns the transaction: nothing is committed here.
    """
    w = _Writer(session, seed)
    rng = w.rng

    consortium = network_service.create_org_unit(
        session,
        CONSORTIUM_CODE,
        CONSORTIUM_NAME,
        OrgUnitKind.consortium,
        None,
        opened_on=date(2012, 1, 16),
    )
    regions = {
        r.code: network_service.create_org_unit(
            session, r.code, r.name, OrgUnitKind.region, consortium
        )
        for r in REGIONS
    }
    countries = {
        c.code: network_service.create_org_unit(
            session,
            c.code,
            c.name,
            OrgUnitKind.country,
            regions[c.region],
            country_code=c.code,
            currency=c.currency,
            timezone=c.timezone,
        )
        for c in COUNTRIES
    }
    clinics: dict[str, OrgUnit] = {}
    for spec in CLINICS:
        country = COUNTRY_BY_CODE[spec.country_code]
        street, postcode, phone = CLINIC_CONTACTS[spec.code]
        clinics[spec.code] = network_service.create_org_unit(
            session,
            spec.code,
            spec.name,
            OrgUnitKind.clinic,
            countries[spec.country_code],
            country_code=spec.country_code,
            city=spec.city,
            latitude=spec.latitude,
            longitude=spec.longitude,
            timezone=spec.timezone,
            currency=country.currency,
            opened_on=spec.opened_on,
            address_line1=street,
            postcode=postcode,
            phone=to_e164(phone, spec.country_code),
        )

    partners: dict[str, Partner] = {}
    for p in PARTNERS:
        offers, needs, languages = PARTNER_PROFILES[p.key]
        partners[p.key] = partner_registry.create_partner(
            session,
            SYSTEM_SEEDING,
            p.name,
            p.kind,
            p.country_code,
            p.website,
            offers=list(offers),
            needs=list(needs),
            languages=list(languages),
        )
    clinic_partners: dict[str, Partner] = {}
    for spec in CLINICS:
        clinic_offers, clinic_needs, clinic_languages = clinic_partner_profile(spec)
        clinic_partners[spec.code] = partner_registry.create_partner(
            session,
            SYSTEM_SEEDING,
            spec.name,
            PartnerKind.clinic_operator,
            spec.country_code,
            org_unit_id=clinics[spec.code].id,
            offers=clinic_offers,
            needs=clinic_needs,
            languages=clinic_languages,
        )

    models: dict[str, DeviceModel] = {
        m.key: devices_service.create_model(
            session,
            SYSTEM_SEEDING,
            m.name,
            partners[m.maker].id,
            m.device_type,
            m.min_height_m,
            m.max_height_m,
            m.max_weight_kg,
            m.power_requirements,
            list(m.envelope),
            description=m.description,
        )
        for m in MODELS
    }
    model_specs = {m.key: m for m in MODELS}

    # Device units: serials count up per model, with gaps (units sold outside the network).
    next_serial = {key: rng.randint(3, 40) for key in models}
    units_by_clinic: dict[str, list[DeviceUnit]] = {}
    for spec in CLINICS:
        region = COUNTRY_BY_CODE[spec.country_code].region
        keys = FIXED_MODELS.get(spec.code) or tuple(
            weighted(rng, MODEL_MIX_BY_REGION[region]) for _ in range(spec.units)
        )
        units_by_clinic[spec.code] = []
        for key in keys:
            year = rng.randint(max(spec.opened_on.year, 2019), 2025)
            serial = f"{model_specs[key].serial_prefix}-{year}-{next_serial[key]:05d}"
            next_serial[key] += rng.randint(1, 9)
            units_by_clinic[spec.code].append(
                devices_service.create_unit(
                    session, SYSTEM_SEEDING, serial, models[key].id, clinics[spec.code].id
                )
            )
    for clinic_code, index, status in UNIT_FAULTS:
        unit = units_by_clinic[clinic_code][index]
        device_type = model_specs[_model_key(models, unit.model_id)].device_type
        devices_service.set_unit_status(
            session,
            SYSTEM_SEEDING,
            unit.id,
            UnitStatus(status),
            rng.choice(FAULT_REASONS[(status, device_type)]),
        )

    # Network-wide accounts.
    for email, given, family, locale, role, partner_key in NETWORK_ACCOUNTS:
        w.user(
            email,
            f"{given} {family}",
            locale,
            role,
            consortium,
            partners[partner_key].id if partner_key else None,
        )

    # Staff of each clinic: one admin, 1–3 therapists, named and speaking as locals.
    for spec in CLINICS:
        country = COUNTRY_BY_CODE[spec.country_code]
        story = STORY_STAFF.get(spec.code, {})
        roles = [Role.clinic_admin] + [Role.therapist] * spec.therapists
        for role in roles:
            fixed = story.get(role.value)
            if fixed is not None and fixed.email not in w.emails:
                w.user(
                    fixed.email,
                    f"{fixed.given_name} {fixed.family_name}",
                    fixed.locale,
                    role,
                    clinics[spec.code],
                )
                continue
            sex = Sex.female if rng.random() < 0.68 else Sex.male  # most therapists are women
            given, family, _ = w.name(country, sex)
            w.user(
                w.staff_email(given, family),
                f"{given} {family}",
                spec.staff_locale,
                role,
                clinics[spec.code],
            )

    # Tele-rehabilitation across borders: an active tele-supervision agreement between two
    # clinics lets the provider's named therapists follow and adjust the other clinic's
    # sessions remotely (they must also be certified for its models); ending it ends the cover.
    for email, provider_code, recipient_code in REMOTE_COVER:
        remote = auth_service.user_by_email(session, SYSTEM_SEEDING, email)
        if remote is None:
            continue
        cover = partner_agreements.create_agreement(
            session,
            SYSTEM_SEEDING,
            AgreementKind.tele_supervision,
            f"Remote supervision of {clinics[recipient_code].name}",
            clinic_partners[provider_code].id,
            clinic_partners[recipient_code].id,
            starts_on=REMOTE_COVER_SINCE,
            terms="Therapists of the provider follow the recipient's home and clinic sessions "
            "remotely and adjust settings within the model's safety envelope.",
            cover_user_ids=[remote.id],
        )
        partner_agreements.activate(session, SYSTEM_SEEDING, cover.id, REMOTE_COVER_SINCE)

    # Patients: the article's people first, then the clinic's caseload drawn at random.
    mrn_next = {spec.code: rng.randint(1000, 90000) for spec in CLINICS}

    def next_mrn(clinic_code: str) -> str:
        mrn_next[clinic_code] += rng.randint(1, 37)
        return f"{clinic_code[3:6]}-{mrn_next[clinic_code]:07d}"

    for story_patient in STORY_PATIENTS:
        person = story_patient.person
        clinic = clinics[story_patient.clinic]
        user = w.user(
            person.email,
            f"{person.given_name} {person.family_name}",
            person.locale,
            Role.patient,
            clinic,
        )
        patients_service.create_patient(
            session,
            SYSTEM_SEEDING,
            clinic.id,
            next_mrn(story_patient.clinic),
            person.given_name,
            person.family_name,
            story_patient.sex,
            story_patient.birth_date,
            story_patient.height_m,
            story_patient.weight_kg,
            story_patient.diagnosis,
            onset_date=story_patient.onset_date,
            preferred_language=person.locale,
            diagnosis_detail=story_patient.detail,
            user_id=user.id,
        )
    story_count = {code: sum(p.clinic == code for p in STORY_PATIENTS) for code in clinics}

    diagnosis_weights = [(Diagnosis(name), share) for name, share, _ in DIAGNOSIS_MIX]
    male_share = {Diagnosis(name): male for name, _, male in DIAGNOSIS_MIX}
    for spec in CLINICS:
        country = COUNTRY_BY_CODE[spec.country_code]
        for _ in range(spec.patients - story_count[spec.code]):
            diagnosis = weighted(rng, diagnosis_weights)
            sex = Sex.male if rng.random() < male_share[diagnosis] else Sex.female
            age = age_for(rng, diagnosis)
            birth = years_before(REFERENCE_DATE, age) - timedelta(days=rng.randint(0, 364))
            age = age_at(birth, REFERENCE_DATE)
            onset, detail = onset_for(rng, diagnosis, birth, age, REFERENCE_DATE)
            height = height_for(rng, country, sex, age, diagnosis)
            weight = weight_for(rng, country, height, age, diagnosis)
            given, family, culture = w.name(country, sex)
            patients_service.create_patient(
                session,
                SYSTEM_SEEDING,
                clinics[spec.code].id,
                next_mrn(spec.code),
                given,
                family,
                sex,
                birth,
                height,
                weight,
                diagnosis,
                onset_date=onset,
                preferred_language=language_for(rng, spec, culture),
                diagnosis_detail=detail,
            )

    session.flush()
    return describe_demo_network(session, created=True)


def _model_key(models: dict[str, DeviceModel], model_id: str) -> str:
    return next(key for key, model in models.items() if model.id == model_id)


def describe_demo_network(session: Session, created: bool = False) -> DemoNetwork:
    """Counts and demo logins of the network in the database (works for a reused one too)."""
    who = SYSTEM_SEEDING
    grants = auth_service.active_grants_in_domain(session, who, DEMO_EMAIL_DOMAIN)
    places = network_service.find_org_units(session, {g.org_unit_id for g in grants})
    by_email: dict[str, DemoLogin] = {}
    for grant in grants:
        if grant.email not in by_email:
            where, city = places[grant.org_unit_id].name, places[grant.org_unit_id].city
            place = f"{where}, {city}" if city and city not in where else where
            by_email[grant.email] = DemoLogin(grant.email, grant.role, place, grant.display_name)
    curated = [by_email[email] for email in CURATED_EMAILS if email in by_email]
    rest = [login for email, login in sorted(by_email.items()) if email not in CURATED_EMAILS]
    units_by_status = devices_service.unit_counts_by_status(session, who)
    units = sum(units_by_status.values())
    return DemoNetwork(
        created=created,
        regions=_count_org_units(session, OrgUnitKind.region),
        countries=_count_org_units(session, OrgUnitKind.country),
        clinics=_count_org_units(session, OrgUnitKind.clinic),
        partners=network_service.count_partners(session),
        device_models=devices_service.list_models(session, limit=0)[1],
        device_units=units,
        units_out_of_service=units - units_by_status.get(UnitStatus.functioning, 0),
        patients=patients_service.count_patients(session, who),
        users=auth_service.count_users(session, who),
        logins=curated,
        all_logins=curated + rest,
    )


def _count_org_units(session: Session, kind: OrgUnitKind) -> int:
    return network_service.list_org_units(session, SYSTEM_SEEDING, kind, limit=0)[1]


def ensure_demo_network(session: Session, seed: int = DEFAULT_SEED) -> DemoNetwork:
    """Generate the demo network unless the database already has a consortium; then reuse it."""
    if _count_org_units(session, OrgUnitKind.consortium):
        return describe_demo_network(session, created=False)
    network = generate_demo_network(session, seed)
    seed_fleet_demo(session, seed, REFERENCE_DATE, not_certified=NOT_YET_CERTIFIED)
    seed_academy_demo(session, TRAINER_EMAIL, MARIA_EMAIL)
    seed_consents(session, REFERENCE_DATE)
    return network
