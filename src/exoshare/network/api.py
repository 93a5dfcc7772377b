"""HTTP routes of the network: org units, partners and agreements (the tree with its counts:
exoshare.home)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from exoshare.auth.gate import CurrentPrincipal
from exoshare.auth.sessions import service as sessions
from exoshare.deps import DbSession, Paging
from exoshare.network import agreements, partners, service
from exoshare.network.schemas import (
    AgreementCreate,
    AgreementEnd,
    AgreementOut,
    AgreementStatus,
    Offering,
    OrgUnitCreate,
    OrgUnitKind,
    OrgUnitOut,
    OrgUnitUpdate,
    PartnerCreate,
    PartnerKind,
    PartnerOut,
    PartnerUpdate,
)
from exoshare.pagination import Page
from exoshare.runtime import runtime_of

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
        contact={
            name: getattr(body, name)
            for name in service.CONTACT_FIELDS
            if name in body.model_fields_set
        },
    )
    return OrgUnitOut.model_validate(unit)


@router.get("/partners", response_model=Page[PartnerOut])
def list_partners(
    session: DbSession,
    principal: CurrentPrincipal,
    paging: Paging,
    kind: PartnerKind | None = None,
    offering: Offering | None = None,
) -> Page[PartnerOut]:
    rows, total = partners.list_partners(
        session, principal, kind, offering, paging.limit, paging.offset
    )
    return Page.of(PartnerOut, rows, total, paging.limit, paging.offset)


@router.post("/partners", response_model=PartnerOut, status_code=status.HTTP_201_CREATED)
def create_partner(
    body: PartnerCreate, session: DbSession, principal: CurrentPrincipal
) -> PartnerOut:
    data = body.model_dump()
    partner = partners.create_partner(
        session, principal, data.pop("name"), data.pop("kind"), data.pop("country_code"), **data
    )
    return PartnerOut.model_validate(partner)


@router.get("/partners/{partner_id}", response_model=PartnerOut)
def get_partner(partner_id: str, session: DbSession, principal: CurrentPrincipal) -> PartnerOut:
    return PartnerOut.model_validate(partners.get_partner(session, principal, partner_id))


@router.patch("/partners/{partner_id}", response_model=PartnerOut)
def update_partner(
    partner_id: str, body: PartnerUpdate, session: DbSession, principal: CurrentPrincipal
) -> PartnerOut:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    return PartnerOut.model_validate(
        partners.update_partner(session, principal, partner_id, changes)
    )


@router.get("/agreements", response_model=list[AgreementOut])
def list_agreements(
    session: DbSession,
    principal: CurrentPrincipal,
    status: AgreementStatus | None = None,
    partner_id: str | None = None,
) -> list[AgreementOut]:
    rows = agreements.list_agreements(session, principal, status, partner_id)
    return [AgreementOut.model_validate(a) for a in rows]


@router.post("/agreements", response_model=AgreementOut, status_code=status.HTTP_201_CREATED)
def create_agreement(
    body: AgreementCreate, session: DbSession, principal: CurrentPrincipal
) -> AgreementOut:
    """A draft agreement between two partners; nothing takes effect until it is activated."""
    agreement = agreements.create_agreement(session, principal, **body.model_dump())
    return AgreementOut.model_validate(agreement)


@router.get("/agreements/{agreement_id}", response_model=AgreementOut)
def get_agreement(
    agreement_id: str, session: DbSession, principal: CurrentPrincipal
) -> AgreementOut:
    return AgreementOut.model_validate(agreements.get_agreement(session, principal, agreement_id))


@router.post("/agreements/{agreement_id}/activate", response_model=AgreementOut)
def activate_agreement(
    agreement_id: str, session: DbSession, principal: CurrentPrincipal
) -> AgreementOut:
    """Put the agreement in force; a tele-supervision agreement grants its therapists the
    cover of the recipient clinic from the next request."""
    return AgreementOut.model_validate(agreements.activate(session, principal, agreement_id))


@router.post("/agreements/{agreement_id}/end", response_model=AgreementOut)
def end_agreement(
    agreement_id: str,
    body: AgreementEnd,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
) -> AgreementOut:
    """End or terminate the agreement; the cover it gave ends with it, and the covering
    therapists' open live views close once this commits (they are checked again on reconnect)."""
    ended = agreements.end_agreement(session, principal, agreement_id, body.reason, body.status)
    close_live_views(request, session, ended.user_ids)
    return AgreementOut.model_validate(ended.agreement)


def close_live_views(request: Request, session: DbSession, user_ids: list[str]) -> None:
    """Close the live sockets of users whose cover just ended, after the commit."""
    credential_ids = [c.id for u in user_ids for c in sessions.active_credentials(session, u)]
    if credential_ids:
        runtime_of(request).live_sockets.close_when_committed(
            session, credential_ids, "agreement ended"
        )
