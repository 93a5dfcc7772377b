"""Consent per purpose: recording, withdrawing and reading a patient's decisions (which ones are
in force, and the rule for reads across a clinic's boundary, are `exoshare.consents.rules`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from exoshare.auth import audit
from exoshare.auth.scope import Permission, Principal
from exoshare.consents import rules
from exoshare.consents.models import Consent
from exoshare.consents.schemas import (
    PURPOSES_WITH_CLINIC,
    PURPOSES_WITH_PARTNER,
    ConsentDecision,
    ConsentPurpose,
)
from exoshare.errors import InvalidInput, NotFound, PermissionDenied
from exoshare.network import service as network_service
from exoshare.network.schemas import OrgUnitKind
from exoshare.patients import service as patients_service
from exoshare.sharing.models import ExportedPatient, ResearchExport, ResearchRequest
from exoshare.sharing.schemas import ConsentCreate, ConsentState, ExportInclusionOut


def _patient_for(session: Session, principal: Principal, patient_id: str, *, write: bool) -> str:
    """The patient id, if the caller is the patient or staff of the patient's clinic (writes
    need ``patients:write`` there); NotFound otherwise, as for a missing record."""
    patient = patients_service.get_patient(session, principal, patient_id)
    own = patient.user_id is not None and patient.user_id == principal.user_id
    if write and not own and not principal.covers(Permission.patients_write, patient.clinic.path):
        raise PermissionDenied("you may read this patient's consents but not record them")
    home = rules.home_grant(principal)
    if (
        write
        and not own
        and not principal.is_system
        and (home is None or not patient.clinic.path.startswith(home.org_unit_path))
    ):
        # Cover from another clinic reads by the patient's consent; it never records one.
        raise PermissionDenied("consents are recorded by the patient or by their own clinic")
    return patient.id


def record_consent(
    session: Session, principal: Principal, patient_id: str, body: ConsentCreate
) -> Consent:
    """A new decision on one purpose; it replaces the one in force for that purpose (and
    partner) from now on. A permit replaced by a refusal is a withdrawal of the permit."""
    pid = _patient_for(session, principal, patient_id, write=True)
    clinic_id = body.partner_clinic_id if body.purpose in PURPOSES_WITH_CLINIC else None
    partner_id = body.partner_id if body.purpose in PURPOSES_WITH_PARTNER else None
    if body.purpose in PURPOSES_WITH_CLINIC:
        clinic = network_service.find_clinic(session, body.partner_clinic_id or "")
        if clinic is None or clinic.kind is not OrgUnitKind.clinic:
            raise InvalidInput(
                "remote care names the partner clinic whose therapists may follow the patient: "
                f"clinic {body.partner_clinic_id} does not exist",
                field="partner_clinic_id",
            )
    elif body.partner_clinic_id is not None:
        raise InvalidInput(
            f"a partner clinic belongs only to remote_care, not to {body.purpose.value}",
            field="partner_clinic_id",
        )
    if body.purpose in PURPOSES_WITH_PARTNER:
        if network_service.find_partner(session, body.partner_id or "") is None:
            raise InvalidInput(
                f"partner organisation {body.partner_id} does not exist", field="partner_id"
            )
    elif body.partner_id is not None:
        raise InvalidInput(
            f"a partner organisation belongs only to partner_sharing, not to {body.purpose.value}",
            field="partner_id",
        )
    now = datetime.now(UTC)
    previous = _current(session, pid, body.purpose, clinic_id, partner_id)
    if previous is not None and previous.in_force and body.decision is ConsentDecision.deny:
        _mark_withdrawn(previous, principal, now, "replaced by a refusal")
    consent = Consent(
        patient_id=pid,
        purpose=body.purpose,
        decision=body.decision,
        partner_clinic_id=clinic_id,
        partner_id=partner_id,
        text_version=body.text_version,
        language=body.language,
        decided_at=now,
        recorded_by_id=principal.user_ref,
    )
    session.add(consent)
    session.flush()
    audit.record(
        session,
        principal,
        "consent",
        "consent",
        consent.id,
        patient_id=pid,
        detail={"purpose": body.purpose.value, "decision": body.decision.value},
    )
    return consent


def record_past_consents(
    session: Session,
    principal: Principal,
    decisions: list[tuple[str, ConsentCreate, datetime]],
) -> int:
    """Decisions taken earlier (patient id, decision, when), written at once: for exoshare
    itself (the demo's history, migrations of paper forms); each row is audited."""
    if not principal.is_system:
        raise PermissionDenied("only exoshare itself may record past consent decisions")
    for patient_id, body, decided_at in decisions:
        row = Consent(
            patient_id=patient_id,
            purpose=body.purpose,
            decision=body.decision,
            partner_clinic_id=body.partner_clinic_id,
            partner_id=body.partner_id,
            text_version=body.text_version,
            language=body.language,
            decided_at=decided_at,
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            principal,
            "consent",
            "consent",
            row.id,
            patient_id=patient_id,
            detail={"purpose": body.purpose.value, "decision": body.decision.value},
        )
    return len(decisions)


def _mark_withdrawn(consent: Consent, principal: Principal, now: datetime, reason: str) -> None:
    consent.withdrawn_at = now
    consent.withdrawn_by_id = principal.user_ref
    consent.withdrawal_reason = reason


def withdraw_consent(
    session: Session, principal: Principal, patient_id: str, consent_id: str, reason: str
) -> Consent:
    """Withdraw a permit in force: every later read, export and training round leaves the
    patient out; exports already released stay listed (:func:`exports_including`)."""
    pid = _patient_for(session, principal, patient_id, write=True)
    consent = session.scalar(
        select(Consent).where(Consent.id == consent_id, Consent.patient_id == pid)
    )
    if consent is None:
        raise NotFound(f"consent {consent_id} not found")
    if not consent.in_force:
        raise InvalidInput(
            "only a permit in force can be withdrawn; this one is a refusal or already withdrawn",
            field="consent_id",
        )
    _mark_withdrawn(consent, principal, datetime.now(UTC), reason.strip() or "withdrawn")
    audit.record(
        session,
        principal,
        "withdraw",
        "consent",
        consent.id,
        patient_id=pid,
        detail={"purpose": consent.purpose.value, "reason": consent.withdrawal_reason},
    )
    return consent


def consents_of(session: Session, principal: Principal, patient_id: str) -> list[Consent]:
    """Every decision of the patient, newest first (the patient's own, or their clinic's staff)."""
    pid = _patient_for(session, principal, patient_id, write=False)
    rows = session.scalars(
        select(Consent)
        .where(Consent.patient_id == pid)
        .order_by(Consent.decided_at.desc(), Consent.id)
    ).all()
    return list(rows)


def _current(
    session: Session,
    patient_id: str,
    purpose: ConsentPurpose,
    partner_clinic_id: str | None,
    partner_id: str | None,
) -> Consent | None:
    found: Consent | None = session.scalar(
        select(Consent)
        .where(
            Consent.patient_id == patient_id,
            Consent.purpose == purpose,
            Consent.partner_clinic_id.is_(None)
            if partner_clinic_id is None
            else Consent.partner_clinic_id == partner_clinic_id,
            Consent.partner_id.is_(None)
            if partner_id is None
            else Consent.partner_id == partner_id,
        )
        .order_by(Consent.decided_at.desc(), Consent.id.desc())
        .limit(1)
    )
    return found


@dataclass(frozen=True)
class PurposeStatus:
    """Where one purpose (with its partner, if it names one) stands for a patient."""

    purpose: ConsentPurpose
    state: ConsentState
    consent: Consent | None
    partner_clinic_id: str | None = None
    partner_id: str | None = None


def _state(consent: Consent | None) -> ConsentState:
    if consent is None:
        return ConsentState.not_asked
    if consent.in_force:
        return ConsentState.granted
    if consent.decision is ConsentDecision.permit:
        return ConsentState.withdrawn
    return ConsentState.refused


def status_of(consents: Iterable[Consent]) -> list[PurposeStatus]:
    """The decision in force per purpose (and per named partner), from a patient's rows."""
    newest: dict[tuple[ConsentPurpose, str | None, str | None], Consent] = {}
    for consent in sorted(consents, key=lambda c: (c.decided_at, c.id)):
        newest[(consent.purpose, consent.partner_clinic_id, consent.partner_id)] = consent
    statuses = [
        PurposeStatus(purpose, _state(c), c, clinic, partner)
        for (purpose, clinic, partner), c in newest.items()
    ]
    asked = {s.purpose for s in statuses}
    statuses += [
        PurposeStatus(p, ConsentState.not_asked, None) for p in ConsentPurpose if p not in asked
    ]
    order = list(ConsentPurpose)
    return sorted(statuses, key=lambda s: (order.index(s.purpose), s.partner_clinic_id or ""))


def exports_including(
    session: Session, principal: Principal, patient_id: str
) -> list[ExportInclusionOut]:
    """The research exports already released that held this patient's de-identified record."""
    pid = _patient_for(session, principal, patient_id, write=False)
    rows = session.execute(
        select(
            ResearchExport.id,
            ResearchExport.request_id,
            ResearchRequest.title,
            ResearchExport.created_at,
        )
        .join(ExportedPatient, ExportedPatient.export_id == ResearchExport.id)
        .join(ResearchRequest, ResearchRequest.id == ResearchExport.request_id)
        .where(ExportedPatient.patient_id == pid)
        .order_by(ResearchExport.created_at)
    ).all()
    return [
        ExportInclusionOut(export_id=e, request_id=r, title=t, created_at=c) for e, r, t, c in rows
    ]
