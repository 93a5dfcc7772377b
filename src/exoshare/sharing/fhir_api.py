"""Read-only FHIR R4 facade (``/fhir/R4/...``) for authorised clients, and the Bundle import."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Query, Response, status

from exoshare.auth.gate import CurrentPrincipal
from exoshare.deps import DbSession
from exoshare.errors import N_, InvalidInput
from exoshare.patients.schemas import PatientOut
from exoshare.sharing import fhir, fhir_service

router = APIRouter(tags=["fhir"])

FHIR_JSON = "application/fhir+json"
DATE_PARAM = re.compile(r"^(eq|ge|gt|le|lt)?(\d{4}-\d{2}-\d{2})$")


class FhirResponse(Response):
    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _dates(values: list[str]) -> tuple[date | None, date | None]:
    """FHIR ``date`` search parameters (``ge2026-01-01``, ``le2026-03-31``, ``2026-02-01``)."""
    start = end = None
    for value in values:
        match = DATE_PARAM.match(value)
        if match is None:
            raise InvalidInput(
                f"date {value!r} is not a FHIR date search: use ge, le or eq with YYYY-MM-DD",
                field="date",
            )
        prefix, day_text = match.group(1) or "eq", match.group(2)
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise InvalidInput(f"date {day_text} does not exist", field="date") from None
        if not 1900 <= day.year <= 2999:
            raise InvalidInput.worded(N_("dates lie between 1900 and 2999"), also={"field": "date"})
        if prefix in ("eq", "ge", "gt"):
            start = day
        if prefix in ("eq", "le", "lt"):
            end = day
    return start, end


def _fhir_answer(what: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": what,
            "content": {FHIR_JSON: {"schema": {"type": "object", "required": ["resourceType"]}}},
        }
    }


PatientParam = Annotated[str, Query(min_length=1, max_length=100, description="Patient id")]
DateParam = Annotated[
    list[str], Query(description="FHIR date search, e.g. ge2026-01-01 (repeatable)")
]


def _patient_id(reference: str) -> str:
    return reference.removeprefix("Patient/")


@router.get(
    "/fhir/R4/Patient/{patient_id}",
    response_class=FhirResponse,
    responses=_fhir_answer("A FHIR R4 Patient"),
)
def read_patient(patient_id: str, session: DbSession, principal: CurrentPrincipal) -> FhirResponse:
    return FhirResponse(fhir_service.patient_resource(session, principal, patient_id))


@router.get(
    "/fhir/R4/Patient/{patient_id}/$everything",
    response_class=FhirResponse,
    responses=_fhir_answer("A FHIR R4 Bundle (collection)"),
)
def patient_everything(
    patient_id: str, session: DbSession, principal: CurrentPrincipal
) -> FhirResponse:
    """The patient's whole record as one Bundle."""
    return FhirResponse(fhir_service.everything(session, principal, patient_id))


@router.get(
    "/fhir/R4/Observation",
    response_class=FhirResponse,
    responses=_fhir_answer("A FHIR R4 Bundle (searchset)"),
)
def search_observations(
    session: DbSession,
    principal: CurrentPrincipal,
    patient: PatientParam,
    date: DateParam = [],  # noqa: B006 (FastAPI reads the default, never mutates it)
) -> FhirResponse:
    """Body measures (LOINC) and gait parameters (UCUM) of a patient, by date."""
    start, end = _dates(date)
    found = fhir_service.observations(session, principal, _patient_id(patient), start, end)
    return FhirResponse(fhir.bundle(found, "searchset"))


@router.get(
    "/fhir/R4/Encounter",
    response_class=FhirResponse,
    responses=_fhir_answer("A FHIR R4 Bundle (searchset)"),
)
def search_encounters(
    session: DbSession,
    principal: CurrentPrincipal,
    patient: PatientParam,
    date: DateParam = [],  # noqa: B006
) -> FhirResponse:
    """Therapy sessions of a patient, by date."""
    start, end = _dates(date)
    found = fhir_service.encounters(session, principal, _patient_id(patient), start, end)
    return FhirResponse(fhir.bundle(found, "searchset"))


@router.get(
    "/fhir/R4/Consent",
    response_class=FhirResponse,
    responses=_fhir_answer("A FHIR R4 Bundle (searchset)"),
)
def search_consents(
    session: DbSession, principal: CurrentPrincipal, patient: PatientParam
) -> FhirResponse:
    found = fhir_service.consents(session, principal, _patient_id(patient))
    return FhirResponse(fhir.bundle(found, "searchset"))


@router.post(
    "/api/v1/clinics/{clinic_id}/fhir-import",
    response_model=PatientOut,
    status_code=status.HTTP_201_CREATED,
)
def import_bundle(
    clinic_id: str,
    bundle: Annotated[dict[str, Any], Body(description="A FHIR R4 Bundle of one patient")],
    session: DbSession,
    principal: CurrentPrincipal,
) -> PatientOut:
    """Create a patient from a FHIR Bundle (Patient, Condition, height, weight, Consents)."""
    record = fhir_service.import_bundle(session, principal, clinic_id, bundle)
    return PatientOut.model_validate(record)
