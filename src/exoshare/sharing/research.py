"""The research workspace: requests for de-identified data sets, the approval of each
contributing clinic's data steward, and the audited release of an export with its data
dictionary, provenance and measured re-identification risk."""

from __future__ import annotations

import csv
import io
import json
import secrets
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from exoshare import __version__
from exoshare.auth import audit
from exoshare.auth.scope import Permission, Principal, SystemPrincipal
from exoshare.consents import rules as consent_rules
from exoshare.consents.schemas import ConsentPurpose
from exoshare.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    PrivacyModelUnreachable,
    ResearchRequestNotReady,
)
from exoshare.network import service as network_service
from exoshare.network.schemas import OrgUnitKind
from exoshare.patients import service as patients_service
from exoshare.sharing.dataset import VARIABLES, check_variables, cohort_rows
from exoshare.sharing.deid import (
    DeidentificationError,
    PrivacyModel,
    RiskReport,
    anonymise,
    risk,
)
from exoshare.sharing.models import (
    ExportedPatient,
    ResearchApproval,
    ResearchExport,
    ResearchExportFile,
    ResearchRequest,
)
from exoshare.sharing.schemas import ApprovalDecision, ResearchRequestCreate, ResearchStatus

SYSTEM_EXPORT = SystemPrincipal("research_export")
"""Chooses a cohort's patients: the researcher never reads records, and the stewards of the
clinics the rows come from approved the request."""

RISK_THRESHOLD = 0.2
"""A record is 'at risk' above a 1-in-5 chance of re-identification (ARX's default view)."""


def _query() -> Any:
    return select(ResearchRequest).options(selectinload(ResearchRequest.approvals))


def create_request(
    session: Session, principal: Principal, body: ResearchRequestCreate
) -> ResearchRequest:
    """A researcher's request; each contributing clinic's steward is asked to approve it."""
    if not principal.can(Permission.research_request):
        raise PermissionDenied("only researchers request data sets")
    unknown = check_variables(body.variables)
    if unknown:
        raise InvalidInput(
            f"variable {unknown[0]!r} is not offered; choose from {sorted(VARIABLES)}",
            field="variables",
        )
    cohort = body.cohort
    if (
        cohort.min_age_years is not None
        and cohort.max_age_years is not None
        and cohort.min_age_years > cohort.max_age_years
    ):
        raise InvalidInput("min_age_years is above max_age_years", field="cohort.min_age_years")
    clinics = network_service.find_org_units(session, set(cohort.clinic_ids))
    for clinic_id in cohort.clinic_ids:
        clinic = clinics.get(clinic_id)
        # Researchers see the network tree (network:read): a clinic outside it is unknown.
        if (
            clinic is None
            or clinic.kind is not OrgUnitKind.clinic
            or not principal.covers(Permission.network_read, clinic.path)
        ):
            raise InvalidInput(f"clinic {clinic_id} does not exist", field="cohort.clinic_ids")
    request = ResearchRequest(
        title=body.title.strip(),
        purpose=body.purpose.strip(),
        researcher_id=principal.user_ref,
        cohort=cohort.model_dump(mode="json"),
        variables=list(dict.fromkeys(body.variables)),
        k=body.k,
        l_diversity=body.l_diversity,
        suppression_limit=body.suppression_limit,
        pseudonym_secret_hex=secrets.token_hex(32),
    )
    session.add(request)
    session.flush()
    for clinic_id in sorted(set(cohort.clinic_ids)):
        session.add(ResearchApproval(request_id=request.id, clinic_id=clinic_id))
    session.flush()
    session.refresh(request)
    audit.record(session, principal, "create", "research_request", request.id)
    return request


def _visible_requests(session: Session, principal: Principal) -> Any:
    """Requests the caller may see: their own (researcher), or those asking a clinic they
    steward."""
    stewarded = select(ResearchApproval.request_id).where(
        network_service.in_scope(principal, Permission.research_steward, ResearchApproval.clinic_id)
    )
    own = ResearchRequest.researcher_id == principal.user_id
    if principal.is_system:
        return _query()
    return _query().where(own | ResearchRequest.id.in_(stewarded))


def list_requests(session: Session, principal: Principal) -> list[ResearchRequest]:
    stmt = _visible_requests(session, principal).order_by(ResearchRequest.created_at.desc())
    return list(session.scalars(stmt))


def get_request(session: Session, principal: Principal, request_id: str) -> ResearchRequest:
    found: ResearchRequest | None = session.scalar(
        _visible_requests(session, principal).where(ResearchRequest.id == request_id)
    )
    if found is None:
        raise NotFound(f"research request {request_id} not found")
    return found


def decide(
    session: Session,
    principal: Principal,
    request_id: str,
    clinic_id: str,
    decision: ApprovalDecision,
    note: str,
) -> ResearchRequest:
    """A steward's approval or rejection for their clinic; the request is approved once every
    clinic approved and rejected as soon as one rejects."""
    request = get_request(session, principal, request_id)
    approval = next((a for a in request.approvals if a.clinic_id == clinic_id), None)
    clinic = network_service.find_org_unit(session, clinic_id)
    if (
        approval is None
        or clinic is None
        or not principal.covers(Permission.research_steward, clinic.path)
    ):
        raise InvalidInput(
            f"clinic {clinic_id} does not exist among this request's clinics you steward",
            field="clinic_id",
        )
    if decision is ApprovalDecision.pending:
        raise InvalidInput("decide with approved or rejected", field="decision")
    if request.status is not ResearchStatus.pending:
        raise ResearchRequestNotReady(f"the request is already {request.status.value}")
    approval.decision = decision
    approval.steward_id = principal.user_ref
    approval.decided_at = datetime.now(UTC)
    approval.note = note.strip() or None
    decisions = {a.decision for a in request.approvals}
    if ApprovalDecision.rejected in decisions:
        request.status = ResearchStatus.rejected
    elif decisions == {ApprovalDecision.approved}:
        request.status = ResearchStatus.approved
    audit.record(
        session,
        principal,
        decision.value,
        "research_request",
        request.id,
        detail={"clinic_id": clinic_id, "note": approval.note},
    )
    return request


# ------------------------------------------------------------------------------- exporting


def _cohort_patient_ids(session: Session, request: ResearchRequest, today: date) -> list[str]:
    cohort = request.cohort
    diagnoses = set(cohort.get("diagnoses") or [])
    sexes = set(cohort.get("sexes") or [])
    low, high = cohort.get("min_age_years"), cohort.get("max_age_years")
    chosen: list[str] = []
    for clinic_id in cohort["clinic_ids"]:
        for patient in patients_service.clinic_patients(
            session, SYSTEM_EXPORT, clinic_id, order="id"
        ):
            age = (
                today.year
                - patient.birth_date.year
                - ((today.month, today.day) < (patient.birth_date.month, patient.birth_date.day))
            )
            if diagnoses and patient.diagnosis.value not in diagnoses:
                continue
            if sexes and patient.sex.value not in sexes:
                continue
            if (low is not None and age < low) or (high is not None and age > high):
                continue
            chosen.append(patient.id)
    return chosen


def _risk_json(report: RiskReport) -> dict[str, Any]:
    def figures(f: Any) -> dict[str, float]:
        return {"highest": f.highest, "average": f.average, "records_at_risk": f.records_at_risk}

    return {
        "prosecutor": figures(report.prosecutor),
        "journalist": figures(report.journalist),
        "marketer": report.marketer,
        "threshold": report.threshold,
        "classes": report.classes,
        "records": report.records,
    }


def export(
    session: Session, principal: Principal, request_id: str, today: date | None = None
) -> ResearchExport:
    """Release the approved data set: only patients whose research consent is in force now,
    de-identified to the request's k, l and suppression limit, with the risk before and
    after; audited once per patient released."""
    request = get_request(session, principal, request_id)
    if request.researcher_id != principal.user_id and not principal.is_system:
        raise PermissionDenied("only the researcher who asked for the data set exports it")
    if request.status is not ResearchStatus.approved:
        waiting = [
            a.clinic_id for a in request.approvals if a.decision is not ApprovalDecision.approved
        ]
        raise ResearchRequestNotReady(
            f"the request is {request.status.value}; every contributing clinic's steward must "
            f"approve it first (waiting for {len(waiting)} of {len(request.approvals)})"
        )
    today = today or datetime.now(UTC).date()
    candidates = _cohort_patient_ids(session, request, today)
    consented = consent_rules.consented_patient_ids(session, candidates, ConsentPurpose.research)
    included = [pid for pid in candidates if pid in consented]
    if not included:
        raise PrivacyModelUnreachable(
            "no patient of the cohort has research consent in force; nothing can be exported"
        )
    secret = bytes.fromhex(request.pseudonym_secret_hex)
    rows = cohort_rows(session, included, secret, today)
    chosen = [v for v in request.variables]
    quasi = {n: VARIABLES[n].hierarchy for n in chosen if VARIABLES[n].role == "quasi-identifier"}
    hierarchies = {n: h for n, h in quasi.items() if h is not None}
    sensitive = [n for n in chosen if VARIABLES[n].role == "sensitive"]
    table = rows[["pseudonym", *chosen]]
    model = PrivacyModel(
        k=request.k,
        l_diversity=request.l_diversity if sensitive else 1,
        suppression_limit=request.suppression_limit,
    )
    try:
        before = risk(table, list(hierarchies), RISK_THRESHOLD)
        result = anonymise(table, hierarchies, model, sensitive)
        after = risk(result.released, list(hierarchies), RISK_THRESHOLD)
    except DeidentificationError as exc:
        raise PrivacyModelUnreachable(str(exc), field="k") from exc
    released_ids = [str(rows["_patient_id"].iloc[i]) for i in result.kept_index]
    record = ResearchExport(
        request_id=request.id,
        created_by_id=principal.user_ref,
        record_count=len(result.released),
        suppressed_count=result.suppressed_count,
        k_achieved=result.k_achieved,
        l_achieved=result.l_achieved,
        risk_before=_risk_json(before),
        risk_after=_risk_json(after),
        levels=result.levels,
    )
    session.add(record)
    session.flush()
    for pid in released_ids:
        session.add(ExportedPatient(export_id=record.id, patient_id=pid))
    provenance = {
        "export_id": record.id,
        "request": {
            "id": request.id,
            "title": request.title,
            "purpose": request.purpose,
            "cohort": request.cohort,
            "variables": request.variables,
        },
        "approvals": [
            {
                "clinic_id": a.clinic_id,
                "decision": a.decision.value,
                "steward_id": a.steward_id,
                "decided_at": a.decided_at.isoformat() if a.decided_at else None,
            }
            for a in request.approvals
        ],
        "consent_snapshot": {
            "purpose": ConsentPurpose.research.value,
            "taken_at": datetime.now(UTC).isoformat(),
            "cohort_patients": len(candidates),
            "with_consent_in_force": len(included),
            "left_out_without_consent": len(candidates) - len(included),
        },
        "privacy_model": {
            "k": request.k,
            "l_diversity": model.l_diversity,
            "sensitive_attributes": sensitive,
            "suppression_limit": request.suppression_limit,
            "generalisation_levels": result.levels,
            "k_achieved": result.k_achieved,
            "l_achieved": result.l_achieved,
            "suppressed_records": result.suppressed_count,
        },
        "risk_before": _risk_json(before),
        "risk_after": _risk_json(after),
        "pseudonyms": "HMAC-SHA-256 with this project's secret; dates shifted per patient",
        "software": {"exoshare": __version__},
    }
    files = {
        "data.parquet": ("application/vnd.apache.parquet", _parquet(result.released)),
        "data.csv": ("text/csv", result.released.to_csv(index=False).encode()),
        "dictionary.csv": ("text/csv", _dictionary(chosen, result.levels)),
        "provenance.json": (
            "application/json",
            json.dumps(provenance, indent=2, sort_keys=True).encode(),
        ),
    }
    for name, (media_type, content) in files.items():
        session.add(
            ResearchExportFile(
                export_id=record.id, name=name, media_type=media_type, content=content
            )
        )
    session.flush()
    for pid in released_ids:
        audit.record(session, principal, "export", "research_export", record.id, patient_id=pid)
    audit.record(
        session,
        principal,
        "export",
        "research_request",
        request.id,
        detail={"export_id": record.id, "records": len(released_ids)},
    )
    session.refresh(record)
    return record


def _parquet(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue()


def _dictionary(names: list[str], levels: dict[str, int]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["variable", "description", "unit", "role", "generalisation_level"])
    writer.writerow(["pseudonym", "Keyed pseudonym of the patient in this project", "", "id", ""])
    for name in names:
        v = VARIABLES[name]
        writer.writerow([name, v.description, v.unit or "", v.role, levels.get(name, "")])
    return out.getvalue().encode()


def exports_of(session: Session, principal: Principal, request_id: str) -> list[ResearchExport]:
    request = get_request(session, principal, request_id)
    rows = session.scalars(
        select(ResearchExport)
        .options(selectinload(ResearchExport.files))
        .where(ResearchExport.request_id == request.id)
        .order_by(ResearchExport.created_at)
    ).all()
    return list(rows)


def export_file(
    session: Session, principal: Principal, export_id: str, name: str
) -> ResearchExportFile:
    """One file of an export, for its researcher (stewards see the figures, not the rows)."""
    record = session.get(ResearchExport, export_id)
    hidden = NotFound(f"export {export_id} not found")
    if record is None:
        raise hidden
    try:
        request = get_request(session, principal, record.request_id)
    except NotFound:
        raise hidden from None
    if request.researcher_id != principal.user_id:
        raise hidden
    found = session.get(ResearchExportFile, (export_id, name))
    if found is None:
        raise NotFound(f"export {export_id} has no file {name}")
    audit.record(
        session, principal, "download", "research_export", export_id, detail={"file": name}
    )
    return found
