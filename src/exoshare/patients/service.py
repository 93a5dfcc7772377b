"""Rules of patient records: audited scoped reads, validated writes, voiding with a reason."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import QueryableAttribute, Session, selectinload
from sqlalchemy.sql.base import ExecutableOption

from exoshare.auth import audit
from exoshare.auth.scope import Permission, Principal
from exoshare.auth.service import visible_user
from exoshare.errors import N_, Conflict, InvalidInput, NotFound, PermissionDenied
from exoshare.network import service as network_service
from exoshare.network.schemas import OrgUnitKind
from exoshare.patients import cross_clinic
from exoshare.patients.models import Patient
from exoshare.patients.schemas import Diagnosis, Sex

if TYPE_CHECKING:
    from exoshare.auth.models import AuditEvent

# Physiological bounds for adults and children treated on gait devices; outside them a value is
# almost certainly a unit mix-up (cm for m, lb for kg) and is refused rather than stored.
HEIGHT_RANGE_M = (0.5, 2.5)
WEIGHT_RANGE_KG = (10.0, 300.0)


def _visible(principal: Principal) -> ColumnElement[bool]:
    return or_(
        cross_clinic.readable(principal, Patient.id, Patient.clinic_id),
        Patient.user_id == principal.user_id,
    )


def list_patients(
    session: Session,
    principal: Principal,
    clinic_id: str | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Patient], int]:
    stmt = select(Patient).where(_visible(principal), Patient.voided.is_(False))
    if clinic_id:
        stmt = stmt.where(Patient.clinic_id == clinic_id)
    if search:
        like = f"%{search.strip().lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Patient.given_name).like(like),
                func.lower(Patient.family_name).like(like),
                func.lower(Patient.medical_record_number).like(like),
            )
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(Patient.family_name, Patient.given_name, Patient.id)
        .limit(limit)
        .offset(offset)
    ).all()
    audit.record(
        session,
        principal,
        "list",
        "patient",
        None,
        detail={"patient_ids": [p.id for p in rows], "search": search, "clinic_id": clinic_id},
    )
    return list(rows), total


def get_patient(session: Session, principal: Principal, patient_id: str) -> Patient:
    """The record, if the caller may see it; otherwise NotFound, so its existence stays hidden."""
    patient = session.scalar(
        select(Patient).where(
            Patient.id == patient_id, _visible(principal), Patient.voided.is_(False)
        )
    )
    if patient is None:
        raise NotFound(f"patient {patient_id} not found")
    audit.record(session, principal, "read", "patient", patient.id, patient_id=patient.id)
    return patient


def _check_measures(height_m: float | None, weight_kg: float | None) -> None:
    if height_m is not None and not HEIGHT_RANGE_M[0] <= height_m <= HEIGHT_RANGE_M[1]:
        raise InvalidInput(
            f"height_m {height_m} is outside {HEIGHT_RANGE_M[0]}–{HEIGHT_RANGE_M[1]} m; "
            "give the height in metres (e.g. 1.72), not centimetres",
            field="height_m",
        )
    if weight_kg is not None and not WEIGHT_RANGE_KG[0] <= weight_kg <= WEIGHT_RANGE_KG[1]:
        raise InvalidInput(
            f"weight_kg {weight_kg} is outside {WEIGHT_RANGE_KG[0]}–{WEIGHT_RANGE_KG[1]} kg; "
            "give the weight in kilograms",
            field="weight_kg",
        )


def _check_dates(birth_date: date, onset_date: date | None) -> None:
    today = datetime.now(UTC).date()
    if birth_date > today:
        raise InvalidInput.worded(N_("birth_date is in the future"), also={"field": "birth_date"})
    if onset_date is not None and not birth_date <= onset_date <= today:
        raise InvalidInput.worded(
            N_("onset_date must lie between birth_date and today"), also={"field": "onset_date"}
        )


def create_patient(
    session: Session,
    principal: Principal,
    clinic_id: str,
    medical_record_number: str,
    given_name: str,
    family_name: str,
    sex: Sex,
    birth_date: date,
    height_m: float,
    weight_kg: float,
    diagnosis: Diagnosis,
    onset_date: date | None = None,
    preferred_language: str = "en",
    diagnosis_detail: str | None = None,
    user_id: str | None = None,
) -> Patient:
    """Create a record in a clinic. Seeding passes ``SYSTEM_SEEDING``."""
    clinic = network_service.find_org_unit(session, clinic_id)
    if clinic is None or (not principal.covers(Permission.patients_read, clinic.path)):
        raise NotFound(f"clinic {clinic_id} not found", field="clinic_id")
    if not principal.covers(Permission.patients_write, clinic.path):
        raise PermissionDenied(f"you may not add patients to {clinic.code}")
    if clinic.kind is not OrgUnitKind.clinic:
        raise InvalidInput(
            f"{clinic.code} is a {clinic.kind.value}, not a clinic", field="clinic_id"
        )
    _check_measures(height_m, weight_kg)
    _check_dates(birth_date, onset_date)
    duplicate = session.scalar(
        select(Patient.id).where(
            Patient.clinic_id == clinic_id,
            Patient.medical_record_number == medical_record_number,
            Patient.voided.is_(False),
        )
    )
    if duplicate:
        raise Conflict(
            f"clinic {clinic.code} already has a patient with record number "
            f"{medical_record_number}",
            field="medical_record_number",
        )
    if user_id is not None:
        # The login that will read this record as its own: one the caller manages.
        try:
            visible_user(session, principal, user_id)
        except NotFound:
            raise InvalidInput(f"user {user_id} does not exist", field="user_id") from None
    patient = Patient(
        clinic_id=clinic_id,
        medical_record_number=medical_record_number,
        given_name=given_name,
        family_name=family_name,
        sex=sex,
        birth_date=birth_date,
        height_m=height_m,
        weight_kg=weight_kg,
        diagnosis=diagnosis,
        diagnosis_detail=diagnosis_detail,
        onset_date=onset_date,
        preferred_language=preferred_language,
        user_id=user_id,
    )
    session.add(patient)
    session.flush()
    audit.record(session, principal, "create", "patient", patient.id, patient_id=patient.id)
    return patient


UPDATABLE_FIELDS = frozenset(
    {
        "given_name",
        "family_name",
        "sex",
        "birth_date",
        "height_m",
        "weight_kg",
        "diagnosis",
        "diagnosis_detail",
        "onset_date",
        "preferred_language",
    }
)


def update_patient(
    session: Session, principal: Principal, patient_id: str, changes: dict[str, Any]
) -> Patient:
    patient = get_patient(session, principal, patient_id)
    if not principal.covers(Permission.patients_write, patient.clinic.path):
        raise PermissionDenied.worded(N_("you may read this record but not change it"))
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise InvalidInput(f"these fields cannot be changed: {sorted(unknown)}", field=min(unknown))
    _check_measures(changes.get("height_m"), changes.get("weight_kg"))
    _check_dates(
        changes.get("birth_date", patient.birth_date),
        changes.get("onset_date", patient.onset_date),
    )
    before = {name: str(getattr(patient, name)) for name in changes}
    for name, value in changes.items():
        setattr(patient, name, value)
    audit.record(
        session,
        principal,
        "update",
        "patient",
        patient.id,
        patient_id=patient.id,
        detail={"before": before, "after": {k: str(v) for k, v in changes.items()}},
    )
    return patient


def void_patient(session: Session, principal: Principal, patient_id: str, reason: str) -> Patient:
    """Hide a record from every list while keeping it, with who voided it and why."""
    if not reason or not reason.strip():
        raise InvalidInput.worded(
            N_("a reason is required to void a patient record"), also={"field": "reason"}
        )
    patient = get_patient(session, principal, patient_id)
    if not principal.covers(Permission.patients_write, patient.clinic.path):
        raise PermissionDenied.worded(N_("you may read this record but not void it"))
    patient.voided = True
    patient.voided_at = datetime.now(UTC)
    patient.voided_by_id = principal.user_ref
    patient.void_reason = reason.strip()
    audit.record(
        session,
        principal,
        "void",
        "patient",
        patient.id,
        patient_id=patient.id,
        detail={"reason": patient.void_reason},
    )
    return patient


def audit_events_of(
    session: Session, principal: Principal, patient_id: str, limit: int = 100
) -> list[AuditEvent]:
    """Who read or changed a record, newest first: for holders of ``audit:read`` on its clinic."""
    patient = get_patient(session, principal, patient_id)
    if not principal.covers(Permission.audit_read, patient.clinic.path):
        raise PermissionDenied.worded(N_("reading the audit log needs the clinic admin role"))
    return audit.events_for_patient(session, patient.id, limit)


def active_patient_counts_by_clinic(session: Session, principal: Principal) -> dict[str, int]:
    """How many active (not voided) patients each clinic has, for the clinics the caller sees in
    the network tree (``network:read``): the tree's per-node patient count, no names."""
    rows = session.execute(
        select(Patient.clinic_id, func.count())
        .where(
            Patient.voided.is_(False),
            network_service.in_scope(principal, Permission.network_read, Patient.clinic_id),
        )
        .group_by(Patient.clinic_id)
    ).all()
    return {clinic_id: count for clinic_id, count in rows}


# ------------------------------------------------------------ for other capabilities' rules


def readable(
    principal: Principal, patient_id: cross_clinic.Column, clinic_id: cross_clinic.Column
) -> ColumnElement[bool]:
    """SQL condition for another table's rows about a patient (``patient_id``, ``clinic_id``
    columns): the caller's staff scope, with the cross-clinic consent rule."""
    return cross_clinic.readable(principal, patient_id, clinic_id)


def find_patient(session: Session, patient_id: str) -> Patient | None:
    """Unscoped, unaudited read of a record (voided ones too), for a caller that checks scope
    itself before it shows anything."""
    return session.get(Patient, patient_id)


def readable_patient_ids(
    session: Session, principal: Principal, patient_ids: Iterable[str]
) -> set[str]:
    """Which of these patients' records the caller may read as staff (``patients:read`` on the
    record's clinic, with the cross-clinic consent rule); one query for all of them."""
    ids = set(patient_ids)
    if not ids:
        return set()
    rows = session.scalars(
        select(Patient.id).where(
            Patient.id.in_(ids), cross_clinic.readable(principal, Patient.id, Patient.clinic_id)
        )
    ).all()
    return set(rows)


def may_read_patient(session: Session, principal: Principal, patient_id: str) -> bool:
    """Whether the caller may see this patient's record (as :func:`get_patient`, unaudited: for
    reads of data that hangs off a patient, which audit themselves)."""
    found = session.scalar(
        select(Patient.id).where(
            Patient.id == patient_id, _visible(principal), Patient.voided.is_(False)
        )
    )
    return found is not None


def patient_of_user(session: Session, user_id: str | None) -> Patient | None:
    """The patient record linked to a user account, if any (unscoped: the account's own)."""
    if user_id is None:
        return None
    found: Patient | None = session.scalar(select(Patient).where(Patient.user_id == user_id))
    return found


def with_clinic(patients: QueryableAttribute[Any]) -> ExecutableOption:
    """Loader option for another table's relationship to patients (``patients``): each
    patient's clinic comes in one query, whatever the number of rows (no N+1)."""
    return selectinload(patients).selectinload(Patient.clinic)


# ------------------------------------------------------------------ choosing patients by rule

PatientOrder = Literal["name", "record_number", "record_number_desc", "id"]
_PATIENT_ORDER: dict[str, tuple[Any, ...]] = {
    "name": (Patient.family_name, Patient.id),
    "record_number": (Patient.medical_record_number,),
    "record_number_desc": (Patient.medical_record_number.desc(),),
    "id": (Patient.id,),
}


def clinic_patients(
    session: Session,
    principal: Principal,
    clinic_id: str,
    *,
    include_voided: bool = False,
    user_id: str | None = None,
    min_height_m: float | None = None,
    max_height_m: float | None = None,
    max_weight_kg: float | None = None,
    exclude_ids: Collection[str] = (),
    order: PatientOrder = "name",
    limit: int | None = None,
    offset: int = 0,
) -> list[Patient]:
    """Patients of one clinic chosen by rule: within a height and weight range (the ones a
    device model fits), or the one whose login is ``user_id``.

    For trusted internal callers (the demo, seeding) that pick patients without showing their
    records to anyone, so the reads are not audited; a person's reads go through
    :func:`list_patients` and :func:`get_patient`.
    """
    if not principal.is_system:
        raise PermissionDenied.worded(N_("only exoshare itself may choose patients by rule"))
    stmt = select(Patient).where(Patient.clinic_id == clinic_id, _visible(principal))
    if not include_voided:
        stmt = stmt.where(Patient.voided.is_(False))
    if user_id is not None:
        stmt = stmt.where(Patient.user_id == user_id)
    if min_height_m is not None:
        stmt = stmt.where(Patient.height_m >= min_height_m)
    if max_height_m is not None:
        stmt = stmt.where(Patient.height_m <= max_height_m)
    if max_weight_kg is not None:
        stmt = stmt.where(Patient.weight_kg <= max_weight_kg)
    if exclude_ids:
        stmt = stmt.where(Patient.id.not_in(list(exclude_ids)))
    stmt = stmt.order_by(*_PATIENT_ORDER[order]).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def count_patients(session: Session, principal: Principal) -> int:
    """How many patient records (not voided) the caller may see."""
    stmt = select(func.count()).where(_visible(principal), Patient.voided.is_(False))
    return session.scalar(stmt.select_from(Patient)) or 0
