"""HTML pages of the academy: learners' courses, trainers' authoring, the team's certificates,
and the public verification page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from exoshare.academy import certificates, courses, learning, media, verification
from exoshare.academy.schemas import (
    CourseCreate,
    CourseText,
    LessonCreate,
    LessonText,
    ModuleCreate,
    OptionCreate,
    QuestionCreate,
)
from exoshare.auth import service as auth_service
from exoshare.auth.gate import page_requires
from exoshare.auth.schemas import Role
from exoshare.auth.scope import Permission, Principal
from exoshare.deps import DbSession
from exoshare.devices import service as devices_service
from exoshare.errors import Conflict, InvalidInput, NotFound, TooLarge
from exoshare.network import service as network_service
from exoshare.runtime import runtime_of
from exoshare.web.problem_words import problem_from_query, problem_query
from exoshare.web.render import render, request_locale

router = APIRouter(include_in_schema=False)

Learner = Annotated[Principal, Depends(page_requires(Permission.academy_learn))]
Author = Annotated[Principal, Depends(page_requires(Permission.academy_author))]
Certifier = Annotated[Principal, Depends(page_requires(Permission.academy_certify))]
TeamViewer = Annotated[Principal, Depends(page_requires(Permission.academy_team))]

REFUSALS = (Conflict, InvalidInput, TooLarge)
"""What a form's author can fix: shown on the page they came from, nothing stored."""


def _back(path: str, refused: Exception | None = None) -> RedirectResponse:
    if refused is None:
        return RedirectResponse(path, status_code=303)
    joiner = "&" if "?" in path else "?"
    return RedirectResponse(f"{path}{joiner}{problem_query(refused)}", status_code=303)


def _attempt(session: Session, back: str, action: Callable[[], object]) -> RedirectResponse:
    """Run a form's action and go back to ``back``: with the refusal when the author can fix it
    (a refused rule, or pydantic's check of the form's values), nothing stored."""
    try:
        action()
    except (*REFUSALS, ValidationError) as refused:
        session.rollback()
        return _back(back, refused)
    return _back(back)


def _today() -> date:
    return datetime.now(UTC).date()


@router.get("/academy", response_class=HTMLResponse)
def academy_home(request: Request, session: DbSession, principal: Learner) -> HTMLResponse:
    language = request_locale(request, principal)
    rows = []
    for course in courses.list_courses(session, principal):
        used, texts = courses.pick(course.translations, language, course.fallback_language)
        state = learning.progress(session, principal.user_id, course)
        rows.append((course, used, texts, state))
    own = certificates.list_certificates(session, principal, principal.user_id)
    return render(
        request,
        "academy/home.html",
        principal,
        rows=rows,
        certificates=own,
        status_of=lambda c: certificates.status_on(c, _today()).value,
        may_author=principal.can(Permission.academy_author),
        may_see_team=principal.can(Permission.academy_team),
        models=devices_service.all_models(session)
        if principal.can(Permission.academy_author)
        else [],
        units=network_service.list_org_units(session, principal, limit=200, offset=0)[0]
        if principal.can(Permission.academy_author)
        else [],
        error=problem_from_query(request.query_params),
    )


@router.get("/academy/courses/{course_id}", response_class=HTMLResponse)
def course_page(
    course_id: str, request: Request, session: DbSession, principal: Learner
) -> HTMLResponse:
    course = courses.get_course(session, principal, course_id)
    language = request_locale(request, principal)
    return render(
        request,
        "academy/course.html",
        principal,
        course=course,
        texts=courses.pick(course.translations, language, course.fallback_language)[1],
        pick=lambda texts: courses.pick(texts, language, course.fallback_language),
        done=learning.completed_lesson_ids(session, principal.user_id, course),
        state=learning.progress(session, principal.user_id, course),
        may_author=courses.may_author(principal, course),
        language=language,
    )


@router.get("/academy/lessons/{lesson_id}", response_class=HTMLResponse)
def lesson_page(
    lesson_id: str, request: Request, session: DbSession, principal: Learner
) -> HTMLResponse:
    lesson = courses.get_lesson(session, principal, lesson_id)
    course = lesson.module.course
    language = request_locale(request, principal)
    used, texts = courses.pick(lesson.translations, language, course.fallback_language)
    paragraphs = [p.strip() for p in texts.get("body", "").split("\n\n") if p.strip()]
    done = learning.completed_lesson_ids(session, principal.user_id, course)
    return render(
        request,
        "academy/lesson.html",
        principal,
        lesson=lesson,
        course=course,
        course_title=courses.pick(course.translations, language, course.fallback_language)[1][
            "title"
        ],
        used=used,
        texts=texts,
        paragraphs=paragraphs,
        completed=lesson.id in done,
        caption=lambda m: (
            courses.pick(m.caption, language, course.fallback_language)[1].get("text", "")
            if m.caption
            else ""
        ),
    )


@router.post("/academy/lessons/{lesson_id}/complete")
def complete_lesson(lesson_id: str, session: DbSession, principal: Learner) -> RedirectResponse:
    lesson = courses.get_lesson(session, principal, lesson_id)
    learning.complete_lesson(session, principal, lesson.id)
    return _back(f"/academy/courses/{lesson.module.course_id}")


@router.get("/academy/courses/{course_id}/quiz", response_class=HTMLResponse)
def quiz_page(
    course_id: str, request: Request, session: DbSession, principal: Learner
) -> HTMLResponse:
    course = courses.get_course(session, principal, course_id)
    language = request_locale(request, principal)
    return render(
        request,
        "academy/quiz.html",
        principal,
        course=course,
        title=courses.pick(course.translations, language, course.fallback_language)[1]["title"],
        pick=lambda texts: courses.pick(texts, language, course.fallback_language)[1],
        result=None,
        error=problem_from_query(request.query_params),
    )


@router.post("/academy/courses/{course_id}/quiz", response_class=HTMLResponse, response_model=None)
async def submit_quiz(
    course_id: str, request: Request, session: DbSession, principal: Learner
) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    course = courses.get_course(session, principal, course_id)
    answers = {q.id: [str(v) for v in form.getlist(f"q_{q.id}")] for q in course.questions}
    language = request_locale(request, principal)
    try:
        result = learning.submit_quiz(session, principal, course_id, answers)
    except REFUSALS as refused:
        session.rollback()
        return _back(f"/academy/courses/{course_id}/quiz", refused)
    return render(
        request,
        "academy/quiz.html",
        principal,
        course=course,
        title=courses.pick(course.translations, language, course.fallback_language)[1]["title"],
        pick=lambda texts: courses.pick(texts, language, course.fallback_language)[1],
        result=result,
        error=None,
    )


# ---------------------------------------------------------------------------- authoring


@router.post("/academy/courses")
def create_course(
    session: DbSession,
    principal: Author,
    model_id: Annotated[str, Form(max_length=32)],
    org_unit_id: Annotated[str, Form(max_length=32)],
    topic: Annotated[str, Form(max_length=80)],
    language: Annotated[str, Form(max_length=12)],
    title: Annotated[str, Form(max_length=200)],
    summary: Annotated[str, Form(max_length=2000)] = "",
    pass_mark_pct: Annotated[int, Form(ge=1, le=100)] = 80,
    certificate_valid_days: Annotated[int, Form(ge=1, le=3650)] = 730,
) -> RedirectResponse:
    try:
        data = CourseCreate(
            model_id=model_id,
            org_unit_id=org_unit_id,
            topic=topic,
            fallback_language=language,
            texts={language: CourseText(title=title, summary=summary)},
            pass_mark_pct=pass_mark_pct,
            certificate_valid_days=certificate_valid_days,
        )
        course = courses.create_course(session, principal, data)
    except (*REFUSALS, ValidationError) as refused:
        session.rollback()
        return _back("/academy", refused)
    return _back(f"/academy/courses/{course.id}/edit")


@router.get("/academy/courses/{course_id}/edit", response_class=HTMLResponse)
def edit_course_page(
    course_id: str, request: Request, session: DbSession, principal: Author
) -> HTMLResponse:
    course = courses.authored_course(session, principal, course_id)
    language = request_locale(request, principal)
    languages = courses.languages_of(course)
    return render(
        request,
        "academy/edit.html",
        principal,
        course=course,
        pick=lambda texts: courses.pick(texts, language, course.fallback_language)[1],
        languages=languages,
        missing={lang: courses.missing_translations(course, lang) for lang in languages},
        learners=auth_service.users_granted_in(
            session, principal, Permission.academy_certify, Role.therapist
        )
        if principal.can(Permission.academy_certify)
        else [],
        error=problem_from_query(request.query_params),
    )


@router.post("/academy/courses/{course_id}/publish")
def publish_course(course_id: str, session: DbSession, principal: Author) -> RedirectResponse:
    courses.set_published(session, principal, course_id, True)
    return _back(f"/academy/courses/{course_id}/edit")


@router.post("/academy/courses/{course_id}/modules")
def add_module(
    course_id: str,
    session: DbSession,
    principal: Author,
    language: Annotated[str, Form(max_length=12)],
    title: Annotated[str, Form(min_length=1, max_length=200)],
) -> RedirectResponse:
    return _attempt(
        session,
        f"/academy/courses/{course_id}/edit",
        lambda: courses.add_module(
            session, principal, course_id, ModuleCreate(titles={language: title})
        ),
    )


@router.post("/academy/courses/{course_id}/lessons")
def add_lesson(
    course_id: str,
    session: DbSession,
    principal: Author,
    module_id: Annotated[str, Form(max_length=32)],
    language: Annotated[str, Form(max_length=12)],
    title: Annotated[str, Form(min_length=1, max_length=200)],
    body: Annotated[str, Form(max_length=50_000)] = "",
) -> RedirectResponse:
    return _attempt(
        session,
        f"/academy/courses/{course_id}/edit",
        lambda: courses.add_lesson(
            session,
            principal,
            course_id,
            LessonCreate(module_id=module_id, texts={language: LessonText(title=title, body=body)}),
        ),
    )


@router.post("/academy/lessons/{lesson_id}/translations")
def translate_lesson(
    lesson_id: str,
    session: DbSession,
    principal: Author,
    language: Annotated[str, Form(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")],
    title: Annotated[str, Form(min_length=1, max_length=200)],
    body: Annotated[str, Form(max_length=50_000)] = "",
) -> RedirectResponse:
    lesson = courses.translate_lesson(session, principal, lesson_id, language, title, body)
    return _back(f"/academy/courses/{lesson.module.course_id}/edit")


@router.post("/academy/lessons/{lesson_id}/media")
async def upload_media(
    lesson_id: str,
    request: Request,
    session: DbSession,
    principal: Author,
    file: Annotated[UploadFile, File()],
    caption: Annotated[str, Form(max_length=300)] = "",
) -> RedirectResponse:
    lesson = courses.authored_lesson(session, principal, lesson_id)
    back = f"/academy/courses/{lesson.module.course_id}/edit"
    settings = runtime_of(request).settings
    content = await file.read(settings.academy_max_media_mb * 1024 * 1024 + 1)
    return _attempt(
        session,
        back,
        lambda: media.add_media(
            session,
            principal,
            settings.data_dir,
            lesson_id,
            content,
            file.filename or "upload",
            caption,
            request_locale(request, principal),
            settings.academy_max_media_mb,
        ),
    )


@router.post("/academy/courses/{course_id}/questions")
async def add_question(
    course_id: str, request: Request, session: DbSession, principal: Author
) -> RedirectResponse:
    form = await request.form()
    back = f"/academy/courses/{course_id}/edit"
    language = str(form.get("language", ""))
    correct = {str(v) for v in form.getlist("correct")}
    options = [(str(form.get(f"option_{n}", "")).strip(), str(n) in correct) for n in range(1, 5)]
    prompt = str(form.get("prompt", "")).strip()
    return _attempt(
        session,
        back,
        lambda: courses.add_question(
            session,
            principal,
            course_id,
            QuestionCreate(
                prompts={language: prompt},
                options=[
                    OptionCreate(texts={language: text}, correct=ok) for text, ok in options if text
                ],
            ),
        ),
    )


@router.post("/academy/courses/{course_id}/signoffs")
def sign_off(
    course_id: str,
    session: DbSession,
    principal: Certifier,
    learner_id: Annotated[str, Form(max_length=32)],
    note: Annotated[str, Form(max_length=500)] = "",
) -> RedirectResponse:
    return _attempt(
        session,
        f"/academy/courses/{course_id}/edit",
        lambda: learning.sign_off(session, principal, course_id, learner_id, None, note),
    )


# ------------------------------------------------------------------- team and certificates


@router.get("/academy/team", response_class=HTMLResponse)
def team_page(request: Request, session: DbSession, principal: TeamViewer) -> HTMLResponse:
    """Who on the team holds which certificate, until when (clinic admins, trainers)."""
    people = auth_service.users_granted_in(
        session, principal, Permission.academy_team, Role.therapist
    )
    held: dict[str, list[certificates.Certificate]] = {}
    for certificate in certificates.list_certificates(session, principal):
        held.setdefault(certificate.therapist_id, []).append(certificate)
    return render(
        request,
        "academy/team.html",
        principal,
        people=people,
        held=held,
        status_of=lambda c: certificates.status_on(c, _today()).value,
        may_certify=principal.can(Permission.academy_certify),
        models=devices_service.all_models(session),
        today=_today(),
        error=problem_from_query(request.query_params),
    )


@router.post("/academy/certificates")
def issue_certificate(
    session: DbSession,
    principal: Certifier,
    therapist_id: Annotated[str, Form(max_length=32)],
    model_id: Annotated[str, Form(max_length=32)],
    issued_on: Annotated[date, Form()],
    expires_on: Annotated[date, Form()],
) -> RedirectResponse:
    return _attempt(
        session,
        "/academy/team",
        lambda: certificates.issue(
            session, principal, therapist_id, model_id, issued_on, expires_on
        ),
    )


@router.post("/academy/certificates/{certificate_id}/renew")
def renew_certificate(
    certificate_id: str,
    session: DbSession,
    principal: Certifier,
    expires_on: Annotated[date, Form()],
) -> RedirectResponse:
    return _attempt(
        session,
        "/academy/team",
        lambda: certificates.renew(session, principal, certificate_id, expires_on),
    )


@router.post("/academy/certificates/{certificate_id}/revoke")
def revoke_certificate(
    certificate_id: str,
    session: DbSession,
    principal: Certifier,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> RedirectResponse:
    return _attempt(
        session,
        "/academy/team",
        lambda: certificates.revoke(session, principal, certificate_id, reason),
    )


@router.get("/verify/{verification_code}", response_class=HTMLResponse)
def verify_page(verification_code: str, request: Request, session: DbSession) -> HTMLResponse:
    """Public: anyone with the code sees the holder's name, the model, the dates and status.
    The page reads no credential, so it answers a signed-in and a signed-out reader alike."""
    try:
        found = verification.verify_code(session, verification_code, _today())
    except NotFound:
        return render(request, "academy/verify.html", None, status_code=404, found=None)
    return render(request, "academy/verify.html", None, found=found)
