"""The waitlist: patients referred for a course of therapy, in the order they are next in line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from exoshare.auth import service as auth_service
from exoshare.auth.scope import Permission, Principal
from exoshare.db import as_utc, utcnow
from exoshare.errors import N_, Conflict, InvalidInput, NotFound
from exoshare.network import service as network_service
from exoshare.patients import service as patients_service
from exoshare.scheduling.clinics import clinic_for, may_manage, zone_of
from exoshare.scheduling.models import BookedSession, WaitlistEntry
from exoshare.scheduling.priority import PRIORITY_WEIGHT, Priority
from exoshare.scheduling.problem import haversine_km
from exoshare.scheduling.schemas import BookingStatus, WaitlistStatus

if TYPE_CHECKING:
    from exoshare.network.models import OrgUnit

SLOT_MIN = 60
"""The schedule's slot: runs plan on a grid of one-hour slots, and a session is a whole number
of them in a row (the changeover kept once, after the last)."""
MAX_SESSION_SLOTS = 4
"""The longest session a referral may ask for, in slots (four hours less the changeover)."""
PREFERENCE_REACH_KM = 50.0
"""How far from home a preferred clinic (or a preferred therapist's clinic) may be: the travel
limit schedule runs use unless told otherwise; a preference beyond it could never be met."""


def session_length_min(session_slots: int, changeover_min: int) -> int:
    """Minutes a session of ``session_slots`` slots lasts, the changeover kept after it.

    >>> session_length_min(2, 15)
    105
    """
    return session_slots * SLOT_MIN - changeover_min


def add_to_waitlist(
    session: Session,
    principal: Principal,
    patient_id: str,
    referral_date: date,
    priority: Priority,
    priority_reason: str,
    sessions_per_week: int,
    course_sessions: int,
    home_latitude: float | None = None,
    home_longitude: float | None = None,
    available_hours: dict[int, tuple[time, time]] | None = None,
    *,
    session_slots: int = 1,
    preferred_clinic_id: str | None = None,
    preferred_therapist_id: str | None = None,
) -> WaitlistEntry:
    """Put a patient on their clinic's waitlist; the home defaults to the clinic's location.

    ``available_hours`` (weekday 0 = Monday -> from, until, clinic-local) are the only times the
    patient can come; left out, any time the clinic is open. ``session_slots`` is the session
    length in slots in a row; the preferred clinic and therapist are checked by
    :func:`check_preferences`."""
    patient = patients_service.find_patient(session, patient_id)
    clinic = patient.clinic if patient else None
    if patient is None or patient.voided or clinic is None:
        raise InvalidInput(f"patient {patient_id} does not exist", field="patient_id")
    if not principal.covers(Permission.patients_read, clinic.path):
        raise InvalidInput(f"patient {patient_id} does not exist", field="patient_id")
    may_manage(principal, clinic)
    if not priority_reason.strip():
        raise InvalidInput.worded(
            N_("a priority needs a recorded reason"), also={"field": "priority_reason"}
        )
    if not 1 <= sessions_per_week <= 7:
        raise InvalidInput.worded(
            N_("sessions_per_week must be 1–7"), also={"field": "sessions_per_week"}
        )
    if course_sessions < 1:
        raise InvalidInput.worded(
            N_("course_sessions must be at least 1"), also={"field": "course_sessions"}
        )
    lat = home_latitude if home_latitude is not None else clinic.latitude
    lon = home_longitude if home_longitude is not None else clinic.longitude
    if lat is None or lon is None:
        raise InvalidInput.worded(
            N_("the home location is required"), also={"field": "home_latitude"}
        )
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput.worded(
            N_("home location outside the globe"), also={"field": "home_latitude"}
        )
    _check_session_slots(session_slots)
    check_preferences(session, principal, (lat, lon), preferred_clinic_id, preferred_therapist_id)
    for weekday, (begins, ends) in (available_hours or {}).items():
        if not 0 <= weekday <= 6 or begins >= ends:
            raise InvalidInput(
                f"available_hours: weekday {weekday} must be 0 (Monday) to 6 and its first "
                "time before its last",
                field="available_hours",
            )
    active = session.scalar(
        select(WaitlistEntry.id).where(
            WaitlistEntry.patient_id == patient.id,
            WaitlistEntry.status.in_([WaitlistStatus.waiting, WaitlistStatus.scheduled]),
        )
    )
    if active:
        raise Conflict(f"patient {patient_id} is already on the waitlist (entry {active})")
    entry = WaitlistEntry(
        patient_id=patient.id,
        clinic_id=clinic.id,
        referral_date=referral_date,
        priority=priority,
        priority_reason=priority_reason.strip(),
        sessions_per_week=sessions_per_week,
        course_sessions=course_sessions,
        home_latitude=lat,
        home_longitude=lon,
        status=WaitlistStatus.waiting,
        created_by_id=principal.user_ref,
        available_hours=(
            {str(d): [f"{a:%H:%M}", f"{b:%H:%M}"] for d, (a, b) in sorted(available_hours.items())}
            if available_hours
            else None
        ),
        session_slots=session_slots,
        preferred_clinic_id=preferred_clinic_id or None,
        preferred_therapist_id=preferred_therapist_id or None,
    )
    session.add(entry)
    session.flush()
    return entry


def _check_session_slots(session_slots: int) -> None:
    if not 1 <= session_slots <= MAX_SESSION_SLOTS:
        raise InvalidInput.worded(N_("session_slots must be 1–4"), also={"field": "session_slots"})


def clinics_in_reach(
    session: Session, principal: Principal, home: tuple[float, float]
) -> list[OrgUnit]:
    """Clinics the caller sees in the network within :data:`PREFERENCE_REACH_KM` of home."""
    return [
        c
        for c in network_service.clinics_in_scope(session, principal, Permission.network_read)
        if c.latitude is not None
        and c.longitude is not None
        and haversine_km(home[0], home[1], c.latitude, c.longitude) <= PREFERENCE_REACH_KM
    ]


def check_preferences(
    session: Session,
    principal: Principal,
    home: tuple[float, float],
    preferred_clinic_id: str | None,
    preferred_therapist_id: str | None,
) -> None:
    """Refuse a preference that names what the caller cannot see or what is out of reach.

    The clinic must be one the caller sees in the network, within reach of home; the therapist
    must work at the preferred clinic, or (none named) at a clinic in reach. An id outside the
    caller's scope answers exactly like one that does not exist.
    """
    if preferred_clinic_id:
        clinic = network_service.find_clinic(session, preferred_clinic_id)
        if clinic is None or not principal.covers(Permission.network_read, clinic.path):
            raise InvalidInput(
                f"clinic {preferred_clinic_id} does not exist", field="preferred_clinic_id"
            )
        if clinic.id not in {c.id for c in clinics_in_reach(session, principal, home)}:
            raise InvalidInput(
                f"{clinic.name} is more than {PREFERENCE_REACH_KM:.0f} km from the patient's "
                "home (or has no location): the schedule could never send the patient there",
                field="preferred_clinic_id",
            )
    if preferred_therapist_id:
        seen = network_service.clinics_in_scope(session, principal, Permission.network_read)
        works_at = {
            clinic_id
            for user_id, clinic_id in auth_service.therapist_grants(session, [c.id for c in seen])
            if user_id == preferred_therapist_id
        }
        if not works_at:
            raise InvalidInput(
                f"therapist {preferred_therapist_id} does not exist",
                field="preferred_therapist_id",
            )
        reach = (
            {preferred_clinic_id}
            if preferred_clinic_id
            else {c.id for c in clinics_in_reach(session, principal, home)}
        )
        if not works_at & reach:
            where = "the preferred clinic" if preferred_clinic_id else "a clinic within reach"
            raise InvalidInput(
                f"the therapist does not work at {where} ({PREFERENCE_REACH_KM:.0f} km of the "
                "patient's home)",
                field="preferred_therapist_id",
            )


def entry_to_manage(session: Session, principal: Principal, entry_id: str) -> WaitlistEntry:
    """A waitlist entry of a patient the caller may read at a clinic whose schedule they keep;
    any other id answers like a missing one."""
    entry = session.get(WaitlistEntry, entry_id)
    if (
        entry is None
        or entry.patient.voided
        or not principal.covers(Permission.patients_read, entry.clinic.path)
        or not principal.covers(Permission.scheduling_manage, entry.clinic.path)
    ):
        raise NotFound(f"waitlist entry {entry_id} not found", field="entry_id")
    return entry


def change_session_wishes(
    session: Session,
    principal: Principal,
    entry_id: str,
    session_slots: int,
    preferred_clinic_id: str | None,
    preferred_therapist_id: str | None,
) -> WaitlistEntry:
    """Change an entry's session length and its preferred clinic and therapist (None: none).

    Sessions already booked keep their length; the next schedule run plans the new one."""
    entry = entry_to_manage(session, principal, entry_id)
    _check_session_slots(session_slots)
    check_preferences(
        session,
        principal,
        (entry.home_latitude, entry.home_longitude),
        preferred_clinic_id,
        preferred_therapist_id,
    )
    entry.session_slots = session_slots
    entry.preferred_clinic_id = preferred_clinic_id or None
    entry.preferred_therapist_id = preferred_therapist_id or None
    session.flush()
    return entry


@dataclass
class WaitlistRow:
    entry: WaitlistEntry
    position: int | None
    """1 = next in line at the clinic; None once scheduled."""
    waited_days: int
    first_session_local: datetime | None = None
    """The first session's start in the local time of the clinic where it takes place."""
    first_session_clinic: str | None = None
    """The name of that clinic (the network may send a patient to another clinic)."""


def waitlist_order_key(entry: WaitlistEntry) -> tuple[float, date, str]:
    """Priority first (urgent before routine), then who was referred first."""
    return (-PRIORITY_WEIGHT[entry.priority], entry.referral_date, entry.id)


def waitlist(
    session: Session, principal: Principal, clinic_id: str, today: date | None = None
) -> list[WaitlistRow]:
    """A clinic's scheduled patients (by first session), then those waiting, next in line first."""
    clinic = clinic_for(session, principal, Permission.patients_read, clinic_id)
    today = today or utcnow().date()
    entries = list(
        session.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.clinic_id == clinic.id,
                WaitlistEntry.status.in_([WaitlistStatus.waiting, WaitlistStatus.scheduled]),
            )
            .options(selectinload(WaitlistEntry.patient))
        )
    )
    waiting = sorted(
        (e for e in entries if e.status is WaitlistStatus.waiting), key=waitlist_order_key
    )
    scheduled = sorted(
        (e for e in entries if e.status is WaitlistStatus.scheduled),
        key=lambda e: (e.first_session_at or datetime.max.replace(tzinfo=UTC), e.id),
    )
    first = _first_sessions(session, [e.id for e in scheduled])
    rows = []
    for e in scheduled:
        booked = first.get(e.id)
        local = as_utc(booked.starts_at).astimezone(zone_of(booked.clinic)) if booked else None
        # The wait ends at the first session: a patient in their course has stopped waiting.
        waited_until = min(today, local.date()) if local is not None else today
        rows.append(
            WaitlistRow(
                e,
                None,
                (waited_until - e.referral_date).days,
                local,
                booked.clinic.name if booked else None,
            )
        )
    rows += [WaitlistRow(e, i, (today - e.referral_date).days) for i, e in enumerate(waiting, 1)]
    # A cover therapist from another clinic sees only the patients who consented to remote
    # care by their clinic; positions stay those of the whole queue.
    readable = patients_service.readable_patient_ids(
        session, principal, {e.patient_id for e in entries}
    )
    return [row for row in rows if row.entry.patient_id in readable]


def _first_sessions(session: Session, entry_ids: list[str]) -> dict[str, BookedSession]:
    """Entry id -> its earliest booked session, with the clinic where it takes place."""
    out: dict[str, BookedSession] = {}
    for chunk in _chunks(entry_ids, 500):
        for b in session.scalars(
            select(BookedSession)
            .where(
                BookedSession.waitlist_entry_id.in_(chunk),
                BookedSession.status == BookingStatus.booked,
            )
            .options(selectinload(BookedSession.clinic))
            .order_by(BookedSession.starts_at, BookedSession.id)
        ):
            if b.waitlist_entry_id is not None:
                out.setdefault(b.waitlist_entry_id, b)
    return out


def active_entries(session: Session, clinic_ids: list[str] | None = None) -> list[WaitlistEntry]:
    """Entries still waiting or in a course (of these clinics, if given), with patient and clinic
    loaded, in referral order."""
    stmt = select(WaitlistEntry).where(
        WaitlistEntry.status.in_([WaitlistStatus.waiting, WaitlistStatus.scheduled])
    )
    if clinic_ids is not None:
        stmt = stmt.where(WaitlistEntry.clinic_id.in_(clinic_ids))
    return list(
        session.scalars(
            stmt.options(
                selectinload(WaitlistEntry.patient), selectinload(WaitlistEntry.clinic)
            ).order_by(WaitlistEntry.referral_date, WaitlistEntry.id)
        )
    )


def available_hours(entry: WaitlistEntry) -> dict[int, tuple[time, time]] | None:
    """The entry's available hours as weekday -> (from, until); None: any time."""
    if not entry.available_hours:
        return None
    return {
        int(d): (time.fromisoformat(a), time.fromisoformat(b))
        for d, (a, b) in entry.available_hours.items()
    }


def active_entry(session: Session, patient_id: str) -> WaitlistEntry | None:
    """The patient's entry still waiting or in a course, if any (at most one: add refuses more)."""
    return session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.patient_id == patient_id,
            WaitlistEntry.status.in_([WaitlistStatus.waiting, WaitlistStatus.scheduled]),
        )
    )


def sessions_of_entries(
    session: Session, entries: list[WaitlistEntry]
) -> dict[str, list[BookedSession]]:
    """Entry id -> the sessions of its course so far and ahead, by start: those booked for the
    entry, and the patient's sessions booked without one (by hand) from the referral date on;
    cancelled and rescheduled bookings do not count."""
    by_patient = {e.patient_id: e for e in entries}
    out: dict[str, list[BookedSession]] = {e.id: [] for e in entries}
    for chunk in _chunks(list(by_patient), 500):
        for b in session.scalars(
            select(BookedSession)
            .where(
                BookedSession.patient_id.in_(chunk),
                BookedSession.status == BookingStatus.booked,
            )
            .options(selectinload(BookedSession.unit))
            .order_by(BookedSession.starts_at, BookedSession.id)
        ):
            entry = by_patient[b.patient_id]
            if b.waitlist_entry_id == entry.id or (
                b.waitlist_entry_id is None and as_utc(b.starts_at).date() >= entry.referral_date
            ):
                out[entry.id].append(b)
    return out


def _chunks(items: list[str], size: int) -> list[list[str]]:
    # Bounded IN lists: SQLite allows a limited number of bound parameters per statement.
    return [items[i : i + size] for i in range(0, len(items), size)]
