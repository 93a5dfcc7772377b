"""HTTP routes of the care plan: plans and their versions, SOAP notes, the exercise library and
its media, home programmes and adherence."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi import status as http
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from exoshare import media_files
from exoshare.auth.gate import CurrentPrincipal
from exoshare.careplan import exercises, media, notes, plans, programmes
from exoshare.careplan.models import (
    CarePlan,
    Exercise,
    ExerciseMedia,
    HomeProgramme,
    SoapNote,
)
from exoshare.careplan.schemas import (
    AdherenceIn,
    AdherenceOut,
    AdherenceWeekOut,
    AmendmentIn,
    AmendmentOut,
    ExerciseCategory,
    ExerciseCreate,
    ExerciseOut,
    FieldChange,
    MediaOut,
    NoteCreate,
    NoteOut,
    NoteUpdate,
    PlanCreate,
    PlanDiffOut,
    PlanOut,
    PlanRevision,
    PlanVersionOut,
    ProgrammeCreate,
    ProgrammeOut,
    TodayItemOut,
)
from exoshare.deps import DbSession
from exoshare.runtime import runtime_of

router = APIRouter(prefix="/api/v1/careplan", tags=["careplan"])

Language = Annotated[str, Query(min_length=2, max_length=12, pattern=r"^[A-Za-z_-]+$")]


def plan_out(plan: CarePlan) -> PlanOut:
    versions = [PlanVersionOut.model_validate(v) for v in plan.versions]
    return PlanOut(
        id=plan.id,
        patient_id=plan.patient_id,
        clinic_id=plan.clinic_id,
        title=plan.title,
        current_version=plan.current_version,
        current=versions[-1],
        versions=versions,
    )


def note_out(note: SoapNote) -> NoteOut:
    return NoteOut(
        id=note.id,
        therapy_session_id=note.therapy_session_id,
        patient_id=note.patient_id,
        author_id=note.author_id,
        status=note.status,
        subjective=note.subjective,
        objective=note.objective,
        assessment=note.assessment,
        plan=note.plan,
        signed_at=note.signed_at,
        signed_by_id=note.signed_by_id,
        created_at=note.created_at,
        amendments=[AmendmentOut.model_validate(a) for a in note.amendments],
    )


def media_out(row: ExerciseMedia) -> MediaOut:
    out = MediaOut.model_validate(row)
    out.url = f"/api/v1/careplan/media/{row.id}"
    return out


def exercise_out(exercise: Exercise, language: str) -> ExerciseOut:
    text = exercises.text_in(exercise, language)
    return ExerciseOut(
        id=exercise.id,
        code=exercise.code,
        category=exercise.category,
        language=text.language,
        title=text.title,
        instructions=text.instructions,
        languages=[t.language for t in exercise.texts],
        media=[media_out(m) for m in exercise.media],
    )


def programme_out(programme: HomeProgramme) -> ProgrammeOut:
    return ProgrammeOut.model_validate(programme)


# ---------------------------------------------------------------------------- plans


@router.post("/plans", response_model=PlanOut, status_code=http.HTTP_201_CREATED)
def create_plan(body: PlanCreate, session: DbSession, principal: CurrentPrincipal) -> PlanOut:
    """A new treatment plan (version 1); every planned setting is checked against the device
    model's safety envelope (422 ``setting-outside-envelope`` naming the week and setting)."""
    plan = plans.create_plan(session, principal, body.patient_id, body.title, body)
    return plan_out(plan)


@router.get("/patients/{patient_id}/plans", response_model=list[PlanOut])
def plans_of_patient(
    patient_id: str, session: DbSession, principal: CurrentPrincipal
) -> list[PlanOut]:
    return [plan_out(p) for p in plans.plans_of_patient(session, principal, patient_id)]


@router.get("/plans/{plan_id}", response_model=PlanOut)
def get_plan(plan_id: str, session: DbSession, principal: CurrentPrincipal) -> PlanOut:
    return plan_out(plans.get_plan(session, principal, plan_id))


@router.post("/plans/{plan_id}/versions", response_model=PlanOut)
def revise_plan(
    plan_id: str, body: PlanRevision, session: DbSession, principal: CurrentPrincipal
) -> PlanOut:
    """The plan's next version, with the reason; 409 ``plan-version-stale`` when
    ``based_on_version`` is not the newest."""
    plan = plans.revise_plan(session, principal, plan_id, body, body.based_on_version, body.reason)
    return plan_out(plan)


@router.get("/plans/{plan_id}/diff", response_model=PlanDiffOut)
def diff_plan(
    plan_id: str,
    session: DbSession,
    principal: CurrentPrincipal,
    from_version: Annotated[int, Query(alias="from", ge=1, le=100_000)] = 1,
    to_version: Annotated[int | None, Query(alias="to", ge=1, le=100_000)] = None,
) -> PlanDiffOut:
    """What changed between two versions (default: the first and the newest)."""
    plan = plans.get_plan(session, principal, plan_id)
    newest = to_version or plan.current_version
    changes = plans.diff(plan, from_version, newest)
    return PlanDiffOut(
        plan_id=plan.id,
        from_version=from_version,
        to_version=newest,
        changes=[FieldChange(field=c.field, before=c.before, after=c.after) for c in changes],
    )


# ---------------------------------------------------------------------------- notes


@router.post("/notes", response_model=NoteOut, status_code=http.HTTP_201_CREATED)
def start_note(body: NoteCreate, session: DbSession, principal: CurrentPrincipal) -> NoteOut:
    """The SOAP note of a therapy session: a draft with the objective filled from the session's
    gait summary (or the note already started for the session)."""
    return note_out(notes.start_note(session, principal, body.therapy_session_id))


@router.get("/patients/{patient_id}/notes", response_model=list[NoteOut])
def notes_of_patient(
    patient_id: str, session: DbSession, principal: CurrentPrincipal
) -> list[NoteOut]:
    return [note_out(n) for n in notes.notes_of_patient(session, principal, patient_id)]


@router.get("/notes/{note_id}", response_model=NoteOut)
def get_note(note_id: str, session: DbSession, principal: CurrentPrincipal) -> NoteOut:
    return note_out(notes.get_note(session, principal, note_id))


@router.patch("/notes/{note_id}", response_model=NoteOut)
def update_note(
    note_id: str, body: NoteUpdate, session: DbSession, principal: CurrentPrincipal
) -> NoteOut:
    """Change sections of a draft; a signed note answers 409 ``note-signed`` (amend it)."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    return note_out(notes.update_draft(session, principal, note_id, changes))


@router.post("/notes/{note_id}/sign", response_model=NoteOut)
def sign_note(note_id: str, session: DbSession, principal: CurrentPrincipal) -> NoteOut:
    return note_out(notes.sign_note(session, principal, note_id))


@router.post("/notes/{note_id}/amendments", response_model=NoteOut)
def amend_note(
    note_id: str, body: AmendmentIn, session: DbSession, principal: CurrentPrincipal
) -> NoteOut:
    note = notes.amend_note(session, principal, note_id, body.section, body.text, body.reason)
    return note_out(note)


# ---------------------------------------------------------------------------- exercises


@router.get("/exercises", response_model=list[ExerciseOut])
def list_exercises(
    session: DbSession,
    principal: CurrentPrincipal,
    language: Language = "en",
    category: ExerciseCategory | None = None,
) -> list[ExerciseOut]:
    """The shared library, each exercise in ``language`` or its default language."""
    return [exercise_out(e, language) for e in exercises.list_exercises(session, category)]


@router.post("/exercises", response_model=ExerciseOut, status_code=http.HTTP_201_CREATED)
def create_exercise(
    body: ExerciseCreate, session: DbSession, principal: CurrentPrincipal
) -> ExerciseOut:
    exercise = exercises.create_exercise(
        session, principal, body.code, body.category, body.default_language, body.texts
    )
    return exercise_out(exercise, body.default_language)


@router.get("/exercises/{exercise_id}", response_model=ExerciseOut)
def get_exercise(
    exercise_id: str, session: DbSession, principal: CurrentPrincipal, language: Language = "en"
) -> ExerciseOut:
    return exercise_out(exercises.get_exercise(session, exercise_id), language)


@router.post(
    "/exercises/{exercise_id}/media", response_model=MediaOut, status_code=http.HTTP_201_CREATED
)
async def upload_media(
    exercise_id: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    caption: Annotated[str | None, Query(max_length=200)] = None,
) -> MediaOut:
    """A picture or short video, sent as the raw request body with its ``Content-Type``
    (image/svg+xml, image/png, image/jpeg, image/webp up to 1–5 MB; video/mp4, video/webm up
    to 50 MB). 413 ``media-too-large`` past the limit, 422 ``media-rejected`` for another type
    or bytes that are not what the type says; nothing is kept of a refused file."""
    await run_in_threadpool(exercises.exercise_for_media, session, principal, exercise_id)
    kind = media.declared_type(request.headers.get("content-type"))
    media.refuse_declared_length(kind, request.headers.get("content-length"))
    folder = media.media_dir(runtime_of(request).settings.data_dir)
    received = await media.receive(request.stream(), kind, folder)
    row = await run_in_threadpool(
        exercises.add_media, session, principal, exercise_id, received, folder, caption
    )
    return media_out(row)


@router.get(
    "/media/{media_id}",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The picture or video",
            "content": {kind: {} for kind in media.LIMIT_BYTES},
        }
    },
)
def get_media(
    media_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> FileResponse:
    """The file itself, with its type and size (and byte ranges, for video)."""
    row = exercises.get_media(session, media_id)
    folder = media.media_dir(runtime_of(request).settings.data_dir)
    return FileResponse(
        media_files.path_of(folder, row.sha256, row.content_type),
        media_type=row.content_type,
        headers=media_files.SERVE_HEADERS,
    )


# ---------------------------------------------------------------------------- programmes


@router.post("/programmes", response_model=ProgrammeOut, status_code=http.HTTP_201_CREATED)
def assign_programme(
    body: ProgrammeCreate, session: DbSession, principal: CurrentPrincipal
) -> ProgrammeOut:
    programme = programmes.assign_programme(
        session, principal, body.patient_id, body.starts_on, body.ends_on, body.items, body.note
    )
    return programme_out(programme)


@router.get("/patients/{patient_id}/programmes", response_model=list[ProgrammeOut])
def programmes_of_patient(
    patient_id: str, session: DbSession, principal: CurrentPrincipal
) -> list[ProgrammeOut]:
    rows = programmes.programmes_of_patient(session, principal, patient_id)
    return [programme_out(p) for p in rows]


@router.get("/programmes/{programme_id}", response_model=ProgrammeOut)
def get_programme(
    programme_id: str, session: DbSession, principal: CurrentPrincipal
) -> ProgrammeOut:
    return programme_out(programmes.get_programme(session, principal, programme_id))


@router.post(
    "/programmes/{programme_id}/adherence",
    response_model=AdherenceOut,
    status_code=http.HTTP_201_CREATED,
)
def log_adherence(
    programme_id: str, body: AdherenceIn, session: DbSession, principal: CurrentPrincipal
) -> AdherenceOut:
    """The patient reports one exercise on one day; a newer report of the same day counts."""
    row = programmes.log_adherence(
        session, principal, programme_id, body.item_id, body.performed_on, body.status,
        body.pain_0_10, body.difficulty, body.note,
    )  # fmt: skip
    return AdherenceOut.model_validate(row)


@router.get("/programmes/{programme_id}/adherence", response_model=list[AdherenceWeekOut])
def weekly_adherence(
    programme_id: str, session: DbSession, principal: CurrentPrincipal
) -> list[AdherenceWeekOut]:
    """Adherence per week (Monday to Sunday): credited over expected sessions, in percent."""
    weeks = programmes.weekly_adherence(session, principal, programme_id)
    return [AdherenceWeekOut.model_validate(w, from_attributes=True) for w in weeks]


@router.get("/my/exercises-today", response_model=list[TodayItemOut])
def my_exercises_today(
    session: DbSession, principal: CurrentPrincipal, language: Language = "en"
) -> list[TodayItemOut]:
    """The caller's own exercises of today (a patient's login), with what was logged today."""
    today = datetime.now(UTC).date()
    own = programmes.own_programmes_today(session, principal, today)
    items = [(p, item) for p in own for item in p.items]
    logged = programmes.logged_on(session, [item.id for _, item in items], today)
    return [
        TodayItemOut(
            programme_id=p.id,
            item_id=item.id,
            exercise=exercise_out(item.exercise, language),
            sets=item.sets,
            reps=item.reps,
            days_per_week=item.days_per_week,
            logged_today=logged.get(item.id),
        )
        for p, item in items
    ]
