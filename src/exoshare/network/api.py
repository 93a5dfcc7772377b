"""HTTP routes of the network: org units and partners (the tree with its counts: exoshare.home)."""

from __future__ import annotations

from fastapi import APIRouter, status

from exoshare.auth.gate import CurrentPrincipal
from exoshare.deps import DbSession, Paging
from exoshare.network import service
from exoshare.network.schemas import (
    OrgUnitCreate,
    OrgUnitKind,
    OrgUnitOut,
    OrgUnitUpdate,
    PartnerKind,
    PartnerOut,
)
from exoshare.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["network"])


@router.get("/org-units", response_model=Page[OrgUnitOut])
def list_org_units(
    session: DbSession, principal: CurrentPrincipal, paging: Paging, kind: OrgUnitKind | None = None
) -> Page[OrgUnitOut]:
    rows, total = service.list_org_units(session, principal, kind, paging.limit, paging.offset)
    return Page.of(OrgUnitOut, rows, total, paging.limit, paging.offset)


@router.post("/org-units", response_model=OrgUnitOut, status_code=status.HTTP_201_CREATED)
def create_org_unit(
    body: OrgUnitCreate, session: DbSession, principal: CurrentPrincipal
) -> OrgUnitOut:
    data = body.model_dump()
    unit = service.create_org_unit_for(
        session,
        principal,
        data.pop("parent_id"),
        data.pop("code"),
        data.pop("name"),
        data.pop("kind"),
        **data,
    )
    return OrgUnitOut.model_validate(unit)


@router.get("/org-units/{org_unit_id}", response_model=OrgUnitOut)
def get_org_unit(org_unit_id: str, session: DbSession, principal: CurrentPrincipal) -> OrgUnitOut:
    return OrgUnitOut.model_validate(service.get_org_unit(session, principal, org_unit_id))


@router.patch("/org-units/{org_unit_id}", response_model=OrgUnitOut)
def update_org_unit(
    org_unit_id: str, body: OrgUnitUpdate, session: DbSession, principal: CurrentPrincipal
) -> OrgUnitOut:
    unit = service.update_org_unit(
        session,
        principal,
        org_unit_id,
        body.name,
        body.closed_on,
        reopen="closed_on" in body.model_fields_set and body.closed_on is None,
    )
    return OrgUnitOut.model_validate(unit)


@router.get("/partners", response_model=Page[PartnerOut])
def list_partners(
    session: DbSession,
    _principal: CurrentPrincipal,
    paging: Paging,
    kind: PartnerKind | None = None,
) -> Page[PartnerOut]:
    rows, total = service.list_partners(session, kind, paging.limit, paging.offset)
    return Page.of(PartnerOut, rows, total, paging.limit, paging.offset)
