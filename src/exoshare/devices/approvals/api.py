"""HTTP routes of regulatory approvals, recognition agreements and the eligibility query."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from exoshare.auth.gate import CurrentPrincipal
from exoshare.deps import DbSession
from exoshare.devices.approvals import service as approvals
from exoshare.devices.approvals.jurisdictions import JURISDICTIONS
from exoshare.devices.approvals.schemas import (
    AgreementIn,
    AgreementOut,
    ApprovalIn,
    ApprovalOut,
    EligibilityOut,
    JurisdictionOut,
)

router = APIRouter(prefix="/api/v1", tags=["approvals"])


@router.get("/jurisdictions", response_model=list[JurisdictionOut])
def jurisdictions(_principal: CurrentPrincipal) -> list[JurisdictionOut]:
    return [
        JurisdictionOut(code=j.code, name=j.name, countries=sorted(j.countries))
        for j in JURISDICTIONS.values()
    ]


@router.get("/device-models/{model_id}/approvals", response_model=list[ApprovalOut])
def list_approvals(
    model_id: str, session: DbSession, _principal: CurrentPrincipal
) -> list[ApprovalOut]:
    return [ApprovalOut.model_validate(a) for a in approvals.list_approvals(session, model_id)]


@router.put("/device-models/{model_id}/approvals", response_model=ApprovalOut)
def record_approval(
    model_id: str, body: ApprovalIn, session: DbSession, principal: CurrentPrincipal
) -> ApprovalOut:
    """Record or update the status of the model in one jurisdiction."""
    return ApprovalOut.model_validate(
        approvals.record_approval(session, principal, model_id, **body.model_dump())
    )


@router.get("/recognition-agreements", response_model=list[AgreementOut])
def list_agreements(session: DbSession, _principal: CurrentPrincipal) -> list[AgreementOut]:
    return [AgreementOut.model_validate(a) for a in approvals.list_agreements(session)]


@router.post(
    "/recognition-agreements", response_model=AgreementOut, status_code=status.HTTP_201_CREATED
)
def create_agreement(
    body: AgreementIn, session: DbSession, principal: CurrentPrincipal
) -> AgreementOut:
    return AgreementOut.model_validate(
        approvals.create_agreement(session, principal, **body.model_dump())
    )


@router.get("/device-models/{model_id}/eligibility", response_model=EligibilityOut)
def eligibility(
    model_id: str,
    session: DbSession,
    _principal: CurrentPrincipal,
    country: Annotated[str, Query(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")],
) -> EligibilityOut:
    """May the model be used on a patient in ``country``; on what basis; what shortens the way."""
    return EligibilityOut.model_validate(approvals.eligibility(session, model_id, country))
