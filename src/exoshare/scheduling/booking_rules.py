"""The scheduling rules a session booked by hand meets, the ones the solver keeps inside its
model: the clinic open and not on a public holiday, the therapist at work (not on a break or on
leave, under their daily limit), the patient able to come then, unit, therapist and patient each
free for the session and its changeover, one session a day, the weekly dose and the course
length, and the clinic within the travel limit of the patient's home.

(Clinical safety — certification, size, approval, custody — is :mod:`eligibility`'s, asked too.)
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from exoshare.db import as_utc
from exoshare.scheduling.clinics import zone_of
from exoshare.scheduling.eligibility import Refusal
from exoshare.scheduling.hours import leave_by_therapist, opening_hours_of, working_hours_of
from exoshare.scheduling.models import BookedSession, TherapistWorkingHours, WaitlistEntry
from exoshare.scheduling.problem import haversine_km
from exoshare.scheduling.public_holidays import public_holidays
from exoshare.scheduling.schemas import BookingStatus
from exoshare.scheduling.waitlist import available_hours, sessions_of_entries

if TYPE_CHECKING:
    from exoshare.network.models import OrgUnit
    from exoshare.patients.models import Patient


def booking_refusals(
    session: Session,
    *,
    patient: Patient,
    entry: WaitlistEntry | None,
    clinic: OrgUnit,
    therapist_id: str,
    start: datetime,
    duration: timedelta,
    travel_limit_km: float,
) -> list[Refusal]:
    """Every scheduling rule the booking breaks, each with the field to change, a stable code
    and its values (pages say it in the reader's language: ``web.labels.BOOKING_RULES``); empty
    when none.

    Sessions in the way are :func:`overlaps`' answer (a taken slot, asked apart)."""
    found: list[Refusal] = []
    zone = zone_of(clinic)
    begins = as_utc(start).astimezone(zone)
    ends = begins + duration
    day = begins.date()
    hhmm = f"{begins:%H:%M}–{ends:%H:%M} on {day:%a %Y-%m-%d} ({zone.key})"
    when = {"from": f"{begins:%H:%M}", "until": f"{ends:%H:%M}", "day": day.isoformat()}
    if day in public_holidays(clinic.country_code or "", day, day):
        found.append(
            Refusal(
                "starts_at",
                "public-holiday",
                f"{day.isoformat()} is a public holiday in {clinic.country_code}",
                {"day": day.isoformat(), "country": clinic.country_code or ""},
            )
        )
    opening = opening_hours_of(session, clinic.id)
    if not _within(opening, begins, ends):
        found.append(
            Refusal(
                "starts_at",
                "clinic-closed",
                f"{clinic.code} is not open {hhmm}; {_hours_words(opening)}",
                {"clinic": clinic.code, **when},
            )
        )
    rows = working_hours_of(session, therapist_id, clinic.id)
    working = {d: (w.starts, w.ends) for d, w in rows.items()} or opening
    if not _within(working, begins, ends):
        found.append(
            Refusal(
                "therapist_id",
                "therapist-not-working",
                f"the therapist does not work {hhmm}; {_hours_words(working)}",
                when,
            )
        )
    found.extend(_therapist_day(session, therapist_id, rows.get(begins.weekday()), begins, ends))
    can = available_hours(entry) if entry is not None else None
    if can is not None and not _within(can, begins, ends):
        found.append(
            Refusal(
                "starts_at",
                "patient-unavailable",
                f"the patient cannot come {hhmm}; patient's {_hours_words(can)}",
                when,
            )
        )
    home = _home(patient, entry)
    if home is not None and clinic.latitude is not None and clinic.longitude is not None:
        km = haversine_km(home[0], home[1], clinic.latitude, clinic.longitude)
        if km > travel_limit_km:
            found.append(
                Refusal(
                    "unit_id",
                    "beyond-travel-limit",
                    f"{clinic.code} is {km:.0f} km from the patient's home, beyond the "
                    f"{travel_limit_km:.0f} km travel limit; book a unit at a nearer clinic",
                    {"clinic": clinic.code, "km": f"{km:.0f}", "limit": f"{travel_limit_km:.0f}"},
                )
            )
    if entry is not None:
        found.extend(_dose(session, entry, begins))
    return found


def _within(hours: dict[int, tuple[time, time]], begins: datetime, ends: datetime) -> bool:
    window = hours.get(begins.weekday())
    if window is None or ends.date() != begins.date():
        return False
    return window[0] <= begins.time() and ends.time() <= window[1]


def _therapist_day(
    session: Session,
    therapist_id: str,
    row: TherapistWorkingHours | None,
    begins: datetime,
    ends: datetime,
) -> list[Refusal]:
    """Leave that day, the day's break, and the day's limit of sessions."""
    found: list[Refusal] = []
    day = begins.date()
    if leave_by_therapist(session, day, day).get(therapist_id):
        found.append(
            Refusal(
                "therapist_id",
                "therapist-on-leave",
                f"the therapist is on leave on {day.isoformat()}",
                {"day": day.isoformat()},
            )
        )
    if (
        row is not None
        and row.break_starts is not None
        and row.break_ends is not None
        and begins.time() < row.break_ends
        and row.break_starts < ends.time()
    ):
        found.append(
            Refusal(
                "starts_at",
                "therapist-on-break",
                f"the therapist is on a break {row.break_starts:%H:%M}–{row.break_ends:%H:%M}",
                {"from": f"{row.break_starts:%H:%M}", "until": f"{row.break_ends:%H:%M}"},
            )
        )
    if row is not None and row.max_sessions is not None:
        midnight = datetime.combine(day, time(), tzinfo=begins.tzinfo)
        booked = len(
            list(
                session.scalars(
                    select(BookedSession.id).where(
                        BookedSession.therapist_id == therapist_id,
                        BookedSession.status == BookingStatus.booked,
                        BookedSession.starts_at >= as_utc(midnight),
                        BookedSession.starts_at < as_utc(midnight + timedelta(days=1)),
                    )
                )
            )
        )
        if booked >= row.max_sessions:
            found.append(
                Refusal(
                    "therapist_id",
                    "therapist-day-full",
                    f"the therapist already has {booked} sessions on {day.isoformat()}, "
                    f"their limit of {row.max_sessions} a day",
                    {"count": str(booked), "day": day.isoformat(), "limit": str(row.max_sessions)},
                )
            )
    return found


def _hours_words(hours: dict[int, tuple[time, time]]) -> str:
    if not hours:
        return "no hours are recorded"
    names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    return "hours: " + ", ".join(
        f"{names[d]} {a:%H:%M}–{b:%H:%M}" for d, (a, b) in sorted(hours.items())
    )


def overlaps(
    session: Session,
    patient_id: str,
    unit_id: str,
    therapist_id: str,
    begins: datetime,
    ends: datetime,
    changeover: timedelta,
) -> list[tuple[str, str]]:
    """Sessions in the way, in words: unit and therapist need the session plus its changeover
    free, and a patient has one session a day (clinic-local)."""
    lo = as_utc(begins) - timedelta(days=1)
    hi = as_utc(ends) + timedelta(days=1)
    rows = session.scalars(
        select(BookedSession).where(
            or_(
                BookedSession.unit_id == unit_id,
                BookedSession.therapist_id == therapist_id,
                BookedSession.patient_id == patient_id,
            ),
            BookedSession.starts_at < hi,
            BookedSession.ends_at > lo,
            BookedSession.status == BookingStatus.booked,
        )
    )
    found: list[tuple[str, str]] = []
    for b in rows:
        other_begins, other_ends = as_utc(b.starts_at), as_utc(b.ends_at)
        clash = (
            other_begins < as_utc(ends) + changeover and as_utc(begins) < other_ends + changeover
        )
        at = other_begins.astimezone(begins.tzinfo)
        if clash and b.unit_id == unit_id:
            found.append(
                (
                    "starts_at",
                    f"the unit has a session at {at:%H:%M} (with {changeover} changeover)",
                )
            )
        if clash and b.therapist_id == therapist_id:
            found.append(
                (
                    "therapist_id",
                    f"the therapist has a session at {at:%H:%M} (with {changeover} changeover)",
                )
            )
        if b.patient_id == patient_id and at.date() == begins.date():
            found.append(
                ("starts_at", f"the patient already has a session on {at.date()} at {at:%H:%M}")
            )
    return found


def _home(patient: Patient, entry: WaitlistEntry | None) -> tuple[float, float] | None:
    if entry is not None:
        return entry.home_latitude, entry.home_longitude
    own = patient.clinic
    if own is not None and own.latitude is not None and own.longitude is not None:
        return own.latitude, own.longitude
    return None


def _dose(session: Session, entry: WaitlistEntry, begins: datetime) -> list[Refusal]:
    """No more than the sessions a week the referral asks for, nor than the course."""
    given = sessions_of_entries(session, [entry])[entry.id]
    monday = begins.date() - timedelta(days=begins.weekday())
    week = [
        b
        for b in given
        if monday <= as_utc(b.starts_at).astimezone(begins.tzinfo).date() < monday + timedelta(7)
    ]
    found: list[Refusal] = []
    if len(week) >= entry.sessions_per_week:
        found.append(
            Refusal(
                "starts_at",
                "weekly-dose-full",
                f"the patient already has {len(week)} sessions in the week of {monday}, the "
                f"{entry.sessions_per_week} a week of the referral",
                {
                    "count": str(len(week)),
                    "week": monday.isoformat(),
                    "per_week": str(entry.sessions_per_week),
                },
            )
        )
    if len(given) >= entry.course_sessions:
        found.append(
            Refusal(
                "patient_id",
                "course-full",
                f"the course of {entry.course_sessions} sessions is fully booked "
                f"({len(given)} sessions)",
                {"course": str(entry.course_sessions), "count": str(len(given))},
            )
        )
    return found
