"""The care record of Maria López's patients: treatment plans (a second version three weeks
in), signed SOAP notes of their past sessions (one amended), home programmes with weeks of
adherence logged from the phone. Everything is written through the care plan's services as
exoshare itself, on behalf of the therapist or patient who would have written it, at the time
they would have: plans and notes follow the sessions the history (``demo/history.py``) stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.orm import Session

from exoshare.auth import service as auth_service
from exoshare.auth.scope import SYSTEM_DEMO, SYSTEM_SEEDING
from exoshare.careplan import exercises, notes, plans, programmes
from exoshare.careplan.access import OnBehalf
from exoshare.careplan.schemas import (
    AdherenceStatus,
    Difficulty,
    NoteSection,
    PlanContent,
    ProgrammeItemIn,
    ProgressionWeek,
)
from exoshare.careplan.seed_library import seed_library
from exoshare.demo.network import MARIA_EMAIL
from exoshare.devices import service as devices_service
from exoshare.network import service as network_service
from exoshare.patients import service as patients_service
from exoshare.telerehab import sessions as telerehab_sessions
from exoshare.telerehab.progress import progress_point
from exoshare.telerehab.schemas import TherapyStatus

if TYPE_CHECKING:
    from exoshare.careplan.models import Exercise
    from exoshare.patients.models import Patient
    from exoshare.telerehab.models import TherapySession

CLINIC = "ES-MAD-01"
COURSE_WEEKS = 8
PROGRAMME_WEEKS = 10

GOALS = {
    "spinal_cord_injury": [
        "Stand in the exoskeleton for 10 minutes without a rest",
        "Walk 50 m in the exoskeleton with a walker by week 8",
    ],
    "stroke": [
        "10-metre walk test at 0.8 m/s or faster by week 8",
        "Walk indoors with a cane, without help",
    ],
}
DEFAULT_GOALS = ["Walk 10 m with an aid, without help, by week 8"]

SUBJECTIVE = (
    "Slept well; a little stiffness in the morning.",
    "Tired after a busy week, but motivated.",
    "Did the home exercises most days; calves sore after heel raises.",
    "Feels steadier when turning at home.",
    "No falls since the last session; walks to the kitchen with the walker.",
)

PROGRAMME_NOTE = {
    "en": "Do these on your own days at home; stop if anything hurts more than a 5.",
    "es": "Hágalos en casa los días indicados; pare si algo le duele más de un 5.",
}
"""The therapist's note to the patient, in the patient's language where the demo has it."""

PROGRAMME = (
    ("sit-to-stand", 2, 10, 3),
    ("heel-raises", 2, 15, 3),
    ("weight-shifts", 3, 10, 5),
)


@dataclass(frozen=True)
class CareCounts:
    exercises: int
    plans: int
    notes: int
    adherence_logs: int


def seed_care_records(session: Session, data_dir: Path, today: date, seed: int = 5) -> CareCounts:
    """Write the library and the care records of the Madrid patients who have past sessions."""
    added = seed_library(session, SYSTEM_SEEDING, data_dir)
    clinic = network_service.find_org_unit_by_code(session, CLINIC)
    maria = auth_service.user_by_email(session, SYSTEM_DEMO, MARIA_EMAIL)
    if clinic is None or maria is None:
        return CareCounts(added, 0, 0, 0)
    library = {e.code: e for e in exercises.list_exercises(session)}
    rng = np.random.default_rng(seed)
    plan_count = note_count = log_count = 0
    amended = False
    for patient in patients_service.clinic_patients(session, SYSTEM_DEMO, clinic.id):
        past = sorted(
            (
                t
                for t in telerehab_sessions.sessions_of_patient(session, SYSTEM_DEMO, patient.id)
                if t.status is TherapyStatus.completed and t.started_at and t.telemetry_session
            ),
            key=lambda t: t.started_at or datetime.min.replace(tzinfo=UTC),
        )
        if not past:
            continue
        # One note of the story patient (the one with a login: Carlos) is amended after signing.
        amend = not amended and patient.user_id is not None
        amended = amended or amend
        note_count += _notes(session, past, amend=amend, rng=rng)
        plan_count += _plan(session, patient, past, maria.id, today)
        log_count += _programme(session, patient, past[0], maria.id, library, today, rng)
    return CareCounts(added, plan_count, note_count, log_count)


PLANNED = ("guidance_force_pct", "body_weight_support_pct")
"""The settings a plan schedules week by week; the rest stay as the device powers on."""
STEP_DOWN = {"guidance_force_pct": (10.0, 30.0), "body_weight_support_pct": (5.0, 10.0)}
"""Planned weekly reduction and floor of each scheduled setting."""


def _progression(
    session: Session,
    model_id: str,
    applied: list[dict[str, float]],
    weeks: int,
    step_down: bool = True,
) -> list[ProgressionWeek]:
    """Weeks 1.. as the sessions ``applied`` them, then (``step_down``) lower from the last of
    them by :data:`STEP_DOWN` a week, within the model's envelope."""
    envelope = devices_service.envelope_of(session, model_id)
    out = []
    last: dict[str, float] = {}
    for week in range(1, weeks + 1):
        if week <= len(applied):
            last = {k: float(v) for k, v in applied[week - 1].items() if k in PLANNED}
        elif step_down:
            last = {
                name: max(STEP_DOWN[name][1], value - STEP_DOWN[name][0])
                if value > STEP_DOWN[name][1]
                else value
                for name, value in last.items()
            }
        settings = {
            name: round(min(max(value, envelope[name].min_value), envelope[name].max_value), 1)
            for name, value in last.items()
            if name in envelope
        }
        if settings:
            out.append(ProgressionWeek(week=week, settings=settings))
    return out


def _plan(
    session: Session,
    patient: Patient,
    past: list[TherapySession],
    author_id: str,
    today: date,
) -> int:
    """Version 1 before the first session: its settings, then the usual weekly step down.
    Version 2 three weeks in: the weeks so far as the sessions ran them (guidance follows the
    accepted assist-as-needed advice, or stays full where it is declined), 40-minute sessions."""
    first = past[0]
    assert first.started_at is not None
    unit = first.device_unit
    applied = [dict(t.settings_at_start or {}) for t in past]
    content = PlanContent(
        sessions_per_week=1,
        minutes_per_session=30,
        device_model_id=unit.model_id,
        device_unit_id=unit.id,
        starts_on=first.started_at.date(),
        ends_on=first.started_at.date() + timedelta(weeks=COURSE_WEEKS, days=-1),
        goals=GOALS.get(patient.diagnosis.value, DEFAULT_GOALS),
        progression=_progression(session, unit.model_id, applied[:1], COURSE_WEEKS),
    )
    written = first.started_at - timedelta(days=2)
    plan = plans.create_plan(
        session, SYSTEM_DEMO, patient.id, "Robot-assisted gait training", content,
        on_behalf=OnBehalf(author_id, written),
    )  # fmt: skip
    revised_at = first.started_at + timedelta(weeks=3, hours=2)
    if revised_at.date() < today and len(past) > 3:
        guidance = [a.get("guidance_force_pct") for a in applied[:3]]
        kept_full = len(set(guidance)) == 1
        revision = content.model_copy(
            update={
                "minutes_per_session": 40,
                "progression": _progression(
                    session, unit.model_id, applied[:3], COURSE_WEEKS, step_down=not kept_full
                ),
            }
        )
        reason = (
            "Full guidance kept (the advice to lower it is declined for a complete injury); "
            "sessions lengthened to 40 minutes"
            if kept_full
            else "Guidance force as the accepted assist-as-needed advice set it in weeks 1-3, "
            "then stepped down from there; sessions lengthened to 40 minutes"
        )
        plans.revise_plan(
            session, SYSTEM_DEMO, plan.id, revision, 1, reason,
            on_behalf=OnBehalf(author_id, revised_at),
        )  # fmt: skip
    return 1


def _notes(
    session: Session, past: list[TherapySession], amend: bool, rng: np.random.Generator
) -> int:
    """A note per session, the objective from its gait summary; all signed but the newest."""
    previous_cadence: float | None = None
    for number, record in enumerate(past):
        ended = record.ended_at or record.started_at
        assert ended is not None
        written = OnBehalf(record.therapist_id, ended + timedelta(minutes=10))
        note = notes.start_note(session, SYSTEM_DEMO, record.id, on_behalf=written)
        point = progress_point(record.telemetry_session) if record.telemetry_session else None
        cadence = point.cadence_steps_per_min if point else None
        if cadence is not None and previous_cadence is not None:
            assessment = (
                f"Cadence {cadence:.0f} steps/min ({cadence - previous_cadence:+.0f} since the "
                "last session). Tolerating the planned guidance force."
            )
        else:
            assessment = "First session on the device: fitted and walked without incident."
        previous_cadence = cadence if cadence is not None else previous_cadence
        notes.update_draft(
            session,
            SYSTEM_DEMO,
            note.id,
            {
                "subjective": str(rng.choice(SUBJECTIVE)),
                "assessment": assessment,
                "plan": "Continue the plan; next week's settings as planned.",
            },
        )
        if number == len(past) - 1:
            continue  # the newest note is still a draft, as on a busy afternoon
        notes.sign_note(
            session, SYSTEM_DEMO, note.id,
            on_behalf=OnBehalf(record.therapist_id, ended + timedelta(minutes=30)),
        )  # fmt: skip
        if amend and number == 1:
            notes.amend_note(
                session, SYSTEM_DEMO, note.id, NoteSection.subjective,
                "Knee stiffness in the morning, left side.",
                "Wrong side recorded: the stiffness was in the left knee",
                on_behalf=OnBehalf(record.therapist_id, ended + timedelta(days=1)),
            )  # fmt: skip
    return len(past)


def _programme(
    session: Session,
    patient: Patient,
    first: TherapySession,
    author_id: str,
    library: dict[str, Exercise],
    today: date,
    rng: np.random.Generator,
) -> int:
    """Three exercises from the first session on, logged on most planned days, a little more
    faithfully as the weeks go by (as adherence often does once a routine settles)."""
    assert first.started_at is not None
    # From the Monday after the first session: the home routine starts with a fresh week.
    starts = first.started_at.date() + timedelta(days=7 - first.started_at.weekday())
    items = [
        ProgrammeItemIn(exercise_id=library[code].id, sets=sets, reps=reps, days_per_week=days)
        for code, sets, reps, days in PROGRAMME
        if code in library
    ]
    programme = programmes.assign_programme(
        session, SYSTEM_DEMO, patient.id, starts, starts + timedelta(weeks=PROGRAMME_WEEKS),
        items, PROGRAMME_NOTE.get(patient.preferred_language, PROGRAMME_NOTE["en"]),
        on_behalf=OnBehalf(author_id, first.started_at),
    )  # fmt: skip
    weekdays = {3: (0, 2, 4), 5: (0, 1, 2, 3, 4)}
    logged = 0
    day = starts
    while day < today:
        week = (day - starts).days // 7
        p_done = min(0.9, 0.55 + 0.06 * week)
        for item in programme.items:
            if day.weekday() not in weekdays.get(item.days_per_week, (0, 2, 4)):
                continue
            if rng.random() < 0.1:
                continue  # forgot to log
            draw = rng.random()
            status = (
                AdherenceStatus.done
                if draw < p_done
                else AdherenceStatus.partly
                if draw < p_done + (1 - p_done) / 2
                else AdherenceStatus.not_done
            )
            programmes.log_adherence(
                session, SYSTEM_DEMO, programme.id, item.id, day, status,
                int(rng.integers(0, 4)), Difficulty(str(rng.choice(list(Difficulty)))),
                on_behalf=OnBehalf(patient.user_id, datetime.combine(day, time(19, 0), UTC)),
            )  # fmt: skip
            logged += 1
        day += timedelta(days=1)
    return logged
