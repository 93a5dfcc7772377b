"""HTTP routes of patient records."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from exoshare.auth.gate import CurrentPrincipal
from exoshare.deps import DbSession, Paging
from exoshare.pagination import Page
from exoshare.patients import service
from exoshare.patients.schemas import (
    AuditEventOut,
    PatientCreate,
    PatientOut,
    PatientUpdate,
    PatientVoid,
)

router = APIRouter(prefix="/api/v1/patients", tags=["patients"])


@router.get("", response_model=Page[PatientOut])
def list_patients(
    session: DbSession,
    principal: CurrentPrincipal,
    paging: Paging,
    clinic_id: str | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Name or record number")] = None,
) -> Page[PatientOut]:
    """Active (not voided) patients the caller may see."""
    rows, total = service.list_patients(
        session, principal, clinic_id, q, paging.limit, paging.offset
    )
    return Page.of(PatientOut, rows, total, paging.limit, paging.offset)


@router.post("", response_model=PatientOut, status_code=status.HTTP_201_CREATED)
def create_patient(
    body: PatientCreate, session: DbSession, principal: CurrentPrincipal
) -> PatientOut:
    patient = service.create_patient(session, principal, **body.model_dump())
    return PatientOut.model_validate(patient)


@router.get("/{patient_id}", response_model=PatientOut)
def get_patient(patient_id: str, session: DbSession, principal: CurrentPrincipal) -> PatientOut:
    return PatientOut.model_validate(service.get_patient(session, principal, patient_id))


@router.patch("/{patient_id}", response_model=PatientOut)
def update_patient(
    patient_id: str, body: PatientUpdate, session: DbSession, principal: CurrentPrincipal
) -> PatientOut:
    changes = body.model_dump(exclude_unset=True)
    return PatientOut.model_validate(
        service.update_patient(session, principal, patient_id, changes)
    )


@router.post("/{patient_id}/void", response_model=PatientOut)
def void_patient(
    patient_id: str, body: PatientVoid, session: DbSession, principal: CurrentPrincipal
) -> PatientOut:
    """Void a record: it leaves every list but stays in the database with the reason."""
    return PatientOut.model_validate(
        service.void_patient(session, principal, patient_id, body.reason)
    )


@router.get("/{patient_id}/audit-events", response_model=list[AuditEventOut])
def patient_audit_events(
    patient_id: str, session: DbSession, principal: CurrentPrincipal
) -> list[AuditEventOut]:
    """Who read or changed this record, newest first (clinic admins of the patient's clinic)."""
    events = service.audit_events_of(session, principal, patient_id)
    return [AuditEventOut.model_validate(e) for e in events]
