"""HTML pages of scheduling: a clinic's waitlist, its calendar, utilisation per clinic, a
therapist's day, a patient's appointments, and capacity advice."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated
from urllib.parse import quote

from babel.dates import get_day_names
from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from exoshare.auth import service as auth_service
from exoshare.auth.gate import CurrentPrincipal, page_requires
from exoshare.auth.schemas import Role
from exoshare.auth.scope import Permission, Principal
from exoshare.bounds import CalendarDate
from exoshare.db import utcnow
from exoshare.deps import DbSession
from exoshare.devices import service as devices_service
from exoshare.errors import Conflict, InvalidInput, NotFound
from exoshare.network import service as network_service
from exoshare.network.phones import national_format
from exoshare.patients import service as patients_service
from exoshare.runtime import runtime_of
from exoshare.scheduling import appointments, capacity
from exoshare.scheduling import calendar as calendars
from exoshare.scheduling.clinics import zone_of
from exoshare.scheduling.desk import session_minutes, wish_names
from exoshare.scheduling.priority import Priority
from exoshare.scheduling.schemas import BookingStatus
from exoshare.scheduling.utilisation import utilisation
from exoshare.scheduling.waitlist import waitlist
from exoshare.web.labels import N_
from exoshare.web.render import render, request_gettext, request_locale

if TYPE_CHECKING:
    from exoshare.network.models import OrgUnit
    from exoshare.scheduling.models import BookedSession

router = APIRouter(include_in_schema=False)

PRIORITY = {
    Priority.urgent: N_("Urgent"),
    Priority.high: N_("High"),
    Priority.routine: N_("Routine"),
}

RUN_STATUS = {
    "queued": N_("queued"),
    "running": N_("running"),
    "done": N_("done"),
    "failed": N_("failed"),
}


def pick_clinic(clinics: list[OrgUnit], clinic_id: str | None) -> OrgUnit:
    """The clinic asked for among those the page offers (the first when none is asked)."""
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
    clinic = pick_clinic(clinics, clinic_id)
    return render(
        request,
        "scheduling/waitlist.html",
        principal,
        clinics=clinics,
        clinic=clinic,
        rows=(rows := waitlist(session, principal, clinic.id)),
        names=wish_names(session, [row.entry for row in rows]),
        session_minutes=session_minutes,
        manages=principal.covers(Permission.scheduling_manage, clinic.path),
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
    clinic = pick_clinic(clinics, clinic_id)
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
        manages=principal.covers(Permission.scheduling_manage, clinic.path),
        today=utcnow().astimezone(zone).date(),
        cancelled=request.query_params.get("cancelled") == "1",
        booked=request.query_params.get("booked"),
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


@router.get("/therapist/day", response_class=HTMLResponse)
def therapist_day_page(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    day: CalendarDate | None = None,
) -> HTMLResponse:
    """The signed-in therapist's sessions of one day across their clinics, in local time."""
    if not principal.has_role(Role.therapist):
        raise NotFound("page not found")
    shown = day or appointments.therapist_today(session, principal)
    sessions = appointments.therapist_day(session, principal, shown)
    return render(
        request,
        "scheduling/therapist_day.html",
        principal,
        day=shown,
        previous=shown - timedelta(days=1),
        following=shown + timedelta(days=1),
        sessions=sessions,
        named=patients_service.readable_patient_ids(
            session, principal, {a.patient.id for a in sessions}
        ),
    )


APPOINTMENTS_AHEAD_DAYS = 90
"""How far ahead a patient's page looks; a course is booked a few weeks at a time."""


@router.get("/my/appointments", response_class=HTMLResponse)
def my_appointments(
    request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse:
    """A patient's coming sessions in plain words; cancelled ones shown as cancelled."""
    own = patients_service.patient_of_user(session, principal.user_id)
    if own is None:
        raise NotFound("no patient record is linked to your account")
    now = utcnow()
    shown = appointments.patient_appointments(
        session, own.id, now, now + timedelta(days=APPOINTMENTS_AHEAD_DAYS)
    )
    return render(
        request,
        "scheduling/my_appointments.html",
        principal,
        appointments=shown,
        clinic=own.clinic,
        cancelled=BookingStatus.cancelled,
        phone_link=_phone_link,
    )


def _phone_link(clinic: OrgUnit) -> Markup:
    """A clinic's phone as its country writes it, dialled from the link in E.164."""
    shown = national_format(clinic.phone or "", clinic.country_code)
    return Markup('<a href="tel:{}"><bdi>{}</bdi></a>').format(clinic.phone, shown)


def _operator(principal: CurrentPrincipal) -> Principal:
    """Capacity advice is the operator's: anyone else is told the page does not exist."""
    if not principal.has_role(Role.consortium_operator):
        raise NotFound("page not found")
    return principal


Operator = Annotated[Principal, Depends(_operator)]


@router.get("/capacity", response_class=HTMLResponse)
def capacity_page(
    request: Request,
    session: DbSession,
    principal: Operator,
    capacity_run_id: str | None = None,
) -> HTMLResponse:
    runs = capacity.capacity_runs(session, principal)
    run = (
        capacity.capacity_run(session, principal, capacity_run_id)
        if capacity_run_id
        else next(iter(runs), None)
    )
    advice = run.advice if run else []
    clinics = {c.id: c for c in network_service.located_clinics(session)}
    models = {
        m.id: m.name
        for m in devices_service.models_by_ids(session, {a.model_id for a in advice if a.model_id})
    }
    therapists = auth_service.display_names(
        session, [a.therapist_id for a in advice if a.therapist_id]
    )
    today = utcnow().date()
    return render(
        request,
        "scheduling/capacity.html",
        principal,
        runs=runs,
        run=run,
        advice=advice,
        clinics=clinics,
        models=models,
        therapists=therapists,
        day_names=get_day_names("wide", locale=request_locale(request, principal)),
        next_monday=today + timedelta(days=7 - today.weekday()),
        status_label=lambda value: request_gettext(request, principal)(RUN_STATUS[value]),
        top_cut=max((a.wait_cut_days + a.wait_cut_sd for a in advice), default=0.0),
        error=request.query_params.get("error"),
    )


@router.post("/capacity")
def start_capacity_page(
    request: Request,
    background: BackgroundTasks,
    session: DbSession,
    principal: Operator,
    start: Annotated[date, Form()],
    weeks: Annotated[int, Form()] = 8,
    seeds: Annotated[int, Form()] = 3,
) -> RedirectResponse:
    try:
        run = capacity.start_capacity_run(session, principal, start, weeks=weeks, seeds=seeds)
    except (Conflict, InvalidInput) as refused:
        session.rollback()
        return RedirectResponse(f"/capacity?error={quote(refused.detail)}", status_code=303)
    background.add_task(capacity.execute_capacity_run, runtime_of(request).sessionmaker, run.id)
    return RedirectResponse(f"/capacity?capacity_run_id={run.id}", status_code=303)
