"""HTTP routes of data sharing: a patient's consents, the research workspace and its exports."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from exoshare.auth.gate import CurrentPrincipal
from exoshare.consents.models import Consent
from exoshare.deps import DbSession
from exoshare.sharing import consent, research
from exoshare.sharing.dataset import VARIABLES
from exoshare.sharing.models import ResearchExport
from exoshare.sharing.schemas import (
    ConsentCreate,
    ConsentOut,
    ConsentWithdraw,
    ExportInclusionOut,
    ExportOut,
    ResearchDecision,
    ResearchRequestCreate,
    ResearchRequestOut,
    VariableOut,
)

router = APIRouter(tags=["sharing"])


def _consent_out(row: Consent) -> ConsentOut:
    return ConsentOut.model_validate(row)


def _export_out(row: ResearchExport) -> ExportOut:
    return ExportOut.model_validate(
        {
            "id": row.id,
            "request_id": row.request_id,
            "created_at": row.created_at,
            "record_count": row.record_count,
            "suppressed_count": row.suppressed_count,
            "k_achieved": row.k_achieved,
            "l_achieved": row.l_achieved,
            "risk_before": row.risk_before,
            "risk_after": row.risk_after,
            "levels": row.levels,
            "files": [f.name for f in row.files],
        }
    )


@router.get("/api/v1/patients/{patient_id}/consents", response_model=list[ConsentOut])
def list_consents(
    patient_id: str, session: DbSession, principal: CurrentPrincipal
) -> list[ConsentOut]:
    """Every consent decision of the patient, newest first (the patient, or the clinic's staff)."""
    return [_consent_out(c) for c in consent.consents_of(session, principal, patient_id)]


@router.post(
    "/api/v1/patients/{patient_id}/consents",
    response_model=ConsentOut,
    status_code=status.HTTP_201_CREATED,
)
def record_consent(
    patient_id: str, body: ConsentCreate, session: DbSession, principal: CurrentPrincipal
) -> ConsentOut:
    """Record a grant or refusal for one purpose; it replaces the decision in force."""
    return _consent_out(consent.record_consent(session, principal, patient_id, body))


@router.post(
    "/api/v1/patients/{patient_id}/consents/{consent_id}/withdraw", response_model=ConsentOut
)
def withdraw_consent(
    patient_id: str,
    consent_id: str,
    body: ConsentWithdraw,
    session: DbSession,
    principal: CurrentPrincipal,
) -> ConsentOut:
    """Withdraw a grant: later reads, exports and training rounds leave the patient out."""
    return _consent_out(
        consent.withdraw_consent(session, principal, patient_id, consent_id, body.reason)
    )


@router.get(
    "/api/v1/patients/{patient_id}/research-exports", response_model=list[ExportInclusionOut]
)
def exports_including(
    patient_id: str, session: DbSession, principal: CurrentPrincipal
) -> list[ExportInclusionOut]:
    """The research exports already released that held this patient's de-identified record."""
    return consent.exports_including(session, principal, patient_id)


@router.get("/api/v1/research/variables", response_model=list[VariableOut])
def variables(principal: CurrentPrincipal) -> list[VariableOut]:
    """What a data set may hold (names, record numbers and free text are never offered)."""
    return [
        VariableOut(name=v.name, description=v.description, unit=v.unit, role=v.role)
        for v in VARIABLES.values()
    ]


@router.get("/api/v1/research/requests", response_model=list[ResearchRequestOut])
def list_requests(session: DbSession, principal: CurrentPrincipal) -> list[ResearchRequestOut]:
    """The caller's own requests (researcher) and those asking a clinic they steward."""
    return [
        ResearchRequestOut.model_validate(r) for r in research.list_requests(session, principal)
    ]


@router.post(
    "/api/v1/research/requests",
    response_model=ResearchRequestOut,
    status_code=status.HTTP_201_CREATED,
)
def create_request(
    body: ResearchRequestCreate, session: DbSession, principal: CurrentPrincipal
) -> ResearchRequestOut:
    return ResearchRequestOut.model_validate(research.create_request(session, principal, body))


@router.get("/api/v1/research/requests/{request_id}", response_model=ResearchRequestOut)
def get_request(
    request_id: str, session: DbSession, principal: CurrentPrincipal
) -> ResearchRequestOut:
    return ResearchRequestOut.model_validate(research.get_request(session, principal, request_id))


@router.post("/api/v1/research/requests/{request_id}/decisions", response_model=ResearchRequestOut)
def decide(
    request_id: str, body: ResearchDecision, session: DbSession, principal: CurrentPrincipal
) -> ResearchRequestOut:
    """A data steward approves or rejects the request for their clinic."""
    request = research.decide(
        session, principal, request_id, body.clinic_id, body.decision, body.note
    )
    return ResearchRequestOut.model_validate(request)


@router.post(
    "/api/v1/research/requests/{request_id}/exports",
    response_model=ExportOut,
    status_code=status.HTTP_201_CREATED,
)
def export(request_id: str, session: DbSession, principal: CurrentPrincipal) -> ExportOut:
    """Release the approved data set, de-identified, with its risk measured before and after."""
    return _export_out(research.export(session, principal, request_id))


@router.get("/api/v1/research/requests/{request_id}/exports", response_model=list[ExportOut])
def list_exports(
    request_id: str, session: DbSession, principal: CurrentPrincipal
) -> list[ExportOut]:
    return [_export_out(e) for e in research.exports_of(session, principal, request_id)]


@router.get(
    "/api/v1/research/exports/{export_id}/files/{name}",
    response_class=Response,
    responses={
        200: {
            "description": "The file as released",
            "content": {
                "text/csv": {},
                "application/json": {},
                "application/vnd.apache.parquet": {},
            },
        }
    },
)
def export_file(
    export_id: str, name: str, session: DbSession, principal: CurrentPrincipal
) -> Response:
    """One file of an export (data.parquet, data.csv, dictionary.csv, provenance.json)."""
    found = research.export_file(session, principal, export_id, name)
    return Response(
        found.content,
        media_type=found.media_type,
        headers={"Content-Disposition": f'attachment; filename="{found.name}"'},
    )
