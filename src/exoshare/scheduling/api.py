"""HTTP routes of scheduling: waitlist, schedule runs, bookings, a clinic's calendar and capacity
advice runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, status

from exoshare.auth.gate import CurrentPrincipal, require
from exoshare.auth.scope import Permission, Principal
from exoshare.bounds import CalendarDate
from exoshare.deps import DbSession
from exoshare.runtime import runtime_of
from exoshare.scheduling import bookings, capacity, hours, rebooking, runs
from exoshare.scheduling import calendar as calendars
from exoshare.scheduling import waitlist as waitlists
from exoshare.scheduling.schemas import (
    BookedSessionOut,
    BookingCancel,
    BookingCreate,
    BookingReschedule,
    CapacityRunCreate,
    CapacityRunOut,
    ScheduleRunCreate,
    ScheduleRunOut,
    TherapistLeaveCreate,
    TherapistLeaveOut,
    WaitlistCreate,
    WaitlistEntryOut,
    WaitlistRowOut,
    WaitlistWishes,
)

router = APIRouter(prefix="/api/v1", tags=["scheduling"])

ScheduleKeeper = Annotated[Principal, Depends(require(Permission.scheduling_manage))]
"""A caller who keeps some clinic's schedule; which clinics, the service checks per id."""


@router.post("/waitlist", response_model=WaitlistEntryOut, status_code=status.HTTP_201_CREATED)
def add(body: WaitlistCreate, session: DbSession, principal: ScheduleKeeper) -> WaitlistEntryOut:
    entry = waitlists.add_to_waitlist(session, principal, **body.model_dump())
    return WaitlistEntryOut.model_validate(entry)


@router.patch("/waitlist/{entry_id}", response_model=WaitlistEntryOut)
def change_wishes(
    entry_id: str, body: WaitlistWishes, session: DbSession, principal: ScheduleKeeper
) -> WaitlistEntryOut:
    entry = waitlists.change_session_wishes(session, principal, entry_id, **body.model_dump())
    return WaitlistEntryOut.model_validate(entry)


@router.get("/clinics/{clinic_id}/waitlist", response_model=list[WaitlistRowOut])
def waitlist(
    clinic_id: str, session: DbSession, principal: CurrentPrincipal
) -> list[WaitlistRowOut]:
    return [
        WaitlistRowOut(
            entry=WaitlistEntryOut.model_validate(row.entry),
            position=row.position,
            waited_days=row.waited_days,
            first_session_local=row.first_session_local,
            first_session_clinic=row.first_session_clinic,
        )
        for row in waitlists.waitlist(session, principal, clinic_id)
    ]


@router.post("/schedule-runs", response_model=ScheduleRunOut, status_code=status.HTTP_201_CREATED)
def run(body: ScheduleRunCreate, session: DbSession, principal: ScheduleKeeper) -> ScheduleRunOut:
    return ScheduleRunOut.model_validate(runs.run_schedule(session, principal, **body.model_dump()))


@router.post(
    "/booked-sessions", response_model=BookedSessionOut, status_code=status.HTTP_201_CREATED
)
def book(body: BookingCreate, session: DbSession, principal: ScheduleKeeper) -> BookedSessionOut:
    booked = bookings.book_session(session, principal, **body.model_dump())
    return BookedSessionOut.model_validate(booked)


@router.post("/booked-sessions/{booking_id}/cancel", response_model=BookedSessionOut)
def cancel(
    booking_id: str, body: BookingCancel, session: DbSession, principal: ScheduleKeeper
) -> BookedSessionOut:
    cancelled = rebooking.cancel_booking(session, principal, booking_id, body.reason)
    return BookedSessionOut.model_validate(cancelled)


@router.post(
    "/booked-sessions/{booking_id}/reschedule",
    response_model=BookedSessionOut,
    status_code=status.HTTP_201_CREATED,
)
def reschedule(
    booking_id: str, body: BookingReschedule, session: DbSession, principal: ScheduleKeeper
) -> BookedSessionOut:
    """Move a booking; the answer is the new booking (the old one stays, rescheduled)."""
    moved = rebooking.reschedule_booking(session, principal, booking_id, **body.model_dump())
    return BookedSessionOut.model_validate(moved)


@router.get("/clinics/{clinic_id}/calendar", response_model=list[BookedSessionOut])
def calendar(
    clinic_id: str,
    start: CalendarDate,
    session: DbSession,
    principal: CurrentPrincipal,
    days: Annotated[int, Query(description=f"Days to show, 1–{calendars.CALENDAR_MAX_DAYS}")] = 7,
) -> list[BookedSessionOut]:
    return [
        BookedSessionOut.model_validate(booked)
        for booked in calendars.calendar(session, principal, clinic_id, start, days)
    ]


@router.post(
    "/clinics/{clinic_id}/therapist-leave",
    response_model=TherapistLeaveOut,
    status_code=status.HTTP_201_CREATED,
)
def record_leave(
    clinic_id: str, body: TherapistLeaveCreate, session: DbSession, principal: ScheduleKeeper
) -> TherapistLeaveOut:
    leave = hours.record_leave(session, principal, clinic_id, **body.model_dump())
    return TherapistLeaveOut.model_validate(leave)


@router.post("/capacity-runs", response_model=CapacityRunOut, status_code=status.HTTP_202_ACCEPTED)
def start_capacity_run(
    body: CapacityRunCreate,
    request: Request,
    background: BackgroundTasks,
    session: DbSession,
    principal: CurrentPrincipal,
) -> CapacityRunOut:
    """Queue a what-if run of capacity advice; it runs after the response (poll its status)."""
    run = capacity.start_capacity_run(session, principal, **body.model_dump())
    out = CapacityRunOut.model_validate(run)
    background.add_task(capacity.execute_capacity_run, runtime_of(request).sessionmaker, run.id)
    return out


@router.get("/capacity-runs", response_model=list[CapacityRunOut])
def list_capacity_runs(session: DbSession, principal: CurrentPrincipal) -> list[CapacityRunOut]:
    return [CapacityRunOut.model_validate(r) for r in capacity.capacity_runs(session, principal)]


@router.get("/capacity-runs/{capacity_run_id}", response_model=CapacityRunOut)
def capacity_run(
    capacity_run_id: str, session: DbSession, principal: CurrentPrincipal
) -> CapacityRunOut:
    return CapacityRunOut.model_validate(capacity.capacity_run(session, principal, capacity_run_id))
