"""Rules of goals: a target for one measure by a date, tracked against the patient's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from exoshare.auth import audit
from exoshare.auth.scope import Principal
from exoshare.errors import N_, InvalidInput, NotFound
from exoshare.outcomes.instruments import MEASURES, Measure
from exoshare.outcomes.measures import (
    Observation,
    device_observations,
    measurements_of,
    observations,
    writable_patient,
)
from exoshare.outcomes.models import OutcomeGoal
from exoshare.outcomes.schemas import GoalStatus
from exoshare.patients import service as patients_service


@dataclass(frozen=True)
class TrackedGoal:
    goal: OutcomeGoal
    status: GoalStatus
    latest_value: float | None


def _reaches(measure: Measure, value: float, target: float) -> bool:
    return value >= target if MEASURES[measure].higher_is_better else value <= target


def goal_status(
    measure: Measure,
    target_value: float,
    target_date: date,
    start_date: date,
    baseline_value: float | None,
    found: list[Observation],
    today: date,
) -> GoalStatus:
    """Met once a value on or before the target date reaches the target; missed when the date
    has passed without; otherwise on track while the latest value is at least where a straight
    line from the baseline (at the start) to the target (at the target date) would be."""
    series = sorted((o for o in found if o.measure is measure), key=lambda o: o.measured_on)
    if any(
        o.measured_on <= target_date and _reaches(measure, o.value, target_value) for o in series
    ):
        return GoalStatus.met
    if today > target_date:
        return GoalStatus.missed
    since = [o for o in series if o.measured_on >= start_date]
    if baseline_value is None or not since:
        return GoalStatus.on_track  # nothing measured since the goal was set says otherwise
    latest = since[-1]
    span_days = max((target_date - start_date).days, 1)
    share = min(max((latest.measured_on - start_date).days / span_days, 0.0), 1.0)
    expected = baseline_value + (target_value - baseline_value) * share
    return GoalStatus.on_track if _reaches(measure, latest.value, expected) else GoalStatus.behind


def _latest(found: list[Observation], measure: Measure) -> Observation | None:
    # Sorted by day only, and stably: of two values on one day, the one recorded later wins.
    series = sorted((o for o in found if o.measure is measure), key=lambda o: o.measured_on)
    return series[-1] if series else None


def _all_observations(session: Session, principal: Principal, patient_id: str) -> list[Observation]:
    _, rows = measurements_of(session, principal, patient_id)
    return observations(rows) + device_observations(session, patient_id)


def create_goal(
    session: Session,
    principal: Principal,
    patient_id: str,
    measure: Measure,
    target_value: float,
    target_date: date,
    note: str | None = None,
    start_date: date | None = None,
) -> OutcomeGoal:
    """Set a goal; the baseline is the measure's latest value now (None if never measured)."""
    patient = writable_patient(session, principal, patient_id)
    spec = MEASURES[measure]
    start = start_date or datetime.now(UTC).date()
    if not spec.low <= target_value <= spec.high:
        raise InvalidInput(
            f"target_value {target_value:g} is outside the {spec.label} range "
            f"{spec.low:g}-{spec.high:g} {spec.unit}".rstrip(),
            field="target_value",
        )
    if target_date <= start:
        raise InvalidInput(
            f"target_date {target_date} must be after the goal's start ({start})",
            field="target_date",
        )
    latest = _latest(_all_observations(session, principal, patient.id), measure)
    goal = OutcomeGoal(
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        measure=measure,
        target_value=target_value,
        target_date=target_date,
        start_date=start,
        baseline_value=latest.value if latest else None,
        note=(note or "").strip() or None,
        created_by_id=principal.user_ref,
    )
    session.add(goal)
    session.flush()
    audit.record(
        session,
        principal,
        "create",
        "outcome_goal",
        goal.id,
        patient_id=patient.id,
        detail={"measure": measure.value, "target": target_value, "by": str(target_date)},
    )
    return goal


def _track(goal: OutcomeGoal, found: list[Observation], today: date) -> TrackedGoal:
    latest = _latest(found, goal.measure)
    status = goal_status(
        goal.measure,
        goal.target_value,
        goal.target_date,
        goal.start_date,
        goal.baseline_value,
        found,
        today,
    )
    return TrackedGoal(goal, status, latest.value if latest else None)


def goals_of(
    session: Session, principal: Principal, patient_id: str, today: date | None = None
) -> list[TrackedGoal]:
    """The patient's goals in force with their status today, soonest target first."""
    found = _all_observations(session, principal, patient_id)  # scoped and audited
    rows = session.scalars(
        select(OutcomeGoal)
        .where(OutcomeGoal.patient_id == patient_id, OutcomeGoal.voided.is_(False))
        .order_by(OutcomeGoal.target_date, OutcomeGoal.created_at)
    ).all()
    day = today or datetime.now(UTC).date()
    return [_track(goal, found, day) for goal in rows]


def tracked(session: Session, principal: Principal, goal: OutcomeGoal) -> TrackedGoal:
    """One goal (the caller has just read or written it) with its status today."""
    found = _all_observations(session, principal, goal.patient_id)
    return _track(goal, found, datetime.now(UTC).date())


def void_goal(session: Session, principal: Principal, goal_id: str, reason: str) -> OutcomeGoal:
    """Withdraw a goal, keeping it with who withdrew it and why."""
    goal = session.get(OutcomeGoal, goal_id)
    if (
        goal is None
        or goal.voided
        or not patients_service.may_read_patient(session, principal, goal.patient_id)
    ):
        raise NotFound(f"goal {goal_id} not found")
    writable_patient(session, principal, goal.patient_id)
    if not reason.strip():
        raise InvalidInput.worded(
            N_("a reason is required to withdraw a goal"), also={"field": "reason"}
        )
    goal.voided = True
    goal.voided_at = datetime.now(UTC)
    goal.voided_by_id = principal.user_ref
    goal.void_reason = reason.strip()
    audit.record(
        session,
        principal,
        "void",
        "outcome_goal",
        goal.id,
        patient_id=goal.patient_id,
        detail={"reason": goal.void_reason},
    )
    return goal
