"""Learning a course: lessons completed, the quiz scored on the server, the practical sign-off,
and the certificate they earn together.

A learner earns the course's certificate when their best quiz attempt reaches the pass mark
and, for a course that requires it, a trainer has signed off their practical; whichever comes
second issues it (or renews the one they hold for the model).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exoshare.academy import certificates, courses
from exoshare.academy.models import (
    Certificate,
    Course,
    LessonCompletion,
    PracticalSignoff,
    QuizAttempt,
)
from exoshare.academy.schemas import CertificateBasis
from exoshare.auth import audit
from exoshare.auth.scope import Permission, Principal
from exoshare.errors import N_, CourseNotReady, InvalidInput, PermissionDenied


@dataclass(frozen=True)
class QuizScore:
    correct: int
    questions: int

    @property
    def score_pct(self) -> float:
        return round(100.0 * self.correct / self.questions, 1)

    def passes(self, pass_mark_pct: int) -> bool:
        return self.score_pct >= pass_mark_pct


def score_quiz(
    correct_options: Mapping[str, set[str]], answers: Mapping[str, Sequence[str]]
) -> QuizScore:
    """A question counts when the options chosen are exactly its correct ones (so ticking every
    box never scores); a question left out counts as wrong."""
    correct = sum(
        1
        for question_id, right in correct_options.items()
        if set(answers.get(question_id, ())) == right
    )
    return QuizScore(correct, len(correct_options))


def _learner(principal: Principal) -> str:
    if principal.is_system or not principal.can(Permission.academy_learn):
        raise PermissionDenied.worded(
            N_("only a learner (therapist, clinic admin, trainer) takes courses")
        )
    return principal.user_id


def complete_lesson(session: Session, principal: Principal, lesson_id: str) -> LessonCompletion:
    learner_id = _learner(principal)
    lesson = courses.get_lesson(session, principal, lesson_id)
    done = session.scalar(
        select(LessonCompletion).where(
            LessonCompletion.learner_id == learner_id, LessonCompletion.lesson_id == lesson.id
        )
    )
    if done is None:
        done = LessonCompletion(learner_id=learner_id, lesson_id=lesson.id)
        session.add(done)
        session.flush()
    return done


def completed_lesson_ids(session: Session, learner_id: str, course: Course) -> set[str]:
    lesson_ids = [lesson.id for lesson in courses.lessons_of(course)]
    if not lesson_ids:
        return set()
    return set(
        session.scalars(
            select(LessonCompletion.lesson_id).where(
                LessonCompletion.learner_id == learner_id,
                LessonCompletion.lesson_id.in_(lesson_ids),
            )
        )
    )


@dataclass(frozen=True)
class Progress:
    lessons_total: int
    lessons_completed: int
    best_score_pct: float | None
    quiz_passed: bool
    practical_signed_off: bool
    certificate: Certificate | None


def progress(session: Session, learner_id: str, course: Course) -> Progress:
    best = session.scalar(
        select(func.max(QuizAttempt.score_pct)).where(
            QuizAttempt.learner_id == learner_id, QuizAttempt.course_id == course.id
        )
    )
    signed = session.scalar(
        select(func.count()).where(
            PracticalSignoff.learner_id == learner_id, PracticalSignoff.course_id == course.id
        )
    )
    certificate = session.scalar(
        select(Certificate).where(
            Certificate.therapist_id == learner_id,
            Certificate.model_id == course.model_id,
            Certificate.revoked_at.is_(None),
        )
    )
    return Progress(
        lessons_total=len(courses.lessons_of(course)),
        lessons_completed=len(completed_lesson_ids(session, learner_id, course)),
        best_score_pct=best,
        quiz_passed=best is not None and best >= course.pass_mark_pct,
        practical_signed_off=bool(signed),
        certificate=certificate,
    )


def _earned(
    session: Session, principal: Principal, learner_id: str, course: Course
) -> Certificate | None:
    """Issue (or renew) the course's certificate once the quiz is passed and the practical
    signed off; None while something is missing."""
    state = progress(session, learner_id, course)
    if not state.quiz_passed or (course.practical_required and not state.practical_signed_off):
        return None
    # The trainer of the latest sign-off vouches for it, even when the quiz passes last.
    trainer_id = session.scalar(
        select(PracticalSignoff.trainer_id)
        .where(PracticalSignoff.learner_id == learner_id, PracticalSignoff.course_id == course.id)
        .order_by(PracticalSignoff.created_at.desc())
        .limit(1)
    )
    issued_on = datetime.now(UTC).date()
    return certificates.grant_certificate(
        session,
        principal,
        learner_id,
        course.model_id,
        issued_on,
        issued_on + timedelta(days=course.certificate_valid_days),
        CertificateBasis.course,
        course_id=course.id,
        issued_by_id=trainer_id,
    )


@dataclass(frozen=True)
class QuizResult:
    attempt: QuizAttempt
    score: QuizScore
    certificate: Certificate | None


def submit_quiz(
    session: Session, principal: Principal, course_id: str, answers: Mapping[str, Sequence[str]]
) -> QuizResult:
    learner_id = _learner(principal)
    course = courses.get_course(session, principal, course_id)
    if not course.questions:
        raise CourseNotReady(f"course {course_id} has no quiz yet")
    known = {q.id: {o.id for o in q.options} for q in course.questions}
    for question_id, chosen in answers.items():
        if question_id not in known:
            raise InvalidInput(
                f"question {question_id} is not part of this course's quiz",
                field=f"answers.{question_id}",
            )
        stray = sorted(set(chosen) - known[question_id])
        if stray:
            raise InvalidInput(
                f"option {stray[0]} is not an option of question {question_id}",
                field=f"answers.{question_id}",
            )
    correct_options = {q.id: {o.id for o in q.options if o.is_correct} for q in course.questions}
    score = score_quiz(correct_options, answers)
    attempt = QuizAttempt(
        learner_id=learner_id,
        course_id=course.id,
        score_pct=score.score_pct,
        passed=score.passes(course.pass_mark_pct),
        answers={k: sorted(set(v)) for k, v in answers.items()},
    )
    session.add(attempt)
    session.flush()
    certificate = _earned(session, principal, learner_id, course) if attempt.passed else None
    return QuizResult(attempt, score, certificate)


def sign_off(
    session: Session,
    principal: Principal,
    course_id: str,
    learner_id: str,
    signed_on: date | None = None,
    note: str = "",
) -> tuple[PracticalSignoff, Certificate | None]:
    """A trainer signs off a learner's supervised practical on the course's device model."""
    course = courses.get_course(session, principal, course_id)
    if not principal.can(Permission.academy_certify):
        raise PermissionDenied.worded(N_("practical sign-offs are given by trainers"))
    if not certificates.holder_in_scope(session, principal, Permission.academy_certify, learner_id):
        raise InvalidInput(f"user {learner_id} does not exist", field="learner_id")
    signoff = PracticalSignoff(
        learner_id=learner_id,
        course_id=course.id,
        trainer_id=principal.user_ref,
        signed_on=signed_on or datetime.now(UTC).date(),
        note=note.strip(),
    )
    session.add(signoff)
    session.flush()
    audit.record(
        session,
        principal,
        "practical.sign_off",
        "course",
        course.id,
        detail={"learner_id": learner_id, "signed_on": signoff.signed_on.isoformat()},
    )
    return signoff, _earned(session, principal, learner_id, course)
