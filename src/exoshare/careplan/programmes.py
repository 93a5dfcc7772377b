"""Home programmes: exercises from the library assigned to a patient for a period, the
adherence the patient logs from a phone, and the weekly adherence the therapist reads.

The patient sees and logs only their own programmes; the clinic's staff see, assign and may
log on the patient's behalf (a phone call). Logs are append-only: a correction of a day is a
newer log, and the newest one counts (:mod:`exoshare.careplan.adherence`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from exoshare.auth import audit
from exoshare.auth.scope import Permission, Principal
from exoshare.careplan import access, adherence, exercises
from exoshare.careplan.models import AdherenceLog, Exercise, HomeProgramme, ProgrammeItem
from exoshare.careplan.schemas import AdherenceStatus, Difficulty, ProgrammeItemIn
from exoshare.errors import N_, InvalidInput, NotFound
from exoshare.network import service as network_service
from exoshare.patients import service as patients_service

LATEST_TIME_ZONE_OFFSET = timedelta(hours=14)
"""A patient's "today" may be ahead of UTC by up to 14 hours (UTC+14): logs up to that day are
not in the future."""


def _query() -> Any:
    return select(HomeProgramme).options(
        selectinload(HomeProgramme.items)
        .selectinload(ProgrammeItem.exercise)
        .selectinload(Exercise.texts),
        selectinload(HomeProgramme.items)
        .selectinload(ProgrammeItem.exercise)
        .selectinload(Exercise.media),
        selectinload(HomeProgramme.clinic),
        selectinload(HomeProgramme.patient),
    )


def _may_read(principal: Principal, programme: HomeProgramme) -> bool:
    if programme.patient.voided:
        return False
    return access.may_read(principal, programme.clinic.path) or access.is_own(
        principal, programme.patient
    )


def get_programme(
    session: Session, principal: Principal, programme_id: str, *, audited: bool = True
) -> HomeProgramme:
    """A programme of the caller's clinic, or the caller's own (NotFound otherwise)."""
    programme: HomeProgramme | None = session.scalar(
        _query().where(HomeProgramme.id == programme_id)
    )
    if programme is None or not _may_read(principal, programme):
        raise NotFound(f"home programme {programme_id} not found")
    if audited:
        audit.record(
            session, principal, "read", "home_programme", programme.id,
            patient_id=programme.patient_id,
        )  # fmt: skip
    return programme


def programmes_of_patient(
    session: Session, principal: Principal, patient_id: str
) -> list[HomeProgramme]:
    """The patient's programmes, newest first (their clinic's staff, or the patient)."""
    patient = patients_service.get_patient(session, principal, patient_id)  # scoped, audited
    rows = list(
        session.scalars(
            _query()
            .where(HomeProgramme.patient_id == patient.id)
            .order_by(HomeProgramme.starts_on.desc(), HomeProgramme.created_at.desc())
        )
    )
    audit.record(
        session, principal, "list", "home_programme", None, patient_id=patient.id,
        detail={"home_programme_ids": [p.id for p in rows]},
    )  # fmt: skip
    return rows


def assign_programme(
    session: Session,
    principal: Principal,
    patient_id: str,
    starts_on: date,
    ends_on: date,
    items: list[ProgrammeItemIn],
    note: str | None = None,
    on_behalf: access.OnBehalf | None = None,
) -> HomeProgramme:
    author, at = access.author_and_time(principal, on_behalf)
    patient = access.patient_named_in_body(session, principal, patient_id, "assign home programmes")
    if ends_on < starts_on:
        raise InvalidInput.worded(
            N_("ends_on must not be before starts_on"), also={"field": "ends_on"}
        )
    found = exercises.find_exercises(session, {i.exercise_id for i in items})
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.exercise_id not in found:
            raise InvalidInput(
                f"exercise {item.exercise_id} does not exist", field=f"items.{index}.exercise_id"
            )
        if item.exercise_id in seen:
            raise InvalidInput(
                "an exercise appears once in a programme; change its sets or days instead",
                field=f"items.{index}.exercise_id",
            )
        seen.add(item.exercise_id)
    programme = HomeProgramme(
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        starts_on=starts_on,
        ends_on=ends_on,
        note=(note or "").strip() or None,
        assigned_by_id=author,
        created_at=at,
    )
    session.add(programme)
    session.flush()
    for position, item in enumerate(items):
        session.add(
            ProgrammeItem(
                programme_id=programme.id,
                exercise_id=item.exercise_id,
                position=position,
                sets=item.sets,
                reps=item.reps,
                days_per_week=item.days_per_week,
            )
        )
    session.flush()
    audit.record(
        session,
        principal,
        "create",
        "home_programme",
        programme.id,
        patient_id=patient.id,
        detail={
            "starts_on": str(starts_on),
            "ends_on": str(ends_on),
            "exercises": [found[i.exercise_id].code for i in items],
        },
    )
    session.expire(programme)
    return get_programme(session, principal, programme.id, audited=False)


def log_adherence(
    session: Session,
    principal: Principal,
    programme_id: str,
    item_id: str,
    performed_on: date,
    status: AdherenceStatus,
    pain_0_10: int,
    difficulty: Difficulty,
    note: str | None = None,
    on_behalf: access.OnBehalf | None = None,
) -> AdherenceLog:
    """The patient (or their clinic's staff) reports one exercise on one day."""
    author, at = access.author_and_time(principal, on_behalf)
    programme = get_programme(session, principal, programme_id, audited=False)
    if not access.is_own(principal, programme.patient):
        access.require_write(principal, programme.clinic.path, "log exercises for them")
    item = next((i for i in programme.items if i.id == item_id), None)
    if item is None:
        raise InvalidInput(f"exercise item {item_id} does not exist", field="item_id")
    if not programme.starts_on <= performed_on <= programme.ends_on:
        raise InvalidInput(
            f"the programme runs from {programme.starts_on} to {programme.ends_on}; "
            f"{performed_on} is outside it",
            field="performed_on",
        )
    if performed_on > (datetime.now(UTC) + LATEST_TIME_ZONE_OFFSET).date():
        raise InvalidInput.worded(
            N_("an exercise cannot be logged for a day to come"), also={"field": "performed_on"}
        )
    if not 0 <= pain_0_10 <= 10:
        raise InvalidInput.worded(
            N_("pain is a whole number from 0 (none) to 10"), also={"field": "pain_0_10"}
        )
    row = AdherenceLog(
        item_id=item.id,
        patient_id=programme.patient_id,
        performed_on=performed_on,
        status=status,
        pain_0_10=pain_0_10,
        difficulty=difficulty,
        note=(note or "").strip() or None,
        logged_by_id=author,
        logged_at=at,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        principal,
        "log",
        "adherence_log",
        row.id,
        patient_id=programme.patient_id,
        detail={
            "programme": programme.id,
            "item": item.id,
            "performed_on": str(performed_on),
            "status": status.value,
            "pain_0_10": pain_0_10,
        },
    )
    return row


def latest_logs(session: Session, item_ids: list[str]) -> list[AdherenceLog]:
    """The newest log of each (item, day), oldest day first."""
    rows = session.scalars(
        select(AdherenceLog)
        .where(AdherenceLog.item_id.in_(item_ids))
        .order_by(AdherenceLog.performed_on, AdherenceLog.logged_at)
    ).all()
    newest: dict[tuple[str, date], AdherenceLog] = {}
    for row in rows:
        newest[(row.item_id, row.performed_on)] = row
    return list(newest.values())


def weekly_adherence(
    session: Session, principal: Principal, programme_id: str, today: date | None = None
) -> list[adherence.WeekAdherence]:
    programme = get_programme(session, principal, programme_id)
    logs = latest_logs(session, [i.id for i in programme.items])
    return adherence.weekly_adherence(
        [
            adherence.PlannedItem(i.id, i.days_per_week, programme.starts_on, programme.ends_on)
            for i in programme.items
        ],
        [adherence.Report(r.item_id, r.performed_on, r.status.value, r.pain_0_10) for r in logs],
        today or datetime.now(UTC).date(),
    )


def own_programmes_today(
    session: Session, principal: Principal, today: date
) -> list[HomeProgramme]:
    """The caller's own programmes running today (NotFound when no record is theirs)."""
    own = patients_service.patient_of_user(session, principal.user_id or None)
    if own is None or own.voided:
        raise NotFound("no patient record is linked to your account")
    patients_service.get_patient(session, principal, own.id)  # audited read of one's own record
    return list(
        session.scalars(
            _query()
            .where(
                HomeProgramme.patient_id == own.id,
                HomeProgramme.starts_on <= today,
                HomeProgramme.ends_on >= today,
            )
            .order_by(HomeProgramme.starts_on)
        )
    )


def logged_on(session: Session, item_ids: list[str], day: date) -> dict[str, AdherenceStatus]:
    """Item id -> what was logged for ``day`` (the newest log)."""
    return {
        row.item_id: row.status for row in latest_logs(session, item_ids) if row.performed_on == day
    }


@dataclass(frozen=True)
class RunningProgramme:
    """What a home-programme reminder needs: whose programme, at which clinic, for which days."""

    programme_id: str
    patient_id: str
    clinic_timezone: str | None
    starts_on: date
    ends_on: date


def running_programmes(
    session: Session,
    principal: Principal,
    first_day: date,
    last_day: date,
    patient_ids: Select[Any],
) -> list[RunningProgramme]:
    """Programmes of the given patients (a subquery of ids) running on a day in
    [first_day, last_day], within the caller's scope."""
    rows = session.scalars(
        select(HomeProgramme)
        .options(selectinload(HomeProgramme.clinic))
        .where(
            HomeProgramme.patient_id.in_(patient_ids),
            HomeProgramme.starts_on <= last_day,
            HomeProgramme.ends_on >= first_day,
            network_service.in_scope(principal, Permission.patients_read, HomeProgramme.clinic_id),
        )
        .order_by(HomeProgramme.starts_on)
    )
    return [
        RunningProgramme(row.id, row.patient_id, row.clinic.timezone, row.starts_on, row.ends_on)
        for row in rows
    ]


def days_logged(
    session: Session, programme_ids: list[str], days: list[date]
) -> set[tuple[str, date]]:
    """The (programme id, day) pairs on which the patient logged any exercise of the programme."""
    if not programme_ids or not days:
        return set()
    rows = session.execute(
        select(ProgrammeItem.programme_id, AdherenceLog.performed_on)
        .join(AdherenceLog, AdherenceLog.item_id == ProgrammeItem.id)
        .where(ProgrammeItem.programme_id.in_(programme_ids), AdherenceLog.performed_on.in_(days))
        .distinct()
    )
    return {(programme_id, day) for programme_id, day in rows}
