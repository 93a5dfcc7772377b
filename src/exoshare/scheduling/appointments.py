"""Appointments as people read them: a patient's coming sessions and a therapist's day, each in
the local time of the clinic where it is held."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.base import ExecutableOption

from exoshare.auth import service as auth_service
from exoshare.auth.schemas import Role
from exoshare.auth.scope import Principal
from exoshare.db import as_utc, utcnow
from exoshare.network import service as network_service
from exoshare.scheduling.clinics import zone_of
from exoshare.scheduling.models import BookedSession
from exoshare.scheduling.rebooking import is_due
from exoshare.scheduling.schemas import BookingStatus

if TYPE_CHECKING:
    from exoshare.devices.models import DeviceUnit
    from exoshare.network.models import OrgUnit
    from exoshare.patients.models import Patient

DAY_EDGE_H = 14
"""Hours either side of a UTC day that hold some clinic's same local day (UTC-12 to UTC+14)."""


@dataclass(frozen=True)
class Appointment:
    """One booked session, its times in the local time of the clinic where it is held."""

    booking_id: str
    status: BookingStatus
    starts_local: datetime
    ends_local: datetime
    clinic: OrgUnit
    unit: DeviceUnit
    patient: Patient
    therapist_id: str
    therapist_first_name: str
    therapy_session_id: str | None = None
    """The tele-rehabilitation session started on the booking, once it is."""
    due: bool = False
    """It may be started as a session now (:func:`~exoshare.scheduling.rebooking.is_due`)."""


def upcoming_for_patient(
    db: Session, patient_id: str, since: datetime, until: datetime
) -> list[Appointment]:
    """The patient's active bookings starting in [since, until), earliest first.

    For trusted callers that have checked the patient is theirs to read (the patient's own page,
    reminders sent by exoshare itself): no scope is checked here.
    """
    return [
        a for a in _of_patient(db, patient_id, since, until) if a.status is BookingStatus.booked
    ]


def patient_appointments(
    db: Session, patient_id: str, since: datetime, until: datetime
) -> list[Appointment]:
    """As :func:`upcoming_for_patient`, with cancelled bookings too (a moved one shows only at
    its new time), so the patient sees what no longer happens."""
    return [
        a
        for a in _of_patient(db, patient_id, since, until)
        if a.status is not BookingStatus.rescheduled
    ]


def _of_patient(
    db: Session, patient_id: str, since: datetime, until: datetime
) -> list[Appointment]:
    rows = db.scalars(
        select(BookedSession)
        .where(
            BookedSession.patient_id == patient_id,
            BookedSession.starts_at >= as_utc(since),
            BookedSession.starts_at < as_utc(until),
        )
        .options(*_loads())
        .order_by(BookedSession.starts_at, BookedSession.id)
    )
    return _appointments(db, list(rows))


def therapist_day(db: Session, principal: Principal, day: date) -> list[Appointment]:
    """The signed-in therapist's active sessions on ``day`` (each clinic's own local day), across
    every clinic they work at, earliest first."""
    lo = datetime.combine(day, time(), tzinfo=UTC) - timedelta(hours=DAY_EDGE_H)
    hi = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC) + timedelta(hours=DAY_EDGE_H)
    rows = db.scalars(
        select(BookedSession)
        .where(
            BookedSession.therapist_id == principal.user_id,
            BookedSession.status == BookingStatus.booked,
            BookedSession.starts_at >= lo,
            BookedSession.starts_at < hi,
        )
        .options(*_loads())
        .order_by(BookedSession.starts_at, BookedSession.id)
    )
    # A grant revoked since the booking: the session is no longer theirs to run or see.
    mine = set(
        network_service.org_unit_paths(
            db, auth_service.granted_unit_ids(principal.user_id, Role.therapist)
        )
    )
    return [
        a
        for a in _appointments(db, list(rows))
        if a.starts_local.date() == day and any(a.clinic.path.startswith(p) for p in mine)
    ]


def therapist_today(db: Session, principal: Principal) -> date:
    """Today at the therapist's first clinic (a therapist in Bangalore starts a day before one in
    Madrid); UTC's today when they work at no clinic."""
    for unit_id in db.scalars(auth_service.granted_unit_ids(principal.user_id, Role.therapist)):
        clinic = network_service.find_clinic(db, unit_id)
        if clinic is not None:
            return utcnow().astimezone(zone_of(clinic)).date()
    return utcnow().date()


def _loads() -> tuple[ExecutableOption, ...]:
    return (
        selectinload(BookedSession.clinic),
        selectinload(BookedSession.unit),
        selectinload(BookedSession.patient),
    )


def _appointments(db: Session, rows: list[BookedSession]) -> list[Appointment]:
    names = auth_service.display_names(db, sorted({b.therapist_id for b in rows}))
    now = utcnow()
    out = []
    for b in rows:
        zone = zone_of(b.clinic)
        out.append(
            Appointment(
                booking_id=b.id,
                status=b.status,
                starts_local=as_utc(b.starts_at).astimezone(zone),
                ends_local=as_utc(b.ends_at).astimezone(zone),
                clinic=b.clinic,
                unit=b.unit,
                patient=b.patient,
                therapist_id=b.therapist_id,
                therapist_first_name=(names.get(b.therapist_id) or "").split(" ")[0],
                therapy_session_id=b.therapy_session_id,
                due=is_due(b, now),
            )
        )
    return out
