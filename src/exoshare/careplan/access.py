"""Who may read and write a patient's care records: the one scope rule of the care plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from exoshare.auth import audit
from exoshare.auth.scope import Permission, Principal
from exoshare.errors import N_, InvalidInput, NotFound, PermissionDenied
from exoshare.patients import service as patients_service

if TYPE_CHECKING:
    from exoshare.network.models import OrgUnit
    from exoshare.patients.models import Patient


class CareRecord(Protocol):
    """A row of a patient's care record: a plan or a note, kept at the patient's clinic."""

    id: str
    patient_id: str
    patient: Patient
    clinic: OrgUnit


Record = TypeVar("Record", bound=CareRecord)


def is_own(principal: Principal, patient: Patient) -> bool:
    """Whether the caller is this patient (their login is linked to the record)."""
    return patient.user_id is not None and patient.user_id == principal.user_id


def may_read(principal: Principal, clinic_path: str) -> bool:
    return principal.covers(Permission.patients_read, clinic_path)


def require_write(principal: Principal, clinic_path: str, what: str) -> None:
    """Staff who may read but not write this clinic's records are told so (403)."""
    if not principal.covers(Permission.patients_write, clinic_path):
        raise PermissionDenied(f"you may read this patient's care records but not {what}")


def patient_for_staff(session: Session, principal: Principal, patient_id: str) -> Patient:
    """A patient whose care records the caller reads as staff of the clinic (NotFound for
    everyone else, the patient included: notes and plans are the care team's records)."""
    patient = patients_service.get_patient(session, principal, patient_id)  # scoped, audited
    if not may_read(principal, patient.clinic.path):
        raise NotFound(f"patient {patient_id} not found")
    return patient


def opened(
    session: Session,
    principal: Principal,
    record: Record | None,
    *,
    kind: str,
    record_id: str,
    write: str | None = None,
) -> Record:
    """A plan or note the caller may see as staff of the patient's clinic (NotFound, named
    ``kind``, otherwise). ``write`` says what the caller is about to do to it: staff who may
    only read are told so; a read is audited as one."""
    if record is None or record.patient.voided or not may_read(principal, record.clinic.path):
        raise NotFound(f"{kind.replace('_', ' ')} {record_id} not found")
    if write is not None:
        require_write(principal, record.clinic.path, write)
    else:
        audit.record(session, principal, "read", kind, record.id, patient_id=record.patient_id)
    return record


def listed(
    session: Session, principal: Principal, patient: Patient, kind: str, rows: list[Any]
) -> None:
    """Audit a list of a patient's plans or notes, naming every row shown."""
    audit.record(
        session, principal, "list", kind, None, patient_id=patient.id,
        detail={f"{kind}_ids": [row.id for row in rows]},
    )  # fmt: skip


def patient_named_in_body(
    session: Session, principal: Principal, patient_id: str, what: str
) -> Patient:
    """The patient a write names in its body: one the caller may write for, else 422 naming
    ``patient_id`` exactly as for a patient that does not exist."""
    patient = patients_service.find_patient(session, patient_id)
    if patient is None or patient.voided or not may_read(principal, patient.clinic.path):
        raise InvalidInput(f"patient {patient_id} does not exist", field="patient_id")
    require_write(principal, patient.clinic.path, what)
    return patient


@dataclass(frozen=True)
class OnBehalf:
    """For exoshare itself writing past care (the demo's history): the person it writes for
    and when that person wrote it."""

    user_id: str | None
    at: datetime


def author_and_time(
    principal: Principal, on_behalf: OnBehalf | None
) -> tuple[str | None, datetime]:
    """Who is recorded as having written a row, and when: the caller now, or, for a system
    principal only, the person and moment it writes on behalf of."""
    if on_behalf is None:
        return principal.user_ref, datetime.now(UTC)
    if not principal.is_system:
        raise PermissionDenied.worded(N_("only exoshare itself records care on someone's behalf"))
    return on_behalf.user_id, on_behalf.at
