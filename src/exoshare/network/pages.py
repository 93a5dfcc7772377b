"""HTML pages of the network: the partner registry, a partner, agreements and their end."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from exoshare.auth.gate import CurrentPrincipal, page_requires
from exoshare.auth.scope import Permission, Principal
from exoshare.deps import DbSession
from exoshare.errors import Conflict, InvalidInput, NotFound
from exoshare.network import agreements, partners, service
from exoshare.network.api import close_live_views
from exoshare.network.phones import national_format
from exoshare.network.schemas import (
    AgreementStatus,
    Offering,
    OrgUnitKind,
    PartnerKind,
    PartnerUpdate,
)
from exoshare.web.labels import N_
from exoshare.web.problem_words import PageProblem, form_problem, problem_from_query, problem_query
from exoshare.web.render import render

router = APIRouter(include_in_schema=False)

FORM_HINTS = {
    "languages": N_("languages: write language codes of two or three letters, e.g. en, sw"),
    "countries": N_("countries: write two-letter country codes, e.g. KE, TZ"),
    "website": N_("website: write the whole address, starting with https://"),
    "name": N_("name: give the partner a name"),
}
"""What to write instead, per field of the edit form (the API names the rule itself)."""

Reader = Annotated[Principal, Depends(page_requires(Permission.network_read))]


def _codes(text: str, upper: bool) -> list[str]:
    """Codes typed as a comma- or space-separated list (``ES, PT``)."""
    words = [w.strip() for w in text.replace(",", " ").split()]
    return [w.upper() if upper else w.lower() for w in words if w]


@router.get("/partners", response_class=HTMLResponse)
def partners_page(
    request: Request,
    session: DbSession,
    principal: Reader,
    kind: PartnerKind | None = None,
    offering: Offering | None = None,
) -> HTMLResponse:
    rows, total = partners.list_partners(session, principal, kind, offering, limit=500)
    return render(
        request,
        "network/partners.html",
        principal,
        partners=rows,
        total=total,
        kind=kind,
        offering=offering,
        kinds=list(PartnerKind),
        offerings=list(Offering),
    )


@router.get("/partners/{partner_id}", response_class=HTMLResponse)
def partner_page(
    partner_id: str, request: Request, session: DbSession, principal: Reader
) -> HTMLResponse:
    partner = partners.get_partner(session, principal, partner_id)
    return render(
        request,
        "network/partner.html",
        principal,
        partner=partner,
        may_edit=partners.may_edit(session, principal, partner),
        agreements=agreements.list_agreements(session, principal, partner_id=partner.id),
        offerings=list(Offering),
        error=problem_from_query(request.query_params),
    )


@router.post("/partners/{partner_id}")
def edit_partner(
    partner_id: str,
    session: DbSession,
    principal: CurrentPrincipal,
    name: Annotated[str, Form(max_length=200)],
    description: Annotated[str, Form(max_length=2000)] = "",
    website: Annotated[str, Form(max_length=200)] = "",
    countries: Annotated[str, Form(max_length=400)] = "",
    languages: Annotated[str, Form(max_length=200)] = "",
    offers: Annotated[list[Offering] | None, Form()] = None,
    needs: Annotated[list[Offering] | None, Form()] = None,
) -> RedirectResponse:
    """The edit form: every field is sent, so every field is replaced (empty clears text)."""
    try:
        body = PartnerUpdate.model_validate(
            {
                "name": name.strip(),
                "description": description.strip() or None,
                "website": website.strip() or None,
                "countries": _codes(countries, upper=True),
                "languages": _codes(languages, upper=False),
                "offers": offers or [],
                "needs": needs or [],
            }
        )
        changes = {key: getattr(body, key) for key in body.model_fields_set}
        partners.update_partner(session, principal, partner_id, changes)
    except ValidationError as invalid:
        name = str(invalid.errors()[0]["loc"][0])
        hint = FORM_HINTS.get(name)
        refused = PageProblem.worded(InvalidInput.slug, hint) if hint else form_problem(invalid)
        return _back(session, f"/partners/{partner_id}", refused)
    except (Conflict, InvalidInput) as refused:
        return _back(session, f"/partners/{partner_id}", refused)
    return RedirectResponse(f"/partners/{partner_id}", status_code=303)


def _back(session: DbSession, target: str, refused: PageProblem | Exception) -> RedirectResponse:
    session.rollback()
    return RedirectResponse(f"{target}?{problem_query(refused)}", status_code=303)


@router.get("/agreements", response_class=HTMLResponse)
def agreements_page(
    request: Request,
    session: DbSession,
    principal: Reader,
    status: AgreementStatus | None = None,
) -> HTMLResponse:
    return render(
        request,
        "network/agreements.html",
        principal,
        agreements=agreements.list_agreements(session, principal, status),
        status=status,
        statuses=list(AgreementStatus),
    )


@router.get("/agreements/{agreement_id}", response_class=HTMLResponse)
def agreement_page(
    agreement_id: str, request: Request, session: DbSession, principal: Reader
) -> HTMLResponse:
    agreement = agreements.get_agreement(session, principal, agreement_id)
    parties = (agreement.provider, agreement.recipient)
    return render(
        request,
        "network/agreement.html",
        principal,
        agreement=agreement,
        may_activate=agreement.status is AgreementStatus.draft
        and all(partners.may_edit(session, principal, p) for p in parties),
        may_end=agreement.status in (AgreementStatus.draft, AgreementStatus.active)
        and any(partners.may_edit(session, principal, p) for p in parties),
        cover_names=agreements.cover_names(session, agreement),
        error=problem_from_query(request.query_params),
    )


@router.post("/agreements/{agreement_id}/activate")
def activate_agreement(
    agreement_id: str, session: DbSession, principal: CurrentPrincipal
) -> RedirectResponse:
    try:
        agreements.activate(session, principal, agreement_id)
    except (Conflict, InvalidInput) as refused:
        return _back(session, f"/agreements/{agreement_id}", refused)
    return RedirectResponse(f"/agreements/{agreement_id}", status_code=303)


@router.post("/agreements/{agreement_id}/end")
def end_agreement(
    agreement_id: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    reason: Annotated[str, Form(max_length=500)] = "",
    status: Annotated[AgreementStatus, Form()] = AgreementStatus.ended,
) -> RedirectResponse:
    try:
        ended = agreements.end_agreement(session, principal, agreement_id, reason, status)
    except (Conflict, InvalidInput) as refused:
        return _back(session, f"/agreements/{agreement_id}", refused)
    close_live_views(request, session, ended.user_ids)
    return RedirectResponse(f"/agreements/{agreement_id}", status_code=303)


@router.get("/clinics/{clinic_id}/contact", response_class=HTMLResponse)
def clinic_contact_page(
    clinic_id: str, request: Request, session: DbSession, principal: Reader
) -> HTMLResponse:
    """A clinic's address and phone, as its patients read them; editable by whoever may change
    the clinic (``network:write`` on it)."""
    clinic = service.get_org_unit(session, principal, clinic_id)
    if clinic.kind is not OrgUnitKind.clinic:
        raise NotFound(f"clinic {clinic_id} not found")
    return render(
        request,
        "network/clinic_contact.html",
        principal,
        clinic=clinic,
        phone_local=national_format(clinic.phone, clinic.country_code) if clinic.phone else None,
        may_edit=principal.covers(Permission.network_write, clinic.path),
        error=problem_from_query(request.query_params),
    )


@router.post("/clinics/{clinic_id}/contact")
def edit_clinic_contact(
    clinic_id: str,
    session: DbSession,
    principal: Reader,
    address_line1: Annotated[str, Form(max_length=200)] = "",
    address_line2: Annotated[str, Form(max_length=200)] = "",
    postcode: Annotated[str, Form(max_length=20)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
) -> RedirectResponse:
    """The edit form sends every line, so every line is replaced (empty clears it)."""
    target = f"/clinics/{clinic_id}/contact"
    try:
        service.update_org_unit(
            session,
            principal,
            clinic_id,
            contact={
                "address_line1": address_line1,
                "address_line2": address_line2,
                "postcode": postcode,
                "phone": phone,
            },
        )
    except InvalidInput as refused:
        return _back(session, target, refused)
    return RedirectResponse(target, status_code=303)
