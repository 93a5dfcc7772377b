"""A clinic's calendar: its booked sessions day by day, and whose names the caller may read."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from exoshare.auth.scope import Permission, Principal
from exoshare.errors import InvalidInput
from exoshare.patients import service as patients_service
from exoshare.scheduling.clinics import clinic_for, zone_of
from exoshare.scheduling.models import BookedSession
from exoshare.scheduling.schemas import BookingStatus

CALENDAR_MAX_DAYS = 62
"""The longest calendar one request shows (two months); longer views page on ``start``."""


def calendar(
    session: Session, principal: Principal, clinic_id: str, start: date, days: int = 7
) -> list[BookedSession]:
    """A clinic's booked sessions from ``start`` (clinic-local days); cancelled ones left out."""
    # Refused rather than clamped: a client asking for 90 days and silently getting 62 would
    # show a calendar with sessions missing and no sign of it.
    if not 1 <= days <= CALENDAR_MAX_DAYS:
        raise InvalidInput(
            f"days: {days} is outside 1–{CALENDAR_MAX_DAYS}; ask for 1 to {CALENDAR_MAX_DAYS} "
            "days and page on with start",
            field="days",
        )
    clinic = clinic_for(session, principal, Permission.fleet_read, clinic_id)
    zone = zone_of(clinic)
    lo = datetime.combine(start, time(), tzinfo=zone).astimezone(UTC)
    hi = datetime.combine(start + timedelta(days=days), time(), tzinfo=zone).astimezone(UTC)
    return list(
        session.scalars(
            select(BookedSession)
            .where(
                BookedSession.clinic_id == clinic.id,
                BookedSession.status == BookingStatus.booked,
                BookedSession.starts_at >= lo,
                BookedSession.starts_at < hi,
            )
            .options(selectinload(BookedSession.patient), selectinload(BookedSession.unit))
            .order_by(BookedSession.starts_at, BookedSession.unit_id)
        )
    )


def nameable_patients(
    session: Session, principal: Principal, bookings: list[BookedSession]
) -> set[str]:
    """Ids of the booked patients whose names the caller may read.

    A clinic's calendar holds patients of other clinics too (the network schedule sends a
    patient to the nearest free unit); their names stay with their own clinic.
    """
    return patients_service.readable_patient_ids(
        session, principal, {b.patient_id for b in bookings}
    )
