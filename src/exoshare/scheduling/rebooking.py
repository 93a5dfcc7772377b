"""Changing a booking at the desk: cancel it (kept, with who, when and why) or move it to another
time, unit or therapist through the same rules as a booking by hand; and handing a booking that
is due to its therapist, who starts it as a tele-rehabilitation session."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from exoshare.auth import audit
from exoshare.auth.scope import Permission, Principal
from exoshare.db import as_utc, utcnow
from exoshare.errors import (
    BookingClosed,
    BookingNotDue,
    NotFound,
    PermissionDenied,
    ReasonRequired,
)
from exoshare.patients import service as patients_service
from exoshare.scheduling.bookings import book_session
from exoshare.scheduling.clinics import may_manage, zone_of
from exoshare.scheduling.models import BookedSession, WaitlistEntry
from exoshare.scheduling.schemas import BookingStatus, WaitlistStatus

REASON_MAX_CHARS = 300

STARTS_EARLY = timedelta(minutes=30)
"""How long before its booked time a session may be started (the patient is early, the fitting
takes a while); until the booked end it may start late."""


def find_booking(session: Session, principal: Principal, booking_id: str) -> BookedSession:
    """A booking at a clinic whose calendar the caller sees; any other id answers as missing."""
    found = session.get(BookedSession, booking_id)
    if found is None or not (
        principal.covers(Permission.fleet_read, found.clinic.path)
        or principal.covers(Permission.scheduling_manage, found.clinic.path)
    ):
        raise NotFound(f"booked session {booking_id} not found", field="booking_id")
    return found


def _changeable(session: Session, principal: Principal, booking_id: str) -> BookedSession:
    booking = find_booking(session, principal, booking_id)
    may_manage(principal, booking.clinic)
    if booking.held_at is not None:
        at = as_utc(booking.held_at).astimezone(zone_of(booking.clinic))
        raise BookingClosed(
            f"the session was held (started {at:%Y-%m-%d %H:%M}); a held session is part of the "
            "patient's record and cannot be cancelled or moved",
            booking_id=booking.id,
        )
    if booking.status is not BookingStatus.booked:
        raise BookingClosed(
            f"the booking is already {booking.status.value}; nothing was changed",
            booking_id=booking.id,
        )
    return booking


def _reason(reason: str) -> str:
    words = reason.strip()
    if not words:
        raise ReasonRequired("say why the session is cancelled", field="reason")
    if len(words) > REASON_MAX_CHARS:
        raise ReasonRequired(
            f"the reason is {len(words)} characters; keep it to {REASON_MAX_CHARS}",
            field="reason",
        )
    return words


def cancel_booking(
    session: Session, principal: Principal, booking_id: str, reason: str
) -> BookedSession:
    """Cancel a booking: the row stays (status cancelled, reason, who, when; audited) and its
    slot is free for the next booking or schedule run; the patient's course and weekly dose no
    longer count it."""
    words = _reason(reason)
    booking = _changeable(session, principal, booking_id)
    _close(booking, principal, BookingStatus.cancelled, words)
    session.flush()
    _refresh_entry(session, booking.waitlist_entry_id)
    audit.record(
        session,
        principal,
        "cancel",
        "booked_session",
        booking.id,
        patient_id=booking.patient_id,
        detail={"reason": words, "starts_at": as_utc(booking.starts_at).isoformat()},
    )
    return booking


def reschedule_booking(
    session: Session,
    principal: Principal,
    booking_id: str,
    starts_at: datetime,
    unit_id: str | None = None,
    therapist_id: str | None = None,
    reason: str = "",
) -> BookedSession:
    """Move a booking; returns the new booking. The old one stays, rescheduled, pointing at it.

    The new time, unit and therapist meet every rule of a booking by hand
    (:func:`~exoshare.scheduling.bookings.book_session`), judged as if the old booking were
    already gone (it may move within its own day or week). A refusal leaves the old booking
    exactly as it was.
    """
    words = reason.strip()[:REASON_MAX_CHARS] or "rescheduled"
    booking = _changeable(session, principal, booking_id)
    if not patients_service.may_read_patient(session, principal, booking.patient_id):
        # A new booking names the patient: only someone who reads their record books it.
        raise PermissionDenied("only staff who may read the patient's record may move the session")
    duration_min = int((booking.ends_at - booking.starts_at) / timedelta(minutes=1))
    # One savepoint: the old booking steps aside so the rules do not see it, and comes back
    # untouched when the new one is refused.
    with session.begin_nested():
        _close(booking, principal, BookingStatus.rescheduled, words)
        session.flush()
        moved = book_session(
            session,
            principal,
            booking.patient_id,
            unit_id or booking.unit_id,
            therapist_id or booking.therapist_id,
            starts_at,
            duration_min=duration_min,
            clinic_id=booking.clinic_id,
        )
        booking.rescheduled_to_id = moved.id
    _refresh_entry(session, booking.waitlist_entry_id)
    audit.record(
        session,
        principal,
        "reschedule",
        "booked_session",
        booking.id,
        patient_id=booking.patient_id,
        detail={
            "reason": words,
            "from": as_utc(booking.starts_at).isoformat(),
            "to": as_utc(moved.starts_at).isoformat(),
            "booked_session": moved.id,
        },
    )
    return moved


def _close(booking: BookedSession, principal: Principal, status: BookingStatus, why: str) -> None:
    booking.status = status
    booking.cancelled_at = utcnow()
    booking.cancelled_by_id = principal.user_ref
    booking.cancel_reason = why


def _refresh_entry(session: Session, entry_id: str | None) -> None:
    """Keep the waitlist entry's first session true; with no session left the patient waits."""
    entry = session.get(WaitlistEntry, entry_id) if entry_id else None
    if entry is None or entry.status is not WaitlistStatus.scheduled:
        return
    first = session.scalar(
        select(BookedSession.starts_at)
        .where(
            BookedSession.waitlist_entry_id == entry.id,
            BookedSession.status == BookingStatus.booked,
        )
        .order_by(BookedSession.starts_at)
        .limit(1)
    )
    entry.first_session_at = first
    if first is None:
        entry.status = WaitlistStatus.waiting


def is_due(booking: BookedSession, now: datetime) -> bool:
    """Whether the booking may be started as a session now: still booked, not yet started, and
    ``now`` from :data:`STARTS_EARLY` before its start until its end."""
    return (
        booking.status is BookingStatus.booked
        and booking.held_at is None
        and booking.therapy_session_id is None
        and as_utc(booking.starts_at) - STARTS_EARLY <= as_utc(now) < as_utc(booking.ends_at)
    )


def startable_booking(
    session: Session, principal: Principal, booking_id: str, now: datetime
) -> BookedSession:
    """The booking its therapist starts now as a tele-rehabilitation session, or why not.

    Only the booking's own therapist starts it (the desk moves it to another one first); a
    booking of a clinic whose calendar the caller does not see answers as a missing one.
    """
    booking = find_booking(session, principal, booking_id)
    if booking.therapy_session_id is not None:
        raise BookingClosed(
            "this booking already has its session (planned or started); open it instead",
            booking_id=booking.id,
            therapy_session_id=booking.therapy_session_id,
        )
    if booking.held_at is not None or booking.status is not BookingStatus.booked:
        state = "held" if booking.held_at is not None else booking.status.value
        raise BookingClosed(
            f"the booking is {state}; there is nothing to start", booking_id=booking.id
        )
    if booking.therapist_id != principal.user_id:
        raise PermissionDenied(
            "this session is booked with another therapist; ask the desk to move it to you first"
        )
    zone = zone_of(booking.clinic)
    starts = as_utc(booking.starts_at).astimezone(zone)
    ends = as_utc(booking.ends_at).astimezone(zone)
    if not is_due(booking, now):
        early = starts - STARTS_EARLY
        raise BookingNotDue(
            f"the session is booked {starts:%Y-%m-%d %H:%M}–{ends:%H:%M} ({zone.key}); it can be "
            f"started from {early:%H:%M} until {ends:%H:%M}",
            booking_id=booking.id,
        )
    return booking


def link_session(booking: BookedSession, therapy_session_id: str) -> None:
    """The booking and the session planned on it point at each other from now on."""
    booking.therapy_session_id = therapy_session_id


def unlink_session(booking: BookedSession) -> None:
    """A session only planned on the booking was called off: the booking may be started anew."""
    if booking.held_at is None:
        booking.therapy_session_id = None
