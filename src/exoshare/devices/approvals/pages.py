"""HTML page of a device model's regulatory approvals and where it may be used."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from exoshare.auth.gate import CurrentPrincipal
from exoshare.deps import DbSession
from exoshare.devices import service as devices_service
from exoshare.devices.approvals import service as approvals
from exoshare.devices.approvals.jurisdictions import JURISDICTIONS
from exoshare.devices.approvals.schemas import ApprovalStatus
from exoshare.web.labels import N_
from exoshare.web.render import render, request_gettext

router = APIRouter(include_in_schema=False)

APPROVAL_STATUS = {
    ApprovalStatus.approved: N_("Approved"),
    ApprovalStatus.pending: N_("Pending"),
    ApprovalStatus.refused: N_("Refused"),
    ApprovalStatus.withdrawn: N_("Withdrawn"),
}


@router.get("/device-models/{model_id}/approvals", response_class=HTMLResponse)
def approvals_page(
    model_id: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    country: str | None = None,
) -> HTMLResponse:
    model = devices_service.get_model(session, model_id)
    gettext = request_gettext(request, principal)
    answer = approvals.eligibility(session, model_id, country) if country else None
    countries = approvals.approved_countries(session, [model_id]).get(model_id, set())
    return render(
        request,
        "devices/approvals.html",
        principal,
        model=model,
        approvals=approvals.list_approvals(session, model_id),
        agreements=approvals.list_agreements(session),
        jurisdictions=JURISDICTIONS,
        usable_in=sorted(countries),
        answer=answer,
        country=(country or "").upper(),
        approval_label=lambda value: gettext(APPROVAL_STATUS[value]),
    )
