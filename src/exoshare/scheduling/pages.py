"""HTML pages of scheduling: a clinic's waitlist, its calendar, and utilisation per clinic."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from exoshare.auth.gate import CurrentPrincipal, page_requires
from exoshare.auth.scope import Permission, Principal
from exoshare.bounds import CalendarDate
from exoshare.db import utcnow
from exoshare.deps import DbSession
from exoshare.errors import NotFound
from exoshare.network import service as network_service
from exoshare.scheduling import calendar as calendars
from exoshare.scheduling.clinics import zone_of
from exoshare.scheduling.priority import Priority
from exoshare.scheduling.utilisation import utilisation
from exoshare.scheduling.waitlist import waitlist
from exoshare.web.labels import N_
from exoshare.web.render import render, request_gettext

if TYPE_CHECKING:
    from exoshare.network.models import OrgUnit
    from exoshare.scheduling.models import BookedSession

router = APIRouter(include_in_schema=False)

PRIORITY = {
    Priority.urgent: N_("Urgent"),
    Priority.high: N_("High"),
    Priority.routine: N_("Routine"),
}


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
) -> HTMLResponse:
    clinics = network_service.visible_clinics(session, principal, Permission.patients_read)
    clinic = _pick(clinics, clinic_id)
    return render(
        request,
        "scheduling/waitlist.html",
        principal,
        clinics=clinics,
        clinic=clinic,
        rows=waitlist(session, principal, clinic.id),
        priority_label=lambda value: request_gettext(request, principal)(PRIORITY[value]),
    )


@router.get("/calendar", response_class=HTMLResponse)
def calendar_page(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    clinic_id: str | None = None,
    start: CalendarDate | None = None,
) -> HTMLResponse:
    clinics = network_service.visible_clinics(session, principal, Permission.fleet_read)
    clinic = _pick(clinics, clinic_id)
    monday = _monday(start or utcnow().date())
    sessions = calendars.calendar(session, principal, clinic.id, monday, 7)
    days = [monday + timedelta(days=i) for i in range(7)]
    by_day: dict[date, list[tuple[datetime, BookedSession]]] = {d: [] for d in days}
    zone = zone_of(clinic)
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
        named=calendars.nameable_patients(session, principal, sessions),
    )


@router.get("/utilisation", response_class=HTMLResponse)
def utilisation_page(
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, Depends(page_requires(Permission.fleet_read))],
    start: CalendarDate | None = None,
) -> HTMLResponse:
    monday = _monday(start or utcnow().date())
    rows = sorted(utilisation(session, principal, monday, 4), key=lambda r: (-r.pct, r.clinic.code))
    return render(request, "scheduling/utilisation.html", principal, rows=rows, start=monday)
