"""The scheduling instance (clinics, units, models, staff, waitlist, horizon) and its calendar."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), the usual choice for haversine distances."""

WeeklyHours = dict[int, tuple[time, time]]
"""Weekday (0 = Monday) -> (opening, closing) local time. A missing weekday means closed."""

Interval = tuple[datetime, datetime]


class SchedulingInputError(ValueError):
    """The instance refers to something it does not define or holds an impossible value."""


def haversine_km(lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float) -> float:
    """Great-circle distance between two points on a spherical Earth, in km.

    Haversine formula: ``d = 2 R asin(sqrt(sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2)))`` with
    ``R`` = :data:`EARTH_RADIUS_KM`. It is the straight-line ("as the crow flies") distance and
    errs by at most ~0.5 % against the ellipsoid; road distance is typically 1.2–1.4 times longer,
    so a travel limit given in road km should be divided by that factor.

    >>> round(haversine_km(52.5200, 13.4050, 48.1351, 11.5820))  # Berlin -> Munich
    504
    """
    phi1, phi2 = math.radians(lat1_deg), math.radians(lat2_deg)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2_deg - lon1_deg)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Clinic:
    id: str
    country: str
    """ISO 3166-1 alpha-2 code; a model must be approved here, where the unit is used (a patient
    from Annemasse treated in Geneva needs the Swiss approval, not the French one)."""
    region: str
    lat_deg: float
    lon_deg: float
    opening_hours: WeeklyHours
    name: str = ""
    closed_days: frozenset[date] = frozenset()
    """Days the clinic is closed although its weekly hours say open (public holidays)."""


@dataclass(frozen=True)
class DeviceModel:
    id: str
    height_min_m: float
    height_max_m: float
    weight_max_kg: float
    approved_countries: frozenset[str]
    name: str = ""

    def fits(self, height_m: float, weight_kg: float) -> bool:
        return (
            self.height_min_m <= height_m <= self.height_max_m and weight_kg <= self.weight_max_kg
        )


@dataclass(frozen=True)
class DeviceUnit:
    id: str
    model_id: str
    clinic_id: str
    maintenance: tuple[Interval, ...] = ()
    """Intervals during which the unit cannot be booked (service, repair, custody move)."""
    booked: tuple[Interval, ...] = ()
    """Sessions already on the calendar (e.g. patients in the middle of a course)."""


@dataclass(frozen=True)
class Therapist:
    id: str
    clinic_id: str
    certified_model_ids: frozenset[str]
    working_hours: WeeklyHours
    booked: tuple[Interval, ...] = ()
    """Sessions already on the calendar (they count towards the daily limit)."""
    max_sessions_per_day: int | None = None
    """The most sessions the therapist runs in one day (None: as many as their hours hold)."""
    away: tuple[Interval, ...] = ()
    """Breaks and leave: working hours in which the therapist cannot be booked."""


@dataclass(frozen=True)
class WaitingPatient:
    id: str
    home_lat_deg: float
    home_lon_deg: float
    country: str
    height_m: float
    weight_kg: float
    referral_date: date
    priority_weight: float
    """Multiplies the wait in the fairness objective; 1.0 is routine."""
    priority_reason: str
    sessions_per_week: int
    course_sessions: int
    """Sessions still to be given in the course (the whole course for a new patient)."""
    referring_clinic_id: str | None = None
    """The clinic whose own waitlist holds the patient today (used by the status-quo baseline)."""
    booked: tuple[Interval, ...] = ()
    """The patient's sessions already on the calendar inside the horizon (booked by hand or by an
    earlier run): they count towards the weekly dose and no second session lands on their day."""
    available: WeeklyHours | None = None
    """When the patient can come (weekday -> from, until, clinic-local); None: any time."""
    session_slots: int = 1
    """Consecutive slots one session takes (a 90-min prescription on a 60-min grid: 2): the
    same unit and the same therapist for all of them, the changeover kept after the last."""
    preferred_clinic_id: str | None = None
    """A clinic the patient would rather go to; honoured only when it costs no session and no
    wait (never a hard rule)."""
    preferred_therapist_id: str | None = None
    """A therapist the patient would rather see; honoured when free, another one otherwise."""

    def can_come(self, start: datetime, end: datetime) -> bool:
        if self.available is None:
            return True
        window = self.available.get(start.weekday())
        return window is not None and window[0] <= start.time() and end.time() <= window[1]


PLAN_WEEKS = 6
"""How many weeks a scheduling run plans ahead (the rolling plan re-runs every week). A course
holds its unit and therapist for 2–18 weeks, and the objective can only weigh what it sees:
with 4 weeks, shortest-course-first (stage 2b) saw little of most courses and the network's
mean wait was 24.8 % below pooled FCFS over five seeds; with 6 weeks, 30.1 %, every seed above
25 %, at the same first-week dose (docs/scheduling.md, "A six-week plan")."""


@dataclass(frozen=True)
class Horizon:
    start_date: date
    weeks: int
    slot_min: int = 60
    changeover_min: int = 0
    """Minutes kept free at the end of every slot to take one patient out of the device and fit
    the next; a session lasts ``slot_min - changeover_min``."""

    def __post_init__(self) -> None:
        if not 0 <= self.changeover_min < self.slot_min:
            raise SchedulingInputError(
                f"changeover of {self.changeover_min} min must be 0 or more and shorter than "
                f"the {self.slot_min}-min slot"
            )

    @property
    def session_min(self) -> int:
        return self.slot_min - self.changeover_min

    def session_min_of(self, session_slots: int) -> int:
        """Minutes a session of ``session_slots`` consecutive slots lasts: the changeover is
        kept once, after the last slot."""
        return session_slots * self.slot_min - self.changeover_min

    def span(self, slot: int, session_slots: int) -> range | None:
        """The slots a session starting in ``slot`` takes, or None when it would run past
        midnight (a session is one sitting on one day)."""
        if slot % self.slots_per_day + session_slots > self.slots_per_day:
            return None
        return range(slot, slot + session_slots)

    @property
    def n_days(self) -> int:
        return 7 * self.weeks

    @property
    def slots_per_day(self) -> int:
        return (24 * 60) // self.slot_min

    @property
    def end_date(self) -> date:
        """The first day after the horizon."""
        return self.start_date + timedelta(days=self.n_days)

    def slot_start(self, slot: int) -> datetime:
        day, k = divmod(slot, self.slots_per_day)
        return datetime.combine(self.start_date + timedelta(days=day), time()) + timedelta(
            minutes=k * self.slot_min
        )

    def slot_of(self, start: datetime) -> int:
        """Inverse of :meth:`slot_start` for a datetime on the slot grid."""
        delta = start - datetime.combine(self.start_date, time())
        minutes = int(delta.total_seconds() // 60)
        if minutes % self.slot_min:
            raise SchedulingInputError(f"{start} is not on the {self.slot_min}-min slot grid")
        return minutes // self.slot_min

    def day_of(self, slot: int) -> int:
        return slot // self.slots_per_day

    def week_of(self, slot: int) -> int:
        return slot // (7 * self.slots_per_day)

    def slots_within(
        self,
        hours: WeeklyHours,
        blocked: Iterable[Interval] = (),
        closed_days: frozenset[date] = frozenset(),
    ) -> list[int]:
        """Slots fully inside the weekly hours, not on a closed day and not overlapping any
        blocked interval."""
        out: list[int] = []
        for day in range(self.n_days):
            on = self.start_date + timedelta(days=day)
            weekday = on.weekday()
            if weekday not in hours or on in closed_days:
                continue
            opens, closes = hours[weekday]
            open_min = opens.hour * 60 + opens.minute
            close_min = closes.hour * 60 + closes.minute
            first = -(-open_min // self.slot_min)  # ceil: a slot may not start before opening
            last = close_min // self.slot_min  # exclusive: a slot must end by closing
            out.extend(day * self.slots_per_day + k for k in range(first, last))
        return sorted(set(out) - self.slots_overlapping(blocked))

    def slots_overlapping(self, intervals: Iterable[Interval]) -> set[int]:
        origin = datetime.combine(self.start_date, time())
        n = self.n_days * self.slots_per_day
        out: set[int] = set()
        for b0, b1 in intervals:
            lo = math.floor((b0 - origin).total_seconds() / 60 / self.slot_min)
            hi = math.ceil((b1 - origin).total_seconds() / 60 / self.slot_min)
            out.update(range(max(lo, 0), min(hi, n)))
        return out


@dataclass
class SchedulingProblem:
    """One instance: who waits, what can be booked, over which horizon, under which travel limit."""

    clinics: Sequence[Clinic]
    models: Sequence[DeviceModel]
    units: Sequence[DeviceUnit]
    therapists: Sequence[Therapist]
    patients: Sequence[WaitingPatient]
    horizon: Horizon
    travel_limit_km: float
    clinic_by_id: dict[str, Clinic] = field(init=False, repr=False)
    model_by_id: dict[str, DeviceModel] = field(init=False, repr=False)
    unit_by_id: dict[str, DeviceUnit] = field(init=False, repr=False)
    therapist_by_id: dict[str, Therapist] = field(init=False, repr=False)
    patient_by_id: dict[str, WaitingPatient] = field(init=False, repr=False)

    def model_label(self, model_id: str) -> str:
        """How reasons name a model: its name when known (people read them), else its id."""
        model = self.model_by_id.get(model_id)
        return model.name if model is not None and model.name else model_id

    def clinic_label(self, clinic_id: str) -> str:
        clinic = self.clinic_by_id.get(clinic_id)
        return clinic.name if clinic is not None and clinic.name else clinic_id

    def __post_init__(self) -> None:
        self.clinic_by_id = _index(self.clinics, "clinic")
        self.model_by_id = _index(self.models, "model")
        self.unit_by_id = _index(self.units, "unit")
        self.therapist_by_id = _index(self.therapists, "therapist")
        self.patient_by_id = _index(self.patients, "patient")
        for u in self.units:
            if u.model_id not in self.model_by_id or u.clinic_id not in self.clinic_by_id:
                raise SchedulingInputError(f"unit {u.id} refers to an unknown model or clinic")
        for t in self.therapists:
            if t.clinic_id not in self.clinic_by_id:
                raise SchedulingInputError(f"therapist {t.id} refers to unknown clinic")
        for p in self.patients:
            if (
                p.sessions_per_week < 1
                or p.course_sessions < 1
                or p.priority_weight <= 0
                or p.session_slots < 1
            ):
                raise SchedulingInputError(
                    f"patient {p.id}: sessions_per_week, course_sessions, priority_weight and "
                    "session_slots must be positive"
                )

    def distance_km(self, patient: WaitingPatient, clinic: Clinic) -> float:
        return haversine_km(
            patient.home_lat_deg, patient.home_lon_deg, clinic.lat_deg, clinic.lon_deg
        )

    def unit_slots(self, unit: DeviceUnit) -> list[int]:
        """Bookable slots of a unit: clinic open, no maintenance, not already booked."""
        clinic = self.clinic_by_id[unit.clinic_id]
        return self.horizon.slots_within(
            clinic.opening_hours, (*unit.maintenance, *unit.booked), clinic.closed_days
        )

    def therapist_slots(self, therapist: Therapist) -> list[int]:
        """Slots a therapist can run a session: working, clinic open, not already booked."""
        clinic = self.clinic_by_id[therapist.clinic_id]
        working = set(
            self.horizon.slots_within(therapist.working_hours, (*therapist.booked, *therapist.away))
        )
        return [
            s
            for s in self.horizon.slots_within(clinic.opening_hours, (), clinic.closed_days)
            if s in working
        ]

    def therapist_day_load(self, therapist: Therapist) -> dict[int, int]:
        """Horizon day -> sessions already booked for the therapist that day."""
        out: dict[int, int] = {}
        for b0, _ in therapist.booked:
            day = (b0.date() - self.horizon.start_date).days
            if 0 <= day < self.horizon.n_days:
                out[day] = out.get(day, 0) + 1
        return out

    def patient_slot_ok(self, patient: WaitingPatient, slot: int) -> bool:
        """Whether the patient can come for a session starting in ``slot``."""
        if patient.available is None:
            return True
        start = self.horizon.slot_start(slot)
        return patient.can_come(start, self.session_end(patient, start))

    def session_end(self, patient: WaitingPatient, start: datetime) -> datetime:
        """When the patient's session starting at ``start`` ends (its length, changeover off)."""
        return start + timedelta(minutes=self.horizon.session_min_of(patient.session_slots))

    def patient_days(self, patient: WaitingPatient) -> set[int]:
        """Horizon days on which the patient already has a session."""
        return {self.horizon.day_of(s) for s in self.horizon.slots_overlapping(patient.booked)}

    def patient_week_sessions(self, patient: WaitingPatient) -> dict[int, int]:
        """Week -> sessions the patient already has in it (one a day at most counts)."""
        out: dict[int, int] = {}
        for day in self.patient_days(patient):
            out[day // 7] = out.get(day // 7, 0) + 1
        return out

    def with_booked(self, assignments: Iterable[Assignment]) -> SchedulingProblem:
        """The same instance with these sessions on the units', therapists' and patients'
        calendars (courses continued before the new starts are planned around them)."""
        by_unit: dict[str, list[Interval]] = {}
        by_therapist: dict[str, list[Interval]] = {}
        by_patient: dict[str, list[Interval]] = {}
        for a in assignments:
            # The changeover after a session is the unit's and therapist's time too.
            slot = (a.start, a.end + timedelta(minutes=self.horizon.changeover_min))
            by_unit.setdefault(a.unit_id, []).append(slot)
            by_therapist.setdefault(a.therapist_id, []).append(slot)
            by_patient.setdefault(a.patient_id, []).append((a.start, a.end))
        return SchedulingProblem(
            self.clinics,
            self.models,
            [replace(u, booked=(*u.booked, *by_unit.get(u.id, []))) for u in self.units],
            [replace(t, booked=(*t.booked, *by_therapist.get(t.id, []))) for t in self.therapists],
            [replace(p, booked=(*p.booked, *by_patient.get(p.id, []))) for p in self.patients],
            self.horizon,
            self.travel_limit_km,
        )


@dataclass(frozen=True)
class Assignment:
    """One booked session."""

    patient_id: str
    unit_id: str
    therapist_id: str
    clinic_id: str
    start: datetime
    end: datetime


def _index(items: Sequence, what: str) -> dict:
    out = {}
    for item in items:
        if item.id in out:
            raise SchedulingInputError(f"duplicate {what} id {item.id!r}")
        out[item.id] = item
    return out


def schedule_violations(problem: SchedulingProblem, assignments: Iterable[Assignment]) -> list[str]:
    """Every hard rule an assignment list breaks, in words; empty when the schedule is valid."""
    out: list[str] = []
    h = problem.horizon
    unit_busy: set[tuple[str, int]] = set()
    therapist_busy: set[tuple[str, int]] = set()
    patient_day: set[tuple[str, date]] = set()
    per_patient_week: dict[tuple[str, int], int] = {}
    per_patient: dict[str, int] = {}
    therapist_day: dict[tuple[str, date], int] = {}
    unit_free = {u.id: set(problem.unit_slots(u)) for u in problem.units}
    ther_free = {t.id: set(problem.therapist_slots(t)) for t in problem.therapists}
    for a in assignments:
        p = problem.patient_by_id[a.patient_id]
        u = problem.unit_by_id[a.unit_id]
        t = problem.therapist_by_id[a.therapist_id]
        c = problem.clinic_by_id[u.clinic_id]
        m = problem.model_by_id[u.model_id]
        tag = f"{a.patient_id}@{a.unit_id} {a.start:%Y-%m-%d %H:%M}"
        if a.clinic_id != c.id:
            out.append(f"{tag}: clinic {a.clinic_id} is not the unit's clinic {c.id}")
        length_min = h.session_min_of(p.session_slots)
        if a.end - a.start != timedelta(minutes=length_min):
            out.append(f"{tag}: session does not last {length_min} min (changeover kept)")
        slot = h.slot_of(a.start)
        span = h.span(slot, p.session_slots)
        if span is None:
            out.append(f"{tag}: a {p.session_slots}-slot session runs past midnight")
            span = range(slot, slot + 1)
        if not m.fits(p.height_m, p.weight_kg):
            out.append(f"{tag}: patient outside {m.id} size/weight range")
        if c.country not in m.approved_countries:
            out.append(f"{tag}: {m.id} not approved in {c.country}, where the unit is used")
        if t.clinic_id != c.id:
            out.append(f"{tag}: therapist {t.id} does not work at {c.id}")
        if m.id not in t.certified_model_ids:
            out.append(f"{tag}: therapist {t.id} not certified for {m.id}")
        if problem.distance_km(p, c) > problem.travel_limit_km + 1e-9:
            out.append(f"{tag}: clinic beyond travel limit")
        # Every slot of the session: the same unit and therapist for the whole sitting.
        if not all(s in unit_free[u.id] for s in span):
            out.append(f"{tag}: unit closed, in maintenance or already booked")
        if not all(s in ther_free[t.id] for s in span):
            out.append(f"{tag}: therapist {t.id} not working or already booked")
        for s in span:
            for key, busy, what in (
                ((u.id, s), unit_busy, "unit"),
                ((t.id, s), therapist_busy, "therapist"),
            ):
                if key in busy:
                    out.append(f"{tag}: {what} double-booked")
                busy.add(key)
        if not p.can_come(a.start, a.end):
            out.append(f"{tag}: outside the times the patient can come")
        if (p.id, a.start.date()) in patient_day or h.day_of(slot) in problem.patient_days(p):
            out.append(f"{tag}: patient has two sessions on one day")
        patient_day.add((p.id, a.start.date()))
        therapist_day[(t.id, a.start.date())] = therapist_day.get((t.id, a.start.date()), 0) + 1
        wk = (p.id, h.week_of(slot))
        per_patient_week[wk] = per_patient_week.get(wk, 0) + 1
        per_patient[p.id] = per_patient.get(p.id, 0) + 1
    for (tid, day), n in therapist_day.items():
        therapist = problem.therapist_by_id[tid]
        limit = therapist.max_sessions_per_day
        n += problem.therapist_day_load(therapist).get((day - h.start_date).days, 0)
        if limit is not None and n > limit:
            out.append(f"{tid}: {n} sessions on {day}, more than the daily limit of {limit}")
    for (pid, week), n in per_patient_week.items():
        already = problem.patient_week_sessions(problem.patient_by_id[pid]).get(week, 0)
        if n + already > problem.patient_by_id[pid].sessions_per_week:
            out.append(f"{pid}: {n} sessions in week {week}, more than wanted")
    for pid, n in per_patient.items():
        if n > problem.patient_by_id[pid].course_sessions:
            out.append(f"{pid}: {n} sessions, more than the course")
    return out
