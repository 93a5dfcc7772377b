"""Treatment plans: one per course of therapy, every change a new version (who, when, why),
old versions readable and any two compared field by field.

A version holds the whole plan: dose (sessions per week, minutes per session), device model and
optionally the unit, start and end, goal lines and the planned setting progression per week.
Every planned setting value must lie within the device model's safety envelope
(:func:`exoshare.devices.envelope.check_setting_change`, the rule the device itself runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from exoshare.auth import audit
from exoshare.auth.scope import Principal
from exoshare.careplan import access
from exoshare.careplan.models import CarePlan, CarePlanVersion
from exoshare.careplan.schemas import PlanContent
from exoshare.devices import service as devices_service
from exoshare.devices.envelope import check_setting_change
from exoshare.errors import N_, InvalidInput, NotFound, PlanVersionStale

MAX_GOAL_CHARS = 300


def _query() -> Any:
    return select(CarePlan).options(
        selectinload(CarePlan.versions).selectinload(CarePlanVersion.device_model),
        selectinload(CarePlan.versions).selectinload(CarePlanVersion.device_unit),
        selectinload(CarePlan.clinic),
        selectinload(CarePlan.patient),
    )


def get_plan(
    session: Session, principal: Principal, plan_id: str, *, write: bool = False
) -> CarePlan:
    """A plan the caller may see as staff of the patient's clinic (NotFound otherwise; audited)."""
    plan: CarePlan | None = session.scalar(_query().where(CarePlan.id == plan_id))
    return access.opened(
        session, principal, plan, kind="care_plan", record_id=plan_id,
        write="change its plan" if write else None,
    )  # fmt: skip


def plans_of_patient(session: Session, principal: Principal, patient_id: str) -> list[CarePlan]:
    patient = access.patient_for_staff(session, principal, patient_id)
    rows = list(
        session.scalars(
            _query().where(CarePlan.patient_id == patient.id).order_by(CarePlan.created_at.desc())
        )
    )
    access.listed(session, principal, patient, "care_plan", rows)
    return rows


def create_plan(
    session: Session,
    principal: Principal,
    patient_id: str,
    title: str,
    content: PlanContent,
    on_behalf: access.OnBehalf | None = None,
) -> CarePlan:
    """A new plan for a patient, as its version 1."""
    author, at = access.author_and_time(principal, on_behalf)
    patient = access.patient_named_in_body(session, principal, patient_id, "plan their therapy")
    checked = _checked(session, principal, content)
    plan = CarePlan(
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        title=title.strip(),
        current_version=1,
        created_by_id=author,
    )
    session.add(plan)
    session.flush()
    session.add(
        CarePlanVersion(plan_id=plan.id, version=1, author_id=author, created_at=at, **checked)
    )
    session.flush()
    audit.record(
        session,
        principal,
        "create",
        "care_plan",
        plan.id,
        patient_id=patient.id,
        detail={"version": 1, "title": plan.title},
    )
    session.expire(plan)
    return get_plan(session, principal, plan.id, write=True)


def revise_plan(
    session: Session,
    principal: Principal,
    plan_id: str,
    content: PlanContent,
    based_on_version: int,
    reason: str,
    on_behalf: access.OnBehalf | None = None,
) -> CarePlan:
    """The plan's next version; ``based_on_version`` must be the newest (409 otherwise, so two
    people editing at once do not silently undo each other)."""
    author, at = access.author_and_time(principal, on_behalf)
    plan = get_plan(session, principal, plan_id, write=True)
    if based_on_version != plan.current_version:
        raise PlanVersionStale(
            f"this change starts from version {based_on_version}, but the plan is at version "
            f"{plan.current_version} now; reload it and make your change again",
            current_version=plan.current_version,
        )
    why = reason.strip()
    if not why:
        raise InvalidInput.worded(
            N_("say why the plan changes (kept with the version)"), also={"field": "reason"}
        )
    checked = _checked(session, principal, content)
    previous = plan.versions[-1]
    if all(getattr(previous, name) == value for name, value in checked.items()):
        raise InvalidInput.worded(
            N_("nothing changed: the new version would equal the current one"),
            also={"field": "reason"},
        )
    version = plan.current_version + 1
    session.add(
        CarePlanVersion(
            plan_id=plan.id, version=version, author_id=author, created_at=at, reason=why, **checked
        )
    )
    plan.current_version = version
    session.flush()
    changes = diff_versions(previous, _as_version(plan.id, version, checked))
    audit.record(
        session,
        principal,
        "revise",
        "care_plan",
        plan.id,
        patient_id=plan.patient_id,
        detail={
            "version": version,
            "reason": why,
            "changes": [c.__dict__ for c in changes],
        },
    )
    session.expire(plan)
    return get_plan(session, principal, plan.id, write=True)


def version_of(plan: CarePlan, version: int) -> CarePlanVersion:
    for row in plan.versions:
        if row.version == version:
            return row
    raise NotFound(f"care plan {plan.id} has no version {version}")


# ---------------------------------------------------------------------------- checks


def _checked(session: Session, principal: Principal, content: PlanContent) -> dict[str, Any]:
    """The version's columns from the request, or InvalidInput naming the first bad field."""
    if content.ends_on < content.starts_on:
        raise InvalidInput.worded(
            N_("ends_on must not be before starts_on"), also={"field": "ends_on"}
        )
    model = devices_service.find_model(session, content.device_model_id)
    if model is None:
        raise InvalidInput(
            f"device model {content.device_model_id} does not exist", field="device_model_id"
        )
    if content.device_unit_id is not None:
        try:
            unit = devices_service.get_unit(session, principal, content.device_unit_id)
        except NotFound:
            raise InvalidInput(
                f"device unit {content.device_unit_id} does not exist", field="device_unit_id"
            ) from None
        if unit.model_id != model.id:
            raise InvalidInput(
                f"unit {unit.serial_number} is a {unit.model.name}, not a {model.name}; "
                "choose a unit of the plan's model",
                field="device_unit_id",
            )
    goals = [line.strip() for line in content.goals if line.strip()]
    for i, line in enumerate(goals):
        if len(line) > MAX_GOAL_CHARS:
            raise InvalidInput(
                f"goal {i + 1} is {len(line)} characters; keep a goal under {MAX_GOAL_CHARS}",
                field=f"goals.{i}",
            )
    course_weeks = (content.ends_on - content.starts_on).days // 7 + 1
    envelope = devices_service.envelope_of(session, model.id)
    seen: set[int] = set()
    for i, week in enumerate(content.progression):
        if week.week in seen:
            raise InvalidInput(f"week {week.week} is planned twice", field=f"progression.{i}.week")
        seen.add(week.week)
        if week.week > course_weeks:
            raise InvalidInput(
                f"week {week.week} is after the course ends (it has {course_weeks} weeks)",
                field=f"progression.{i}.week",
            )
        for name, value in week.settings.items():
            try:
                # No current value: a planned value is checked against the bounds; the step
                # limit is the device's, applied when the change is sent during a session.
                check_setting_change(envelope, name, None, value)
            except InvalidInput as refusal:
                raise type(refusal)(
                    f"{model.name}, week {week.week}: {refusal.detail}",
                    field=f"progression.{i}.settings.{name}",
                ) from None
    progression = [
        {"week": w.week, "settings": {k: float(v) for k, v in sorted(w.settings.items())}}
        for w in sorted(content.progression, key=lambda w: w.week)
    ]
    return {
        "sessions_per_week": content.sessions_per_week,
        "minutes_per_session": content.minutes_per_session,
        "device_model_id": model.id,
        "device_unit_id": content.device_unit_id,
        "starts_on": content.starts_on,
        "ends_on": content.ends_on,
        "goals": goals,
        "progression": progression,
    }


def _as_version(plan_id: str, version: int, columns: dict[str, Any]) -> CarePlanVersion:
    return CarePlanVersion(plan_id=plan_id, version=version, **columns)


# ---------------------------------------------------------------------------- diff


@dataclass(frozen=True)
class FieldChange:
    """One difference between two versions; ``before``/``after`` None where a line or a
    setting exists on one side only."""

    field: str
    before: str | None
    after: str | None


SCALAR_FIELDS = (
    "sessions_per_week",
    "minutes_per_session",
    "device_model_id",
    "device_unit_id",
    "starts_on",
    "ends_on",
)


def diff_versions(old: CarePlanVersion, new: CarePlanVersion) -> list[FieldChange]:
    """What changed from ``old`` to ``new``: scalar fields, goal lines removed and added, and
    each planned setting per week.

    Goal lines compare as a set of lines (a reworded goal is one removed and one added line).
    """
    changes = [
        FieldChange(name.removesuffix("_id"), _shown(old, name), _shown(new, name))
        for name in SCALAR_FIELDS
        if getattr(old, name) != getattr(new, name)
    ]
    changes += [FieldChange("goals", line, None) for line in old.goals if line not in new.goals]
    changes += [FieldChange("goals", None, line) for line in new.goals if line not in old.goals]
    before = _settings_by_week(old.progression)
    after = _settings_by_week(new.progression)
    for week, setting in sorted(set(before) | set(after)):
        was, now = before.get((week, setting)), after.get((week, setting))
        if was != now:
            changes.append(FieldChange(f"week {week}: {setting}", _text(was), _text(now)))
    return changes


def _settings_by_week(progression: list[dict[str, Any]]) -> dict[tuple[int, str], float]:
    return {
        (int(entry["week"]), name): float(value)
        for entry in progression
        for name, value in entry["settings"].items()
    }


def _shown(version: CarePlanVersion, name: str) -> str | None:
    """A field's value in words: the model's name and the unit's serial where loaded."""
    if name == "device_model_id" and version.device_model is not None:
        return version.device_model.name
    if name == "device_unit_id" and version.device_unit is not None:
        return version.device_unit.serial_number
    return _text(getattr(version, name))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def diff(plan: CarePlan, from_version: int, to_version: int) -> list[FieldChange]:
    return diff_versions(version_of(plan, from_version), version_of(plan, to_version))
