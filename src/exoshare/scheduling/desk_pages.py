"""HTML pages of the clinic desk: refer a patient, book a session by hand, reschedule or cancel it.

Plain forms; a refusal shows the form again with every broken rule next to its field, in the
page's language. Times are the clinic's local time.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from exoshare.auth.gate import CurrentPrincipal, page_requires
from exoshare.auth.scope import Permission, Principal
from exoshare.db import as_utc, utcnow
from exoshare.deps import DbSession
from exoshare.errors import (
    BookingRefused,
    Conflict,
    ExoshareError,
    InvalidInput,
    ReasonRequired,
    SessionNotEligible,
)
from exoshare.errors import Refusal as RuleBroken
from exoshare.network import service as network_service
from exoshare.patients import service as patients_service
from exoshare.scheduling import bookings, rebooking
from exoshare.scheduling import calendar as calendars
from exoshare.scheduling.clinics import zone_of
from exoshare.scheduling.desk import (
    clinic_local_start,
    day_or_none,
    desk_choices,
    session_minutes,
    wish_choices,
    wish_names,
)
from exoshare.scheduling.eligibility import Refusal
from exoshare.scheduling.pages import PRIORITY, pick_clinic
from exoshare.scheduling.priority import Priority
from exoshare.scheduling.waitlist import (
    add_to_waitlist,
    change_session_wishes,
    entry_to_manage,
    waitlist,
)
from exoshare.web.render import render, request_gettext

if TYPE_CHECKING:
    from exoshare.network.models import OrgUnit
    from exoshare.scheduling.models import BookedSession, WaitlistEntry

router = APIRouter(include_in_schema=False)

Keeper = Annotated[Principal, Depends(page_requires(Permission.scheduling_manage))]
"""Someone who keeps some clinic's schedule; which clinics, the services check per id."""

PATIENTS_SHOWN = 200
DAY = Annotated[str, Form(max_length=10)]
AT = Annotated[str, Form(max_length=5)]
ID = Annotated[str, Form(max_length=32)]
TEXT = Annotated[str, Form(max_length=300)]
OPTIONAL_ID = Annotated[str, Form(max_length=32)]
"""An id a form may leave empty ("no preference")."""
SLOTS = Annotated[int, Form(ge=1, le=4)]

FieldErrors = dict[str, list[RuleBroken]]

FORM_FIELD = {
    "device_unit_id": "unit_id",
    "device_unit.model_id": "unit_id",
    "patient.height_m": "patient_id",
    "patient.weight_kg": "patient_id",
    "clinic.country_code": "",
}
"""The form's field for each field the clinical-safety rule names (its names are telerehab's)."""


def _field_errors(request: Request, principal: Principal, refused: ExoshareError) -> FieldErrors:
    """Every reason of a refusal under the field it names (the form's top when it names none)."""
    _ = request_gettext(request, principal)
    found: FieldErrors = {}
    if isinstance(refused, BookingRefused | SessionNotEligible):
        for r in refused.refusals:
            found.setdefault(FORM_FIELD.get(r.field, r.field), []).append(r)
    elif isinstance(refused, ReasonRequired):
        found["reason"] = [Refusal("reason", "", _("Say why the session is cancelled."))]
    elif isinstance(refused, InvalidInput):
        found[refused.field or ""] = [Refusal(refused.field or "", "", refused.detail)]
    elif isinstance(refused, Conflict) and refused.slug == "slot-taken":
        words = _("Another session is in the way at that time: %(detail)s") % {
            "detail": refused.detail
        }
        found["starts_at"] = [Refusal("starts_at", "", words)]
    else:
        found[""] = [Refusal("", "", refused.detail)]
    return found


def _clinics(session: DbSession, principal: Principal) -> list[OrgUnit]:
    """Clinics whose schedule the caller keeps and whose patients they may name (a referral and
    a booking name a patient)."""
    return [
        c
        for c in network_service.visible_clinics(session, principal, Permission.scheduling_manage)
        if principal.covers(Permission.patients_read, c.path)
    ]


def _week_of(booking: BookedSession) -> str:
    day = as_utc(booking.starts_at).astimezone(zone_of(booking.clinic)).date()
    return (day - timedelta(days=day.weekday())).isoformat()


# ------------------------------------------------------------------------------- referral


@router.get("/waitlist/refer", response_class=HTMLResponse)
def refer_form(
    request: Request, session: DbSession, principal: Keeper, clinic_id: str | None = None
) -> HTMLResponse:
    clinic = pick_clinic(_clinics(session, principal), clinic_id)
    return _refer_page(request, session, principal, clinic, {}, {})


def _refer_page(
    request: Request,
    session: DbSession,
    principal: Principal,
    clinic: OrgUnit,
    values: dict[str, Any],
    errors: FieldErrors,
    status_code: int = 200,
) -> HTMLResponse:
    patients, _ = patients_service.list_patients(
        session, principal, clinic.id, limit=PATIENTS_SHOWN
    )
    gettext = request_gettext(request, principal)
    # A referral's home is the clinic's location (the form asks no address): what is in reach
    # of the clinic is what the patient may prefer.
    home = (
        (clinic.latitude, clinic.longitude)
        if clinic.latitude is not None and clinic.longitude is not None
        else None
    )
    return render(
        request,
        "scheduling/refer.html",
        principal,
        status_code=status_code,
        clinic=clinic,
        patients=patients,
        priorities=[(p.value, gettext(PRIORITY[p])) for p in Priority],
        wishes=wish_choices(session, principal, home),
        values={
            "referral_date": utcnow().date().isoformat(),
            "priority": Priority.routine.value,
            "sessions_per_week": 2,
            "course_sessions": 10,
            "session_slots": 1,
            **values,
        },
        errors=errors,
    )


@router.post("/waitlist/refer", response_class=HTMLResponse, response_model=None)
def refer(
    request: Request,
    session: DbSession,
    principal: Keeper,
    clinic_id: ID,
    patient_id: ID,
    referral_date: DAY,
    priority: Annotated[Priority, Form()],
    priority_reason: TEXT,
    sessions_per_week: Annotated[int, Form(ge=1, le=7)],
    course_sessions: Annotated[int, Form(ge=1, le=200)],
    session_slots: SLOTS = 1,
    preferred_clinic_id: OPTIONAL_ID = "",
    preferred_therapist_id: OPTIONAL_ID = "",
) -> HTMLResponse | RedirectResponse:
    clinic = pick_clinic(_clinics(session, principal), clinic_id)
    values = {
        "patient_id": patient_id,
        "referral_date": referral_date,
        "priority": priority.value,
        "priority_reason": priority_reason,
        "sessions_per_week": sessions_per_week,
        "course_sessions": course_sessions,
        "session_slots": session_slots,
        "preferred_clinic_id": preferred_clinic_id,
        "preferred_therapist_id": preferred_therapist_id,
    }
    try:
        try:
            referred = date.fromisoformat(referral_date)
        except ValueError:
            raise InvalidInput(
                f"{referral_date!r} is not a date; give it as YYYY-MM-DD", field="referral_date"
            ) from None
        add_to_waitlist(
            session,
            principal,
            patient_id,
            referred,
            priority,
            priority_reason,
            sessions_per_week,
            course_sessions,
            session_slots=session_slots,
            preferred_clinic_id=preferred_clinic_id or None,
            preferred_therapist_id=preferred_therapist_id or None,
        )
    except (InvalidInput, Conflict) as refused:
        session.rollback()
        errors = _field_errors(request, principal, refused)
        if isinstance(refused, Conflict):  # the only conflict of a referral: one at a time
            _ = request_gettext(request, principal)
            words = _("This patient is already on the waitlist.")
            errors = {"patient_id": [Refusal("patient_id", "", words)]}
        return _refer_page(
            request, session, principal, clinic, values, errors, status_code=refused.status
        )
    return RedirectResponse(f"/waitlist?clinic_id={clinic.id}", status_code=303)


@router.get("/waitlist/entries/{entry_id}", response_class=HTMLResponse)
def wishes_form(
    entry_id: str, request: Request, session: DbSession, principal: Keeper
) -> HTMLResponse:
    entry = entry_to_manage(session, principal, entry_id)
    values = {
        "session_slots": entry.session_slots,
        "preferred_clinic_id": entry.preferred_clinic_id or "",
        "preferred_therapist_id": entry.preferred_therapist_id or "",
    }
    return _wishes_page(request, session, principal, entry, values, {})


def _wishes_page(
    request: Request,
    session: DbSession,
    principal: Principal,
    entry: WaitlistEntry,
    values: dict[str, Any],
    errors: FieldErrors,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "scheduling/wishes.html",
        principal,
        status_code=status_code,
        entry=entry,
        wishes=wish_choices(session, principal, (entry.home_latitude, entry.home_longitude)),
        values=values,
        errors=errors,
    )


@router.post("/waitlist/entries/{entry_id}", response_class=HTMLResponse, response_model=None)
def change_wishes(
    entry_id: str,
    request: Request,
    session: DbSession,
    principal: Keeper,
    session_slots: SLOTS,
    preferred_clinic_id: OPTIONAL_ID = "",
    preferred_therapist_id: OPTIONAL_ID = "",
) -> HTMLResponse | RedirectResponse:
    entry = entry_to_manage(session, principal, entry_id)
    values = {
        "session_slots": session_slots,
        "preferred_clinic_id": preferred_clinic_id,
        "preferred_therapist_id": preferred_therapist_id,
    }
    try:
        change_session_wishes(
            session,
            principal,
            entry.id,
            session_slots,
            preferred_clinic_id or None,
            preferred_therapist_id or None,
        )
    except InvalidInput as refused:
        session.rollback()
        errors = _field_errors(request, principal, refused)
        entry = entry_to_manage(session, principal, entry_id)
        return _wishes_page(
            request, session, principal, entry, values, errors, status_code=refused.status
        )
    return RedirectResponse(f"/waitlist?clinic_id={entry.clinic_id}", status_code=303)


# ------------------------------------------------------------------------- booking by hand


@router.get("/calendar/book", response_class=HTMLResponse)
def book_form(
    request: Request,
    session: DbSession,
    principal: Keeper,
    clinic_id: str | None = None,
    patient_id: str | None = None,
    day: str | None = None,
    at: str | None = None,
) -> HTMLResponse:
    clinic = pick_clinic(_clinics(session, principal), clinic_id)
    values = {"patient_id": patient_id or "", "day": day or "", "at": at or ""}
    return _book_page(request, session, principal, clinic, values, {})


def _book_page(
    request: Request,
    session: DbSession,
    principal: Principal,
    clinic: OrgUnit,
    values: dict[str, str],
    errors: FieldErrors,
    status_code: int = 200,
) -> HTMLResponse:
    rows = waitlist(session, principal, clinic.id)
    return render(
        request,
        "scheduling/book.html",
        principal,
        status_code=status_code,
        clinic=clinic,
        rows=rows,
        names=wish_names(session, [row.entry for row in rows]),
        session_minutes=session_minutes,
        choices=desk_choices(session, principal, clinic, day_or_none(values.get("day"))),
        values=values,
        errors=errors,
    )


@router.post("/calendar/book", response_class=HTMLResponse, response_model=None)
def book(
    request: Request,
    session: DbSession,
    principal: Keeper,
    clinic_id: ID,
    patient_id: ID,
    unit_id: ID,
    therapist_id: ID,
    day: DAY,
    at: AT,
) -> HTMLResponse | RedirectResponse:
    clinic = pick_clinic(_clinics(session, principal), clinic_id)
    values = {
        "patient_id": patient_id,
        "unit_id": unit_id,
        "therapist_id": therapist_id,
        "day": day,
        "at": at,
    }
    try:
        booked = bookings.book_session(
            session,
            principal,
            patient_id,
            unit_id,
            therapist_id,
            clinic_local_start(clinic, day, at),
            clinic_id=clinic.id,
        )
    except (InvalidInput, Conflict) as refused:
        session.rollback()
        errors = _field_errors(request, principal, refused)
        return _book_page(
            request, session, principal, clinic, values, errors, status_code=refused.status
        )
    return RedirectResponse(
        f"/calendar?clinic_id={booked.clinic_id}&start={_week_of(booked)}&booked={booked.id}",
        status_code=303,
    )


# ------------------------------------------------------------------ reschedule and cancel


@router.get("/calendar/bookings/{booking_id}", response_class=HTMLResponse)
def change_form(
    booking_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse:
    """The booking's page: who keeps the schedule moves or cancels it; its therapist starts it
    when it is due; anyone who sees the clinic's calendar follows it to its session."""
    booking = rebooking.find_booking(session, principal, booking_id)
    return _change_page(request, session, principal, booking, {}, {})


def _change_page(
    request: Request,
    session: DbSession,
    principal: Principal,
    booking: BookedSession,
    values: dict[str, str],
    errors: FieldErrors,
    status_code: int = 200,
) -> HTMLResponse:
    local = as_utc(booking.starts_at).astimezone(zone_of(booking.clinic))
    may_change = principal.covers(Permission.scheduling_manage, booking.clinic.path)
    return render(
        request,
        "scheduling/change.html",
        principal,
        status_code=status_code,
        booking=booking,
        may_change=may_change,
        startable=rebooking.is_due(booking, utcnow()) and booking.therapist_id == principal.user_id,
        clinic=booking.clinic,
        local=local,
        week=_week_of(booking),
        named=booking.patient_id in calendars.nameable_patients(session, principal, [booking]),
        choices=desk_choices(
            session, principal, booking.clinic, day_or_none(values.get("day")) or local.date()
        )
        if may_change
        else None,
        values={
            "unit_id": booking.unit_id,
            "therapist_id": booking.therapist_id,
            "day": local.date().isoformat(),
            "at": f"{local:%H:%M}",
            **values,
        },
        errors=errors,
    )


@router.post(
    "/calendar/bookings/{booking_id}/reschedule", response_class=HTMLResponse, response_model=None
)
def reschedule(
    booking_id: str,
    request: Request,
    session: DbSession,
    principal: Keeper,
    unit_id: ID,
    therapist_id: ID,
    day: DAY,
    at: AT,
) -> HTMLResponse | RedirectResponse:
    booking = rebooking.find_booking(session, principal, booking_id)
    values = {"unit_id": unit_id, "therapist_id": therapist_id, "day": day, "at": at}
    try:
        moved = rebooking.reschedule_booking(
            session,
            principal,
            booking.id,
            clinic_local_start(booking.clinic, day, at),
            unit_id=unit_id,
            therapist_id=therapist_id,
        )
    except (InvalidInput, Conflict) as refused:
        session.rollback()
        errors = _field_errors(request, principal, refused)
        booking = rebooking.find_booking(session, principal, booking_id)
        return _change_page(
            request, session, principal, booking, values, errors, status_code=refused.status
        )
    return RedirectResponse(
        f"/calendar?clinic_id={moved.clinic_id}&start={_week_of(moved)}&booked={moved.id}",
        status_code=303,
    )


@router.post(
    "/calendar/bookings/{booking_id}/cancel", response_class=HTMLResponse, response_model=None
)
def cancel(
    booking_id: str,
    request: Request,
    session: DbSession,
    principal: Keeper,
    reason: Annotated[str, Form(max_length=300)] = "",
) -> HTMLResponse | RedirectResponse:
    try:
        cancelled = rebooking.cancel_booking(session, principal, booking_id, reason)
    except (InvalidInput, Conflict) as refused:
        session.rollback()
        errors = _field_errors(request, principal, refused)
        booking = rebooking.find_booking(session, principal, booking_id)
        return _change_page(
            request, session, principal, booking, {}, errors, status_code=refused.status
        )
    return RedirectResponse(
        f"/calendar?clinic_id={cancelled.clinic_id}&start={_week_of(cancelled)}&cancelled=1",
        status_code=303,
    )
