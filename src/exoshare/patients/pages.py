"""HTML routes of patient records: the searchable patient table and one patient's page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from exoshare.auth.gate import CurrentPrincipal
from exoshare.auth.scope import Permission
from exoshare.bounds import SQL_BIGINT_MAX
from exoshare.deps import DbSession
from exoshare.patients import service
from exoshare.web.render import render

router = APIRouter(include_in_schema=False)

PATIENTS_PER_PAGE = 25


@router.get("/patients/search", response_class=HTMLResponse)
def patient_search(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    q: str = "",
    page: Annotated[int, Query(ge=0, le=SQL_BIGINT_MAX // PATIENTS_PER_PAGE)] = 0,
) -> HTMLResponse:
    """The rows of the patient table, for htmx to swap in as the user types."""
    patients, total = service.list_patients(
        session,
        principal,
        search=q or None,
        limit=PATIENTS_PER_PAGE,
        offset=page * PATIENTS_PER_PAGE,
    )
    return render(
        request,
        "_patient_rows.html",
        principal,
        patients=patients,
        patients_total=total,
        page=page,
        per_page=PATIENTS_PER_PAGE,
        query=q,
    )


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(
    patient_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse:
    patient = service.get_patient(session, principal, patient_id)
    return render(
        request,
        "patient.html",
        principal,
        patient=patient,
        may_write=principal.covers(Permission.patients_write, patient.clinic.path),
    )
