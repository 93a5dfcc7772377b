"""HTML routes of the care plan: the therapist's care page of a patient (plans, notes, home
programmes with adherence), a plan with its versions and diff, the note editor, the exercise
library, and the patient's own exercises of today (phone-sized)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from exoshare.auth.gate import CurrentPrincipal, page_requires
from exoshare.auth.scope import Permission, Principal
from exoshare.careplan import access, exercises, forms, notes, plans, programmes
from exoshare.careplan.schemas import (
    AdherenceIn,
    AdherenceStatus,
    Difficulty,
    ExerciseCategory,
    ExerciseCreate,
    NoteSection,
    PlanContent,
    ProgrammeCreate,
)
from exoshare.deps import DbSession
from exoshare.devices import service as devices_service
from exoshare.errors import N_, InvalidInput, NotFound
from exoshare.telerehab import sessions as telerehab_sessions
from exoshare.web.render import render, request_locale

router = APIRouter(include_in_schema=False)

StaffPrincipal = Annotated[Principal, Depends(page_requires(Permission.patients_read))]
"""The care team's pages do not exist for anyone else (404), like any page out of scope."""


def _today() -> date:
    return datetime.now(UTC).date()


@router.get("/patients/{patient_id}/careplan", response_class=HTMLResponse)
def care_page(
    patient_id: str,
    request: Request,
    session: DbSession,
    principal: StaffPrincipal,
    model: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    """Plans, notes and home programmes of one patient, with the forms to add them."""
    patient = access.patient_for_staff(session, principal, patient_id)
    may_write = principal.covers(Permission.patients_write, patient.clinic.path)
    therapy = telerehab_sessions.sessions_of_patient(session, principal, patient.id)
    patient_notes = notes.notes_of_patient(session, principal, patient.id)
    noted = {n.therapy_session_id for n in patient_notes}
    patient_programmes = programmes.programmes_of_patient(session, principal, patient.id)
    adherence = {
        p.id: programmes.weekly_adherence(session, principal, p.id) for p in patient_programmes
    }
    models = devices_service.all_models(session)
    chosen = next((m for m in models if m.id == model), None) or (models[0] if models else None)
    today = _today()
    return render(
        request,
        "careplan/care.html",
        principal,
        patient=patient,
        may_write=may_write,
        plans=plans.plans_of_patient(session, principal, patient.id),
        notes=patient_notes,
        unnoted=[t for t in therapy if t.id not in noted and t.status.value == "completed"],
        programmes=patient_programmes,
        adherence=adherence,
        models=models,
        model=chosen,
        envelope=devices_service.envelope_of(session, chosen.id) if chosen else {},
        units=devices_service.all_units(session, principal),
        library=exercises.list_exercises(session),
        language=request_locale(request, principal),
        text_in=exercises.text_in,
        today=today,
        course_end=today + timedelta(weeks=8) - timedelta(days=1),
        weeks=range(1, 9),
    )


@router.post("/patients/{patient_id}/careplan/plans", response_class=RedirectResponse)
async def create_plan(
    patient_id: str, request: Request, session: DbSession, principal: StaffPrincipal
) -> RedirectResponse:
    access.patient_for_staff(session, principal, patient_id)  # a path id: 404 when foreign
    form = await request.form()
    envelope = devices_service.envelope_of(session, forms.text(form, "device_model_id"))
    values = forms.plan_values(form, sorted(envelope))
    content = forms.parsed(PlanContent, values)
    plan = plans.create_plan(session, principal, patient_id, forms.text(form, "title"), content)
    return RedirectResponse(f"/careplan/plans/{plan.id}", status_code=303)


@router.get("/careplan/plans/{plan_id}", response_class=HTMLResponse)
def plan_page(
    plan_id: str,
    request: Request,
    session: DbSession,
    principal: StaffPrincipal,
    from_version: Annotated[int | None, Query(alias="from", ge=1, le=100_000)] = None,
    to_version: Annotated[int | None, Query(alias="to", ge=1, le=100_000)] = None,
) -> HTMLResponse:
    """A plan's newest version, every earlier one, the difference between two, and the form
    for the next version."""
    plan = plans.get_plan(session, principal, plan_id)
    newest = plan.current_version
    to_v = min(to_version or newest, newest)
    from_v = min(from_version or max(1, to_v - 1), to_v)
    current = plans.version_of(plan, newest)
    return render(
        request,
        "careplan/plan.html",
        principal,
        plan=plan,
        current=current,
        from_v=from_v,
        to_v=to_v,
        changes=plans.diff(plan, from_v, to_v) if from_v != to_v else [],
        may_write=principal.covers(Permission.patients_write, plan.clinic.path),
        envelope=devices_service.envelope_of(session, current.device_model_id),
        planned={
            (int(w["week"]), name): value
            for w in current.progression
            for name, value in w["settings"].items()
        },
        weeks=range(1, forms.course_weeks(current.starts_on, current.ends_on) + 1),
        units=devices_service.all_units(session, principal),
    )


@router.post("/careplan/plans/{plan_id}/versions", response_class=RedirectResponse)
async def revise_plan(
    plan_id: str, request: Request, session: DbSession, principal: StaffPrincipal
) -> RedirectResponse:
    form = await request.form()
    plan = plans.get_plan(session, principal, plan_id, write=True)
    current = plans.version_of(plan, plan.current_version)
    envelope = devices_service.envelope_of(session, current.device_model_id)
    values = forms.plan_values(form, sorted(envelope))
    values["device_model_id"] = current.device_model_id
    content = forms.parsed(PlanContent, values)
    based_on = forms.text(form, "based_on_version")
    if not based_on.isdigit():
        raise InvalidInput.worded(
            N_("based_on_version must be a version number"), also={"field": "based_on_version"}
        )
    revised = plans.revise_plan(
        session, principal, plan_id, content, int(based_on), forms.text(form, "reason")
    )
    return RedirectResponse(
        f"/careplan/plans/{revised.id}?from={revised.current_version - 1}", status_code=303
    )


# ---------------------------------------------------------------------------- notes


@router.post("/careplan/notes", response_class=RedirectResponse)
async def start_note(
    request: Request, session: DbSession, principal: StaffPrincipal
) -> RedirectResponse:
    form = await request.form()
    note = notes.start_note(session, principal, forms.text(form, "therapy_session_id"))
    return RedirectResponse(f"/careplan/notes/{note.id}", status_code=303)


@router.get("/careplan/notes/{note_id}", response_class=HTMLResponse)
def note_page(
    note_id: str, request: Request, session: DbSession, principal: StaffPrincipal
) -> HTMLResponse:
    note = notes.get_note(session, principal, note_id)
    return render(
        request,
        "careplan/note.html",
        principal,
        note=note,
        sections=list(NoteSection),
        current={s: notes.current_text(note, s) for s in NoteSection},
        may_write=principal.covers(Permission.patients_write, note.clinic.path),
        may_sign=note.author_id == principal.user_id,
    )


@router.post("/careplan/notes/{note_id}", response_class=RedirectResponse)
async def change_note(
    note_id: str, request: Request, session: DbSession, principal: StaffPrincipal
) -> RedirectResponse:
    """The editor's buttons: ``save`` a draft, ``sign`` it, or ``amend`` a signed note."""
    form = await request.form()
    action = forms.text(form, "action")
    if action in ("save", "sign"):
        changes = {s.value: forms.text(form, s.value) for s in NoteSection if s.value in form}
        note = notes.get_note(session, principal, note_id, write=True)
        if changes or note.status.value == "draft":
            notes.update_draft(session, principal, note_id, changes)
        if action == "sign":
            notes.sign_note(session, principal, note_id)
    elif action == "amend":
        try:
            section = NoteSection(forms.text(form, "section"))
        except ValueError:
            raise InvalidInput(
                f"section: one of {', '.join(s.value for s in NoteSection)}", field="section"
            ) from None
        notes.amend_note(
            session, principal, note_id, section, forms.text(form, "text"),
            forms.text(form, "reason"),
        )  # fmt: skip
    else:
        raise InvalidInput.worded(N_("action: one of save, sign, amend"), also={"field": "action"})
    return RedirectResponse(f"/careplan/notes/{note_id}", status_code=303)


# ---------------------------------------------------------------------------- library


@router.get("/careplan/exercises", response_class=HTMLResponse)
def library_page(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    category: ExerciseCategory | None = None,
) -> HTMLResponse:
    rows = exercises.list_exercises(session, category)
    return render(
        request,
        "careplan/library.html",
        principal,
        exercises=rows,
        category=category,
        categories=list(ExerciseCategory),
        language=request_locale(request, principal),
        text_in=exercises.text_in,
        may_add=principal.can(Permission.patients_write),
        may_change={
            e.id
            for e in rows
            if e.owner is not None and principal.covers(Permission.patients_write, e.owner.path)
        },
    )


@router.post("/careplan/exercises", response_class=RedirectResponse)
async def create_exercise(
    request: Request, session: DbSession, principal: StaffPrincipal
) -> RedirectResponse:
    form = await request.form()
    language = request_locale(request, principal).split("_")[0]
    body = forms.parsed(
        ExerciseCreate,
        {
            "code": forms.text(form, "code"),
            "category": forms.text(form, "category"),
            "default_language": language,
            "texts": [
                {
                    "language": language,
                    "title": forms.text(form, "title"),
                    "instructions": forms.text(form, "instructions"),
                }
            ],
        },
    )
    exercises.create_exercise(
        session, principal, body.code, body.category, body.default_language, body.texts
    )
    return RedirectResponse("/careplan/exercises", status_code=303)


# ---------------------------------------------------------------------------- programmes


@router.post("/patients/{patient_id}/careplan/programmes", response_class=RedirectResponse)
async def assign_programme(
    patient_id: str, request: Request, session: DbSession, principal: StaffPrincipal
) -> RedirectResponse:
    access.patient_for_staff(session, principal, patient_id)  # a path id: 404 when foreign
    form = await request.form()
    chosen = [str(v) for v in form.getlist("exercise_id")]
    body = forms.parsed(
        ProgrammeCreate,
        {
            "patient_id": patient_id,
            "starts_on": forms.text(form, "starts_on"),
            "ends_on": forms.text(form, "ends_on"),
            "note": forms.text(form, "note") or None,
            "items": [
                {
                    "exercise_id": exercise_id,
                    "sets": forms.text(form, f"sets_{exercise_id}"),
                    "reps": forms.text(form, f"reps_{exercise_id}"),
                    "days_per_week": forms.text(form, f"days_{exercise_id}"),
                }
                for exercise_id in chosen
            ],
        },
    )
    programmes.assign_programme(
        session, principal, body.patient_id, body.starts_on, body.ends_on, body.items, body.note
    )
    return RedirectResponse(f"/patients/{patient_id}/careplan#programmes", status_code=303)


@router.get("/my/exercises", response_class=HTMLResponse)
def my_exercises(request: Request, session: DbSession, principal: CurrentPrincipal) -> HTMLResponse:
    """The patient's exercises of today, each with a one-tap log form (phone-sized)."""
    today = _today()
    own = programmes.own_programmes_today(session, principal, today)
    items = [item for programme in own for item in programme.items]
    return render(
        request,
        "careplan/my_exercises.html",
        principal,
        programmes=own,
        logged=programmes.logged_on(session, [i.id for i in items], today),
        today=today,
        language=request_locale(request, principal),
        text_in=exercises.text_in,
        statuses=list(AdherenceStatus),
        difficulties=list(Difficulty),
        saved=request.query_params.get("saved") == "1",
    )


@router.post("/my/exercises", response_class=RedirectResponse)
async def log_exercise(
    request: Request, session: DbSession, principal: CurrentPrincipal
) -> RedirectResponse:
    form = await request.form()
    today = _today()
    # Exercises done late in the evening are often logged the next morning.
    day = {"today": today, "yesterday": today - timedelta(days=1)}.get(
        forms.text(form, "day") or "today"
    )
    if day is None:
        raise InvalidInput.worded(N_("day: today or yesterday"), also={"field": "day"})
    programme_id = forms.text(form, "programme_id")
    own = {p.id for p in programmes.own_programmes_today(session, principal, today)}
    if programme_id not in own:
        raise NotFound(f"home programme {programme_id} not found")
    body = forms.parsed(
        AdherenceIn,
        {
            "item_id": forms.text(form, "item_id"),
            "performed_on": str(day),
            "status": forms.text(form, "status"),
            "pain_0_10": forms.text(form, "pain_0_10") or "0",
            "difficulty": forms.text(form, "difficulty") or "right",
            "note": forms.text(form, "note") or None,
        },
    )
    programmes.log_adherence(
        session, principal, programme_id, body.item_id, body.performed_on, body.status,
        body.pain_0_10, body.difficulty, body.note,
    )  # fmt: skip
    return RedirectResponse("/my/exercises?saved=1", status_code=303)
