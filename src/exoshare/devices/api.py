"""HTTP routes of device models and units."""

from __future__ import annotations

from fastapi import APIRouter, status

from exoshare.auth.gate import CurrentPrincipal
from exoshare.deps import DbSession, Paging
from exoshare.devices import service
from exoshare.devices.envelope import SettingLimit
from exoshare.devices.schemas import (
    DeviceModelCreate,
    DeviceModelOut,
    DeviceUnitCreate,
    DeviceUnitOut,
    DeviceUnitStatusUpdate,
    UnitStatus,
)
from exoshare.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["devices"])


@router.get("/device-models", response_model=Page[DeviceModelOut])
def list_models(
    session: DbSession, _principal: CurrentPrincipal, paging: Paging
) -> Page[DeviceModelOut]:
    rows, total = service.list_models(session, paging.limit, paging.offset)
    return Page.of(DeviceModelOut, rows, total, paging.limit, paging.offset)


@router.post("/device-models", response_model=DeviceModelOut, status_code=status.HTTP_201_CREATED)
def create_model(
    body: DeviceModelCreate, session: DbSession, principal: CurrentPrincipal
) -> DeviceModelOut:
    data = body.model_dump(exclude={"envelope"})
    envelope = [SettingLimit(**e.model_dump()) for e in body.envelope]
    return DeviceModelOut.model_validate(
        service.create_model(session, principal, envelope=envelope, **data)
    )


@router.get("/device-models/{model_id}", response_model=DeviceModelOut)
def get_model(model_id: str, session: DbSession, _principal: CurrentPrincipal) -> DeviceModelOut:
    return DeviceModelOut.model_validate(service.get_model(session, model_id))


@router.get("/device-units", response_model=Page[DeviceUnitOut])
def list_units(
    session: DbSession,
    principal: CurrentPrincipal,
    paging: Paging,
    org_unit_id: str | None = None,
    model_id: str | None = None,
    status: UnitStatus | None = None,
) -> Page[DeviceUnitOut]:
    rows, total = service.list_units(
        session, principal, org_unit_id, model_id, status, paging.limit, paging.offset
    )
    return Page.of(DeviceUnitOut, rows, total, paging.limit, paging.offset)


@router.post("/device-units", response_model=DeviceUnitOut, status_code=status.HTTP_201_CREATED)
def create_unit(
    body: DeviceUnitCreate, session: DbSession, principal: CurrentPrincipal
) -> DeviceUnitOut:
    return DeviceUnitOut.model_validate(
        service.create_unit(session, principal, **body.model_dump())
    )


@router.get("/device-units/{unit_id}", response_model=DeviceUnitOut)
def get_unit(unit_id: str, session: DbSession, principal: CurrentPrincipal) -> DeviceUnitOut:
    return DeviceUnitOut.model_validate(service.get_unit(session, principal, unit_id))


@router.put("/device-units/{unit_id}/status", response_model=DeviceUnitOut)
def set_status(
    unit_id: str, body: DeviceUnitStatusUpdate, session: DbSession, principal: CurrentPrincipal
) -> DeviceUnitOut:
    return DeviceUnitOut.model_validate(
        service.set_unit_status(session, principal, unit_id, body.status, body.reason)
    )
