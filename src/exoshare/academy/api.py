"""HTTP routes of the academy: courses, lessons, quizzes, sign-offs, certificates, verification."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile, status
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session

from exoshare import media_files
from exoshare.academy import certificates, courses, learning, media, verification
from exoshare.academy.models import Course, Lesson, QuizQuestion
from exoshare.academy.schemas import (
    LANGUAGE_PATTERN,
    CertificateIssue,
    CertificateOut,
    CertificateRenewal,
    CertificateRevocation,
    CourseCreate,
    CourseDetailOut,
    CourseOut,
    CredentialOut,
    JwkSetOut,
    LessonCreate,
    LessonCreated,
    LessonOut,
    LessonText,
    MediaOut,
    ModuleCreate,
    ModuleCreated,
    ModuleOut,
    OptionOut,
    ProgressOut,
    QuestionCreate,
    QuestionOut,
    QuizAnswers,
    QuizOut,
    QuizResultOut,
    SignoffCreate,
    SignoffOut,
    VerificationOut,
)
from exoshare.auth.gate import CurrentPrincipal
from exoshare.auth.scope import Principal
from exoshare.deps import DbSession
from exoshare.errors import NotFound
from exoshare.runtime import runtime_of

router = APIRouter(prefix="/api/v1/academy", tags=["academy"])
public = APIRouter(tags=["academy"])

Language = Annotated[
    str | None,
    Query(pattern=LANGUAGE_PATTERN, description="Language of the texts (default: the caller's)."),
]


def course_out(course: Course, language: str) -> CourseOut:
    used, texts = courses.pick(course.translations, language, course.fallback_language)
    return CourseOut(
        id=course.id,
        model_id=course.model_id,
        model_name=course.model.name,
        topic=course.topic,
        language=used,
        languages=courses.languages_of(course),
        title=texts["title"],
        summary=texts.get("summary", ""),
        pass_mark_pct=course.pass_mark_pct,
        certificate_valid_days=course.certificate_valid_days,
        practical_required=course.practical_required,
        published=course.published,
    )


def lesson_out(lesson: Lesson, language: str, fallback: str, completed: bool) -> LessonOut:
    used, texts = courses.pick(lesson.translations, language, fallback)
    return LessonOut(
        id=lesson.id,
        module_id=lesson.module_id,
        language=used,
        title=texts["title"],
        body=texts.get("body", ""),
        media_ids=[m.id for m in lesson.media],
        completed=completed,
    )


def progress_out(state: learning.Progress) -> ProgressOut:
    return ProgressOut(
        lessons_total=state.lessons_total,
        lessons_completed=state.lessons_completed,
        best_score_pct=state.best_score_pct,
        quiz_passed=state.quiz_passed,
        practical_signed_off=state.practical_signed_off,
        certificate_id=state.certificate.id if state.certificate else None,
    )


def question_out(question: QuizQuestion, language: str, fallback: str) -> QuestionOut:
    _, texts = courses.pick(question.translations, language, fallback)
    return QuestionOut(
        id=question.id,
        prompt=texts["prompt"],
        options=[
            OptionOut(id=o.id, text=courses.pick(o.translations, language, fallback)[1]["text"])
            for o in question.options
        ],
    )


def course_detail(
    session: Session, principal: Principal, course: Course, language: str
) -> CourseDetailOut:
    done = learning.completed_lesson_ids(session, principal.user_id, course)
    return CourseDetailOut(
        **course_out(course, language).model_dump(),
        modules=[
            ModuleOut(
                id=module.id,
                title=courses.pick(module.translations, language, course.fallback_language)[1][
                    "title"
                ],
                lessons=[
                    lesson_out(lesson, language, course.fallback_language, lesson.id in done)
                    for lesson in module.lessons
                ],
            )
            for module in course.modules
        ],
        progress=progress_out(learning.progress(session, principal.user_id, course)),
    )


@router.get("/courses", response_model=list[CourseOut])
def list_courses(
    session: DbSession,
    principal: CurrentPrincipal,
    language: Language = None,
    model_id: Annotated[str | None, Query(max_length=32)] = None,
) -> list[CourseOut]:
    """Published courses for learners, and every course the caller authors."""
    chosen = language or principal.locale
    return [course_out(c, chosen) for c in courses.list_courses(session, principal, model_id)]


@router.post("/courses", response_model=CourseOut, status_code=status.HTTP_201_CREATED)
def create_course(body: CourseCreate, session: DbSession, principal: CurrentPrincipal) -> CourseOut:
    course = courses.create_course(session, principal, body)
    session.refresh(course)
    return course_out(course, body.fallback_language)


@router.get("/courses/{course_id}", response_model=CourseDetailOut)
def get_course(
    course_id: str, session: DbSession, principal: CurrentPrincipal, language: Language = None
) -> CourseDetailOut:
    course = courses.get_course(session, principal, course_id)
    return course_detail(session, principal, course, language or principal.locale)


@router.post("/courses/{course_id}/publication", response_model=CourseOut)
def publish_course(course_id: str, session: DbSession, principal: CurrentPrincipal) -> CourseOut:
    course = courses.set_published(session, principal, course_id, True)
    return course_out(course, course.fallback_language)


@router.post(
    "/courses/{course_id}/modules",
    response_model=ModuleCreated,
    status_code=status.HTTP_201_CREATED,
)
def add_module(
    course_id: str, body: ModuleCreate, session: DbSession, principal: CurrentPrincipal
) -> ModuleCreated:
    module = courses.add_module(session, principal, course_id, body)
    return ModuleCreated(id=module.id, position=module.position)


@router.post(
    "/courses/{course_id}/lessons",
    response_model=LessonCreated,
    status_code=status.HTTP_201_CREATED,
)
def add_lesson(
    course_id: str, body: LessonCreate, session: DbSession, principal: CurrentPrincipal
) -> LessonCreated:
    lesson = courses.add_lesson(session, principal, course_id, body)
    return LessonCreated(id=lesson.id, position=lesson.position)


@router.put("/lessons/{lesson_id}/translations/{language}", response_model=LessonOut)
def translate_lesson(
    lesson_id: str,
    language: Annotated[str, Path(pattern=LANGUAGE_PATTERN)],
    body: LessonText,
    session: DbSession,
    principal: CurrentPrincipal,
) -> LessonOut:
    """Add or replace the lesson's title and text in one language."""
    lesson = courses.translate_lesson(
        session, principal, lesson_id, language, body.title, body.body
    )
    return lesson_out(lesson, language, language, completed=False)


@router.post(
    "/lessons/{lesson_id}/media", response_model=MediaOut, status_code=status.HTTP_201_CREATED
)
async def upload_media(
    lesson_id: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    file: Annotated[
        UploadFile,
        File(description="A PNG, JPEG, WebP or GIF picture, or an MP4 or WebM video, up to 50 MB"),
    ],
    caption: Annotated[str, Form(max_length=300)] = "",
    language: Annotated[str, Form(pattern=LANGUAGE_PATTERN)] = "en",
) -> MediaOut:
    settings = runtime_of(request).settings
    # One byte past the limit is enough to refuse (the middleware already cut a huge body).
    content = await file.read(settings.academy_max_media_mb * 1024 * 1024 + 1)
    stored = media.add_media(
        session,
        principal,
        settings.data_dir,
        lesson_id,
        content,
        file.filename or "upload",
        caption,
        language,
        settings.academy_max_media_mb,
    )
    return MediaOut(
        id=stored.id,
        lesson_id=stored.lesson_id,
        content_type=stored.content_type,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
    )


@router.get(
    "/media/{media_id}",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The file's bytes",
            "content": {t: {} for t in media.ALLOWED_TYPES},
        }
    },
)
def get_media(
    media_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> FileResponse:
    """The picture or video itself, with its content type (ranges served for video seeking)."""
    found = media.get_media(session, principal, media_id)
    path = media.media_path(runtime_of(request).settings.data_dir, found)
    if not path.is_file():
        # The row outlived its file (a data dir restored without its media): say so plainly.
        raise NotFound(f"the file of media {media_id} is missing from the data directory")
    return FileResponse(
        path,
        media_type=found.content_type,
        headers=media_files.SERVE_HEADERS,
    )


@router.post("/lessons/{lesson_id}/completion", status_code=status.HTTP_204_NO_CONTENT)
def complete_lesson(lesson_id: str, session: DbSession, principal: CurrentPrincipal) -> None:
    learning.complete_lesson(session, principal, lesson_id)


@router.post(
    "/courses/{course_id}/questions",
    response_model=QuestionOut,
    status_code=status.HTTP_201_CREATED,
)
def add_question(
    course_id: str, body: QuestionCreate, session: DbSession, principal: CurrentPrincipal
) -> QuestionOut:
    question = courses.add_question(session, principal, course_id, body)
    fallback = question.course.fallback_language
    return question_out(question, fallback, fallback)


@router.get("/courses/{course_id}/quiz", response_model=QuizOut)
def get_quiz(
    course_id: str, session: DbSession, principal: CurrentPrincipal, language: Language = None
) -> QuizOut:
    """The questions and options, never which options are right."""
    course = courses.get_course(session, principal, course_id)
    chosen = language or principal.locale
    return QuizOut(
        course_id=course.id,
        language=courses.pick(course.translations, chosen, course.fallback_language)[0],
        pass_mark_pct=course.pass_mark_pct,
        questions=[question_out(q, chosen, course.fallback_language) for q in course.questions],
    )


@router.post(
    "/courses/{course_id}/quiz-attempts",
    response_model=QuizResultOut,
    status_code=status.HTTP_201_CREATED,
)
def submit_quiz(
    course_id: str, body: QuizAnswers, session: DbSession, principal: CurrentPrincipal
) -> QuizResultOut:
    result = learning.submit_quiz(session, principal, course_id, body.answers)
    return QuizResultOut(
        attempt_id=result.attempt.id,
        score_pct=result.score.score_pct,
        correct=result.score.correct,
        questions=result.score.questions,
        passed=result.attempt.passed,
        certificate_id=result.certificate.id if result.certificate else None,
    )


@router.post(
    "/courses/{course_id}/signoffs", response_model=SignoffOut, status_code=status.HTTP_201_CREATED
)
def sign_off(
    course_id: str, body: SignoffCreate, session: DbSession, principal: CurrentPrincipal
) -> SignoffOut:
    """A trainer signs off the learner's supervised practical."""
    signoff, certificate = learning.sign_off(
        session, principal, course_id, body.learner_id, body.signed_on, body.note
    )
    return SignoffOut(
        id=signoff.id,
        learner_id=signoff.learner_id,
        course_id=signoff.course_id,
        signed_on=signoff.signed_on,
        certificate_id=certificate.id if certificate else None,
    )


@router.get(
    "/courses/{course_id}/offline",
    response_class=Response,
    responses={200: {"description": "A zip of static pages", "content": {"application/zip": {}}}},
)
def offline_course(
    course_id: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    language: Language = None,
) -> Response:
    """The course as one zip of static pages and media, for reading without a connection."""
    course = courses.get_course(session, principal, course_id)
    chosen = language or principal.locale
    content = media.offline_zip(runtime_of(request).settings.data_dir, course, chosen)
    return Response(
        content,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="course-{course.id}.zip"'},
    )


@router.get("/certificates", response_model=list[CertificateOut])
def list_certificates(
    session: DbSession,
    principal: CurrentPrincipal,
    therapist_id: Annotated[str | None, Query(max_length=32)] = None,
) -> list[CertificateOut]:
    """The caller's own certificates and those of the people in their academy scope."""
    return [
        CertificateOut.model_validate(c)
        for c in certificates.list_certificates(session, principal, therapist_id)
    ]


@router.post("/certificates", response_model=CertificateOut, status_code=status.HTTP_201_CREATED)
def issue_certificate(
    body: CertificateIssue, session: DbSession, principal: CurrentPrincipal
) -> CertificateOut:
    """A trainer certifies a therapist directly (issuing again re-dates the certificate)."""
    certificate = certificates.issue(
        session, principal, body.therapist_id, body.model_id, body.issued_on, body.expires_on
    )
    return CertificateOut.model_validate(certificate)


@router.post("/certificates/{certificate_id}/renewal", response_model=CertificateOut)
def renew_certificate(
    certificate_id: str, body: CertificateRenewal, session: DbSession, principal: CurrentPrincipal
) -> CertificateOut:
    certificate = certificates.renew(session, principal, certificate_id, body.expires_on)
    return CertificateOut.model_validate(certificate)


@router.post("/certificates/{certificate_id}/revocation", response_model=CertificateOut)
def revoke_certificate(
    certificate_id: str,
    body: CertificateRevocation,
    session: DbSession,
    principal: CurrentPrincipal,
) -> CertificateOut:
    certificate = certificates.revoke(session, principal, certificate_id, body.reason)
    return CertificateOut.model_validate(certificate)


@router.get("/certificates/{certificate_id}/credential", response_model=CredentialOut)
def certificate_credential(
    certificate_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> CredentialOut:
    """The Open Badges 3.0 credential (VC-JWT) to hand to an employer, who verifies it offline
    with the keys of ``/.well-known/jwks.json``."""
    settings = runtime_of(request).settings
    jwt, document = verification.signed_credential(session, principal, certificate_id, settings)
    return CredentialOut(
        jwt=jwt,
        credential=document,
        public_key_url=f"{settings.resolved_public_url()}/.well-known/jwks.json",
    )


@router.get("/verifications/{verification_code}", response_model=VerificationOut)
def verify_code(verification_code: str, session: DbSession) -> VerificationOut:
    """Anyone, signed in or not: the status of the certificate with this verification code."""
    found = verification.verify_code(session, verification_code, datetime.now(UTC).date())
    return VerificationOut(**found.__dict__)


@router.get(
    "/revocations",
    response_class=Response,
    responses={200: {"description": "A compact JWS", "content": {"application/jwt": {}}}},
)
def revocation_list(request: Request, session: DbSession) -> Response:
    """The signed list of revoked credentials (OB 3.0 ``1EdTechRevocationList``), to keep for
    offline checks."""
    token = verification.signed_revocation_list(session, runtime_of(request).settings)
    return Response(token, media_type="application/jwt")


@public.get("/.well-known/jwks.json", response_model=JwkSetOut)
def issuer_keys(request: Request) -> JwkSetOut:
    """The public keys that credentials and revocation lists of this exoshare are signed with."""
    return JwkSetOut.model_validate(verification.public_jwks(runtime_of(request).settings))
