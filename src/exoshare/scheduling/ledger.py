"""Who is booked when (units, therapists, patient-days) and greedy booking of one patient's week
on one unit: the baseline, started courses and the solver's left-over pass share it."""

from __future__ import annotations

from collections import defaultdict

from exoshare.scheduling.problem import Assignment, SchedulingProblem, WaitingPatient


class Ledger:
    """Who is booked when: units, therapists and patient-days, with greedy weekly booking."""

    def __init__(self, problem: SchedulingProblem) -> None:
        self.problem = problem
        self.unit_free = {u.id: set(problem.unit_slots(u)) for u in problem.units}
        self.ther_free = {t.id: set(problem.therapist_slots(t)) for t in problem.therapists}
        self.therapists_at: dict[str, list[str]] = defaultdict(list)
        for t in problem.therapists:
            self.therapists_at[t.clinic_id].append(t.id)
        self.therapist_day: dict[tuple[str, int], int] = defaultdict(int)
        for t in problem.therapists:
            for d, n in problem.therapist_day_load(t).items():
                self.therapist_day[(t.id, d)] = n
        self.patient_days: set[tuple[str, int]] = {
            (p.id, d) for p in problem.patients for d in problem.patient_days(p)
        }

    def week_plan(
        self,
        patient: WaitingPatient,
        unit_id: str,
        week: int,
        n: int,
        pref: int | None = None,
        therapist_id: str | None = None,
    ) -> list[tuple[int, str]]:
        """Up to ``n`` (start slot, therapist) on distinct free days of ``week``; earliest first.

        ``pref`` is the patient's usual slot of the day, ``therapist_id`` their usual therapist
        (else the one they prefer); both are taken when free, another time or certified
        therapist otherwise. A session of several slots needs the unit and one therapist free
        for all of them in one go.
        """
        h = self.problem.horizon
        unit = self.problem.unit_by_id[unit_id]
        per_week = 7 * h.slots_per_day
        slots = sorted(s for s in self.unit_free[unit_id] if s // per_week == week)
        if pref is not None:
            slots.sort(key=lambda s: (h.day_of(s), s % h.slots_per_day != pref, s))
        ther = [
            t
            for t in self.therapists_at[unit.clinic_id]
            if unit.model_id in self.problem.therapist_by_id[t].certified_model_ids
        ]
        therapist_id = therapist_id or patient.preferred_therapist_id
        if therapist_id in ther:
            ther.sort(key=lambda t: t != therapist_id)
        plan: list[tuple[int, str]] = []
        days: set[int] = set()
        for s in slots:
            d = h.day_of(s)
            span = h.span(s, patient.session_slots)
            if (
                d in days
                or span is None
                or (patient.id, d) in self.patient_days
                or not all(k in self.unit_free[unit_id] for k in span)
                or not self.problem.patient_slot_ok(patient, s)
            ):
                continue
            t = next(
                (
                    t
                    for t in ther
                    if all(k in self.ther_free[t] for k in span) and self.has_room(t, d)
                ),
                None,
            )
            if t is None:
                continue
            plan.append((s, t))
            days.add(d)
            if len(plan) == n:
                break
        return plan

    def has_room(self, therapist_id: str, day: int) -> bool:
        """Whether the therapist is under their daily limit on ``day``."""
        limit = self.problem.therapist_by_id[therapist_id].max_sessions_per_day
        return limit is None or self.therapist_day[(therapist_id, day)] < limit

    def book(
        self, patient: WaitingPatient, unit_id: str, plan: list[tuple[int, str]]
    ) -> list[Assignment]:
        h = self.problem.horizon
        unit = self.problem.unit_by_id[unit_id]
        out = []
        for s, t in plan:
            for k in range(s, s + patient.session_slots):
                self.unit_free[unit_id].discard(k)
                self.ther_free[t].discard(k)
            self.therapist_day[(t, h.day_of(s))] += 1
            self.patient_days.add((patient.id, h.day_of(s)))
            start = h.slot_start(s)
            out.append(
                Assignment(
                    patient.id,
                    unit_id,
                    t,
                    unit.clinic_id,
                    start,
                    self.problem.session_end(patient, start),
                )
            )
        return out
