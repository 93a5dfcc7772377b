"""HTML pages of scheduling: a clinic's waitlist, its calendar, and utilisation per clinic."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from exoshare.auth.gate import CurrentPrincipal, page_requires
from exoshare.auth.scope import Permission, Principal
from exoshare.bounds import CalendarDate
from exoshare.db import utcnow
from exoshare.deps import DbSession
from exoshare.errors import NotFound
from exoshare.network import service as network_service
from exoshare.network.models import OrgUnit
from exoshare.network.schemas import OrgUnitKind
from exoshare.scheduling import service
from exoshare.scheduling.models import Priority
from exoshare.web.labels import N_
from exoshare.web.render import render, request_gettext

router = APIRouter(include_in_schema=False)

PRIORITY = {
    Priority.urgent: N_("Urgent"),
    Priority.high: N_("High"),
    Priority.routine: N_("Routine"),
}


def _clinics(session: DbSession, principal: Principal, permission: Permission) -> list[OrgUnit]:
    rows, _ = network_service.list_org_units(session, principal, OrgUnitKind.clinic, limit=500)
    return [c for c in rows if principal.covers(permission, c.path)]


def _pick(clinics: list[OrgUnit], clinic_id: str | None) -> OrgUnit:
    if not clinics:
        raise NotFound("page not found")
    if clinic_id is None:
        return clinics[0]
    for clinic in clinics:
        if clinic.id == clinic_id:
            return clinic
    raise NotFound(f"clinic {clinic_id} not found")


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


@router.get("/waitlist", response_class=HTMLResponse)
def waitlist_page(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    clinic_id: str | None = None,
) -> Response:
    clinics = _clinics(session, principal, Permission.patients_read)
    clinic = _pick(clinics, clinic_id)
    return render(
        request,
        "scheduling/waitlist.html",
        principal,
        clinics=clinics,
        clinic=clinic,
        rows=service.waitlist(session, principal, clinic.id),
        priority_label=lambda value: request_gettext(request, principal)(PRIORITY[value]),
    )


@router.get("/calendar", response_class=HTMLResponse)
def calendar_page(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    clinic_id: str | None = None,
    start: CalendarDate | None = None,
) -> Response:
    clinics = _clinics(session, principal, Permission.fleet_read)
    clinic = _pick(clinics, clinic_id)
    monday = _monday(start or utcnow().date())
    sessions = service.calendar(session, principal, clinic.id, monday, 7)
    days = [monday + timedelta(days=i) for i in range(7)]
    by_day: dict[date, list] = {d: [] for d in days}
    zone = service._zone(clinic)
    for booked in sessions:
        local = booked.starts_at.astimezone(zone)
        by_day.setdefault(local.date(), []).append((local, booked))
    return render(
        request,
        "scheduling/calendar.html",
        principal,
        clinics=clinics,
        clinic=clinic,
        days=days,
        by_day=by_day,
        previous=monday - timedelta(days=7),
        following=monday + timedelta(days=7),
        named=service.nameable_patients(principal, sessions),
    )


@router.get("/utilisation", response_class=HTMLResponse)
def utilisation_page(
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, Depends(page_requires(Permission.fleet_read))],
    start: CalendarDate | None = None,
) -> Response:
    monday = _monday(start or utcnow().date())
    rows = sorted(
        service.utilisation(session, principal, monday, 4), key=lambda r: (-r.pct, r.clinic.code)
    )
    return render(request, "scheduling/utilisation.html", principal, rows=rows, start=monday)
