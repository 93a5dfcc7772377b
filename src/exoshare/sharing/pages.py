"""HTML routes of data sharing: a patient's own consents, the research workspace for
researchers and data stewards, and one request with its approvals, exports and risks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from exoshare.auth.gate import CurrentPrincipal
from exoshare.auth.scope import Permission
from exoshare.consents.schemas import ConsentDecision, ConsentPurpose
from exoshare.deps import DbSession
from exoshare.errors import Conflict, InvalidInput, NotFound
from exoshare.network import service as network_service
from exoshare.patients import service as patients_service
from exoshare.patients.schemas import Diagnosis
from exoshare.sharing import consent, research
from exoshare.sharing.dataset import VARIABLES
from exoshare.sharing.schemas import (
    CONSENT_TEXT_VERSION,
    ApprovalDecision,
    Cohort,
    ConsentCreate,
    ResearchRequestCreate,
)
from exoshare.web.problem_words import problem_from_query, problem_query
from exoshare.web.render import render

router = APIRouter(include_in_schema=False)


def _own_patient_id(session: DbSession, principal: CurrentPrincipal) -> str:
    own = patients_service.patient_of_user(session, principal.user_id)
    if own is None:
        raise NotFound("no patient record is linked to your account")
    return own.id


@router.get("/my/consents", response_class=HTMLResponse)
def my_consents(
    request: Request, session: DbSession, principal: CurrentPrincipal, error: str = ""
) -> HTMLResponse:
    """A patient's own decisions, purpose by purpose, in plain words; each can be changed."""
    patient_id = _own_patient_id(session, principal)
    patient = patients_service.get_patient(session, principal, patient_id)
    rows = consent.consents_of(session, principal, patient_id)
    clinics = [c for c in network_service.located_clinics(session) if c.id != patient.clinic_id]
    names = {c.id: c.name for c in clinics}
    return render(
        request,
        "sharing/consents.html",
        principal,
        patient=patient,
        statuses=consent.status_of(rows),
        history=rows,
        clinics=clinics,
        clinic_names=names,
        exports=consent.exports_including(session, principal, patient_id),
        text_version=CONSENT_TEXT_VERSION,
        error=problem_from_query(request.query_params),
    )


@router.post("/my/consents")
def change_my_consent(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: Annotated[ConsentPurpose, Form()],
    decision: Annotated[ConsentDecision, Form()],
    partner_clinic_id: Annotated[str, Form(max_length=64)] = "",
) -> RedirectResponse:
    patient_id = _own_patient_id(session, principal)
    body = ConsentCreate(
        purpose=purpose,
        decision=decision,
        partner_clinic_id=partner_clinic_id or None,
        language=principal.locale or "en",
    )
    try:
        consent.record_consent(session, principal, patient_id, body)
    except InvalidInput as refused:
        session.rollback()
        return RedirectResponse(f"/my/consents?{problem_query(refused)}", status_code=303)
    return RedirectResponse("/my/consents", status_code=303)


@router.get("/patients/{patient_id}/consents", response_class=HTMLResponse)
def patient_consents(
    patient_id: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    error: str = "",
) -> HTMLResponse:
    """A patient's decisions for their clinic's staff, who record them from a signed form."""
    patient = patients_service.get_patient(session, principal, patient_id)
    rows = consent.consents_of(session, principal, patient_id)
    clinics = [c for c in network_service.located_clinics(session) if c.id != patient.clinic_id]
    return render(
        request,
        "sharing/patient_consents.html",
        principal,
        patient=patient,
        statuses=consent.status_of(rows),
        history=rows,
        clinics=clinics,
        clinic_names={c.id: c.name for c in clinics},
        purposes=list(ConsentPurpose),
        exports=consent.exports_including(session, principal, patient_id),
        may_write=principal.covers(Permission.patients_write, patient.clinic.path),
        error=problem_from_query(request.query_params),
    )


@router.post("/patients/{patient_id}/consents")
def record_patient_consent(
    patient_id: str,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: Annotated[ConsentPurpose, Form()],
    decision: Annotated[ConsentDecision, Form()],
    partner_clinic_id: Annotated[str, Form(max_length=64)] = "",
) -> RedirectResponse:
    patient = patients_service.get_patient(session, principal, patient_id)
    body = ConsentCreate(
        purpose=purpose,
        decision=decision,
        partner_clinic_id=(partner_clinic_id or None)
        if purpose is ConsentPurpose.remote_care
        else None,
        language=patient.preferred_language,
    )
    try:
        consent.record_consent(session, principal, patient_id, body)
    except InvalidInput as refused:
        session.rollback()
        return RedirectResponse(
            f"/patients/{patient_id}/consents?{problem_query(refused)}", status_code=303
        )
    return RedirectResponse(f"/patients/{patient_id}/consents", status_code=303)


@router.post("/patients/{patient_id}/consents/{consent_id}/withdraw")
def withdraw_patient_consent(
    patient_id: str,
    consent_id: str,
    session: DbSession,
    principal: CurrentPrincipal,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> RedirectResponse:
    try:
        consent.withdraw_consent(session, principal, patient_id, consent_id, reason)
    except InvalidInput as refused:
        session.rollback()
        return RedirectResponse(
            f"/patients/{patient_id}/consents?{problem_query(refused)}", status_code=303
        )
    return RedirectResponse(f"/patients/{patient_id}/consents", status_code=303)


@router.get("/research", response_class=HTMLResponse)
def research_page(
    request: Request, session: DbSession, principal: CurrentPrincipal, error: str = ""
) -> HTMLResponse:
    """Researchers: their requests and a new one. Stewards: requests asking their clinics."""
    if not (
        principal.can(Permission.research_request) or principal.can(Permission.research_steward)
    ):
        raise NotFound("page not found")
    return render(
        request,
        "sharing/research.html",
        principal,
        requests=research.list_requests(session, principal),
        may_request=principal.can(Permission.research_request),
        clinics=network_service.clinics_in_scope(session, principal, Permission.network_read)
        if principal.can(Permission.research_request)
        else [],
        diagnoses=list(Diagnosis),
        variables=list(VARIABLES.values()),
        error=problem_from_query(request.query_params),
    )


@router.post("/research/requests")
def create_request(
    session: DbSession,
    principal: CurrentPrincipal,
    title: Annotated[str, Form(max_length=200)],
    purpose: Annotated[str, Form(max_length=2000)],
    clinic_ids: Annotated[list[str], Form()],
    variables: Annotated[list[str], Form()],
    diagnoses: Annotated[list[str], Form()] = [],  # noqa: B006 (read, never mutated)
    k: Annotated[int, Form(ge=2, le=100)] = 5,
    l_diversity: Annotated[int, Form(ge=1, le=10)] = 2,
    suppression_pct: Annotated[float, Form(ge=0, le=50)] = 5.0,
) -> RedirectResponse:
    try:
        body = ResearchRequestCreate(
            title=title,
            purpose=purpose,
            cohort=Cohort(clinic_ids=clinic_ids, diagnoses=[Diagnosis(d) for d in diagnoses]),
            variables=variables,
            k=k,
            l_diversity=l_diversity,
            suppression_limit=suppression_pct / 100,
        )
        created = research.create_request(session, principal, body)
    except (InvalidInput, ValidationError, ValueError) as refused:
        session.rollback()
        return RedirectResponse(f"/research?{problem_query(refused)}", status_code=303)
    return RedirectResponse(f"/research/requests/{created.id}", status_code=303)


@router.get("/research/requests/{request_id}", response_class=HTMLResponse)
def request_page(
    request_id: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    error: str = "",
) -> HTMLResponse:
    found = research.get_request(session, principal, request_id)
    clinics = network_service.find_org_units(session, {a.clinic_id for a in found.approvals})
    stewarded = {
        a.clinic_id
        for a in found.approvals
        if principal.covers(Permission.research_steward, clinics[a.clinic_id].path)
    }
    return render(
        request,
        "sharing/request.html",
        principal,
        item=found,
        clinics=clinics,
        stewarded=stewarded,
        own=found.researcher_id == principal.user_id,
        exports=research.exports_of(session, principal, request_id),
        variables=VARIABLES,
        error=problem_from_query(request.query_params),
    )


@router.post("/research/requests/{request_id}/decisions")
def decide(
    request_id: str,
    session: DbSession,
    principal: CurrentPrincipal,
    clinic_id: Annotated[str, Form(max_length=64)],
    decision: Annotated[ApprovalDecision, Form()],
    note: Annotated[str, Form(max_length=1000)] = "",
) -> RedirectResponse:
    try:
        research.decide(session, principal, request_id, clinic_id, decision, note)
    except (InvalidInput, Conflict) as refused:
        session.rollback()
        return RedirectResponse(
            f"/research/requests/{request_id}?{problem_query(refused)}", status_code=303
        )
    return RedirectResponse(f"/research/requests/{request_id}", status_code=303)


@router.post("/research/requests/{request_id}/exports")
def export(request_id: str, session: DbSession, principal: CurrentPrincipal) -> RedirectResponse:
    try:
        research.export(session, principal, request_id)
    except (InvalidInput, Conflict) as refused:
        session.rollback()
        return RedirectResponse(
            f"/research/requests/{request_id}?{problem_query(refused)}", status_code=303
        )
    return RedirectResponse(f"/research/requests/{request_id}", status_code=303)
