"""HTML pages of a device unit and of a device model."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from exoshare.auth.gate import CurrentPrincipal
from exoshare.deps import DbSession
from exoshare.devices import service
from exoshare.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/devices/{unit_id}", response_class=HTMLResponse)
def device_page(
    unit_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse:
    unit = service.get_unit(session, principal, unit_id)
    model = service.get_model(session, unit.model_id)
    return render(request, "device.html", principal, unit=unit, model=model)


@router.get("/device-models/{model_id}", response_class=HTMLResponse)
def device_model_page(
    model_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse:
    model = service.get_model(session, model_id)
    return render(request, "device_model.html", principal, model=model, unit=None)
