"""Booked sessions: one booked by hand, the all-or-nothing insert every booking goes through,
and the upcoming bookings that reminders read.

The table's unique constraints are the last word on double booking;
:class:`~exoshare.errors.SlotTaken` is what a caller sees when another booking won the slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from exoshare.auth.scope import Permission, Principal
from exoshare.db import as_utc
from exoshare.devices import service as devices_service
from exoshare.errors import N_, BookingRefused, InvalidInput, SlotTaken
from exoshare.fleet.custody import current_holders, unit_ever_moved_in
from exoshare.network import service as network_service
from exoshare.network.phones import national_format
from exoshare.patients import service as patients_service
from exoshare.scheduling import eligibility
from exoshare.scheduling.booking_rules import booking_refusals, overlaps
from exoshare.scheduling.clinics import is_therapist_of, may_manage, zone_of
from exoshare.scheduling.models import BookedSession
from exoshare.scheduling.schemas import BookingStatus, WaitlistStatus
from exoshare.scheduling.waitlist import active_entry, session_length_min

if TYPE_CHECKING:
    from exoshare.devices.models import DeviceUnit
    from exoshare.network.models import OrgUnit

DEFAULT_CHANGEOVER_MIN = 15
"""Minutes kept free after each session to take the patient out and fit the next one."""


def insert_sessions(session: Session, rows: list[BookedSession]) -> None:
    """Book every row or none: a slot taken meanwhile raises :class:`SlotTaken`."""
    try:
        with session.begin_nested():
            session.add_all(rows)
            session.flush()
    except IntegrityError:
        raise SlotTaken.worded(
            N_(
                "another booking took one of these slots meanwhile (unit, therapist or patient "
                "already booked at that start); nothing was booked — run the schedule again"
            )
        ) from None


def book_session(
    session: Session,
    principal: Principal,
    patient_id: str,
    unit_id: str,
    therapist_id: str,
    starts_at: datetime,
    duration_min: int = 45,
    changeover_min: int = DEFAULT_CHANGEOVER_MIN,
    travel_limit_km: float = 50.0,
    clinic_id: str | None = None,
) -> BookedSession:
    """Book one session by hand. Two requests for the same unit slot: exactly one wins.

    The session is held at ``clinic_id`` (the desk's clinic), or else at the clinic holding the
    unit at that time when the caller sees it, or else at the unit's owner: so a clinic booking
    its own unit on days it is leased out hears "leased to … until …" (the clinical-safety rule)
    and a unit on loan to the clinic is booked there for the days of the lease.

    The booking meets the solver's rules (:mod:`booking_rules`: opening hours, holidays, the
    therapist's hours, no overlap with the changeover kept, one session a day, the weekly dose
    and the course, the travel limit) and the clinical-safety rule (:mod:`eligibility`); every
    rule broken is named at once. It joins the patient's course on the waitlist, which the next
    schedule run then continues around it.

    The unit, the patient and the therapist must each be one the caller can see (a unit held
    by a clinic in their device scope, a patient whose record they may read, a therapist of the
    unit's clinic); any other id is refused exactly like one that does not exist, so a booking
    attempt teaches nobody which ids exist elsewhere.
    """

    if starts_at.tzinfo is None:
        raise InvalidInput.worded(
            N_("starts_at must carry a time zone"), also={"field": "starts_at"}
        )
    unit = devices_service.find_unit(session, unit_id)
    clinic = _clinic_of_booking(session, principal, unit, starts_at, clinic_id)
    if unit is None or clinic is None:
        raise InvalidInput(f"device unit {unit_id} does not exist", field="unit_id")
    may_manage(principal, clinic)
    patient = patients_service.find_patient(session, patient_id)
    patient_clinic = patient.clinic if patient else None
    if (
        patient is None
        or patient.voided
        or patient_clinic is None
        or not principal.covers(Permission.patients_read, patient_clinic.path)
    ):
        raise InvalidInput(f"patient {patient_id} does not exist", field="patient_id")
    if not is_therapist_of(session, therapist_id, clinic):
        raise InvalidInput(f"therapist {therapist_id} does not exist", field="therapist_id")
    start = starts_at.astimezone(UTC)
    entry = active_entry(session, patient.id)
    if entry is not None and entry.session_slots > 1:
        # A referral for longer sessions books its whole length, so every rule below (hours,
        # breaks, the unit and therapist free with the changeover) is asked of the whole span.
        duration_min = max(duration_min, session_length_min(entry.session_slots, changeover_min))
    # The solver keeps these rules inside its model; a booking by hand must meet them too.
    eligibility.require_eligible(
        session,
        therapist_id=therapist_id,
        patient=patient,
        unit=unit,
        clinic=clinic,
        at=start,
        duration=timedelta(minutes=duration_min),
    )
    taken = session.scalar(
        select(BookedSession).where(
            BookedSession.unit_id == unit.id,
            BookedSession.starts_at == start,
            BookedSession.status == BookingStatus.booked,
        )
    )
    if taken is not None:
        raise SlotTaken(
            f"unit {unit.serial_number} is already booked at {start.isoformat()} "
            f"(session {taken.id})",
            booked_session_id=taken.id,
        )
    row = BookedSession(
        patient_id=patient_id,
        unit_id=unit.id,
        therapist_id=therapist_id,
        clinic_id=clinic.id,
        starts_at=start,
        ends_at=start + timedelta(minutes=duration_min),
    )
    broken = booking_refusals(
        session,
        patient=patient,
        entry=entry,
        clinic=clinic,
        therapist_id=therapist_id,
        start=start,
        duration=timedelta(minutes=duration_min),
        travel_limit_km=travel_limit_km,
    )
    if broken:
        raise BookingRefused(broken)
    in_the_way = overlaps(
        session,
        patient.id,
        unit.id,
        therapist_id,
        start.astimezone(zone_of(clinic)),
        start.astimezone(zone_of(clinic)) + timedelta(minutes=duration_min),
        timedelta(minutes=changeover_min),
    )
    if in_the_way:
        reasons = "; ".join(reason for _, reason in in_the_way)
        if entry is not None and entry.session_slots > 1:
            local_start = start.astimezone(zone_of(clinic))
            ends = local_start + timedelta(minutes=duration_min)
            reasons = (
                f"the referral asks for {duration_min}-min sessions, so "
                f"{local_start:%H:%M}–{ends:%H:%M} must be free: {reasons}"
            )
        raise SlotTaken(reasons)
    if entry is not None:
        row.waitlist_entry_id = entry.id
    insert_sessions(session, [row])
    if entry is not None:
        entry.status = WaitlistStatus.scheduled
        if entry.first_session_at is None or as_utc(entry.first_session_at) > start:
            entry.first_session_at = start
        entry.unscheduled_reasons = None
    return row


def _clinic_of_booking(
    session: Session,
    principal: Principal,
    unit: DeviceUnit | None,
    starts_at: datetime,
    clinic_id: str | None,
) -> OrgUnit | None:
    """Where a booking on ``unit`` is held (see :func:`book_session`); None when the caller may
    not book the unit anywhere they see (answered as a unit that does not exist)."""
    if unit is None:
        return None
    if clinic_id is not None:
        places = [clinic_id]
    else:
        places = [current_holders(session, [unit.id], as_utc(starts_at))[unit.id], unit.org_unit_id]
    seen = [
        clinic
        for clinic in (network_service.find_clinic(session, place) for place in places)
        if clinic is not None and principal.covers(Permission.devices_read, clinic.path)
    ]
    if not seen:
        return None
    clinic = seen[0]
    if clinic_id is not None and not (
        unit.org_unit_id == clinic.id or unit_ever_moved_in(session, unit.id, clinic.id)
    ):
        return None  # neither the clinic's own unit nor one ever lent to it
    return clinic


HELD_SESSION_MIN = 45
"""How long a session run without a booking is taken to hold its unit (a slot less changeover)."""


def record_session_held(
    session: Session,
    patient_id: str,
    unit_id: str,
    therapist_id: str,
    starts_at: datetime,
    *,
    held: bool,
    therapy_session_id: str | None = None,
) -> BookedSession | None:
    """Put a session that is run (or planned) without a booking on the calendar, so calendars,
    utilisation and the next schedule run see every session however it was booked.

    For trusted callers (telerehab when a session is planned for a time or started, the demo's
    history): the session itself passed the clinical-safety rule there. Nothing is added when a
    booking of the patient on the unit starts within the hour around it (that booking is this
    session), nor when the unit, therapist or patient already has another session at that very
    start (the calendar keeps the one it has).

    ``held``: the session has started (or was run), so its booking is history from now on and
    can no longer be cancelled or moved; False for a session only planned.

    ``therapy_session_id``: a session started from its booking is that booking, however late.
    """
    start = as_utc(starts_at)
    linked = (
        session.scalar(
            select(BookedSession).where(BookedSession.therapy_session_id == therapy_session_id)
        )
        if therapy_session_id is not None
        else None
    )
    if linked is not None:
        if held and linked.held_at is None:
            linked.held_at = start
        return None
    near = session.scalar(
        select(BookedSession).where(
            BookedSession.patient_id == patient_id,
            BookedSession.unit_id == unit_id,
            BookedSession.status == BookingStatus.booked,
            BookedSession.starts_at > start - timedelta(minutes=60),
            BookedSession.starts_at < start + timedelta(minutes=60),
        )
    )
    if near is not None:
        if held and near.held_at is None:
            near.held_at = start
        return None
    holder = current_holders(session, [unit_id], start).get(unit_id)
    if holder is None:
        return None
    row = BookedSession(
        patient_id=patient_id,
        unit_id=unit_id,
        therapist_id=therapist_id,
        clinic_id=holder,
        starts_at=start,
        ends_at=start + timedelta(minutes=HELD_SESSION_MIN),
        waitlist_entry_id=entry.id if (entry := active_entry(session, patient_id)) else None,
        held_at=start if held else None,
    )
    try:
        insert_sessions(session, [row])
    except SlotTaken:
        return None
    return row


@dataclass(frozen=True)
class UpcomingBooking:
    """What a reminder says about a booked session: when, and at which clinic."""

    booking_id: str
    patient_id: str
    clinic_name: str
    clinic_city: str | None
    clinic_timezone: str | None
    starts_at: datetime
    clinic_address: str | None = None
    """One line: street lines, postcode and city (None when the clinic has no street address)."""
    clinic_phone: str | None = None
    """As the clinic's country writes it."""


def booking_of_session(session: Session, therapy_session_id: str) -> BookedSession | None:
    """The booking a therapy session was started from, if any (unscoped: the caller has checked
    the session)."""
    found: BookedSession | None = session.scalar(
        select(BookedSession).where(BookedSession.therapy_session_id == therapy_session_id)
    )
    return found


def _active_bookings_between(
    start: datetime, end: datetime, patient_ids: Select[Any]
) -> Select[BookedSession]:
    """The one query of active booked sessions starting in [start, end) for these patients.

    It must skip cancelled (and rescheduled) bookings: only ``booked`` ones are reminded.
    """
    return (
        select(BookedSession)
        .options(joinedload(BookedSession.clinic))
        .where(
            BookedSession.status == BookingStatus.booked,
            BookedSession.starts_at >= start,
            BookedSession.starts_at < end,
            BookedSession.patient_id.in_(patient_ids),
        )
        .order_by(BookedSession.starts_at)
    )


def upcoming_bookings(
    session: Session, principal: Principal, start: datetime, end: datetime, patient_ids: Select[Any]
) -> list[UpcomingBooking]:
    """Active bookings starting in [start, end) of the given patients (a subquery of ids),
    within the caller's scope (the reminder dispatcher passes a system principal)."""
    rows = session.scalars(
        _active_bookings_between(start, end, patient_ids).where(
            network_service.in_scope(principal, Permission.patients_read, BookedSession.clinic_id)
        )
    )
    return [
        UpcomingBooking(
            row.id,
            row.patient_id,
            row.clinic.name,
            row.clinic.city,
            row.clinic.timezone,
            as_utc(row.starts_at),
            clinic_address(row.clinic),
            clinic_phone(row.clinic),
        )
        for row in rows
    ]


def clinic_phone(clinic: OrgUnit) -> str | None:
    """The clinic's phone as its country writes it, or None when it has none recorded."""
    return national_format(clinic.phone, clinic.country_code) if clinic.phone else None


def clinic_address(clinic: OrgUnit) -> str | None:
    """The clinic's street address on one line, or None when it has none recorded."""
    if not clinic.address_line1:
        return None
    town = " ".join(part for part in (clinic.postcode, clinic.city) if part)
    return ", ".join(part for part in (clinic.address_line1, clinic.address_line2, town) if part)
