"""Courses and their content: authoring and translating (trainers), reading in a language.

Published courses are the network's shared knowledge: every learner (therapists, clinic
admins, trainers) reads them all. Drafts, and every change, belong to the trainers whose
``academy:author`` subtree holds the course's org unit; a course another trainer cannot edit
answers like a missing one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session, selectinload

from exoshare.academy.models import (
    Course,
    CourseModule,
    Lesson,
    QuizOption,
    QuizQuestion,
    Translations,
)
from exoshare.academy.schemas import CourseCreate, LessonCreate, ModuleCreate, QuestionCreate
from exoshare.auth.scope import Permission, Principal
from exoshare.devices import service as devices_service
from exoshare.errors import InvalidInput, NotFound
from exoshare.languages import reads
from exoshare.network import service as network_service


def pick(texts: Translations, language: str, fallback: str) -> tuple[str, dict[str, str]]:
    """(language used, its texts): the reader's language; else a text in the same language and
    script, the plainest tag first (``pt`` for ``pt_BR``, ``zh_Hant`` for ``zh_TW``, but never
    Simplified ``zh`` for ``zh_TW``); else the course's fallback language; else any one there is."""
    if language in texts:
        return language, texts[language]
    same = sorted((tag for tag in texts if reads(language, tag)), key=lambda tag: (len(tag), tag))
    for candidate in (*same, fallback):
        if candidate in texts:
            return candidate, texts[candidate]
    first = sorted(texts)[0]
    return first, texts[first]


def _readable(principal: Principal) -> ColumnElement[bool]:
    """Courses the caller may read: published ones for learners, and every course they author."""
    authored = network_service.in_scope(principal, Permission.academy_author, Course.org_unit_id)
    published = Course.published.is_(True) if principal.can(Permission.academy_learn) else false()
    return or_(published, authored)


def list_courses(
    session: Session, principal: Principal, model_id: str | None = None
) -> list[Course]:
    stmt = select(Course).where(_readable(principal)).options(selectinload(Course.model))
    if model_id is not None:
        stmt = stmt.where(Course.model_id == model_id)
    return list(session.scalars(stmt.order_by(Course.topic, Course.id)))


def get_course(session: Session, principal: Principal, course_id: str) -> Course:
    course = session.scalar(select(Course).where(Course.id == course_id, _readable(principal)))
    if course is None:
        raise NotFound(f"course {course_id} not found")
    return course


def may_author(principal: Principal, course: Course) -> bool:
    return principal.covers(Permission.academy_author, course.org_unit.path)


def authored_course(session: Session, principal: Principal, course_id: str) -> Course:
    """A course the caller may change; anything else answers like a missing course."""
    course = session.get(Course, course_id)
    if course is None or not may_author(principal, course):
        raise NotFound(f"course {course_id} not found")
    return course


def _texts(values: Mapping[str, Any]) -> Translations:
    return {
        language: (value.model_dump() if hasattr(value, "model_dump") else dict(value))
        for language, value in values.items()
    }


def create_course(session: Session, principal: Principal, data: CourseCreate) -> Course:
    unit = network_service.find_org_unit(session, data.org_unit_id)
    if unit is None or not principal.covers(Permission.academy_author, unit.path):
        raise InvalidInput(f"org unit {data.org_unit_id} does not exist", field="org_unit_id")
    if devices_service.find_model(session, data.model_id) is None:
        raise InvalidInput(f"device model {data.model_id} does not exist", field="model_id")
    if data.fallback_language not in data.texts:
        raise InvalidInput(
            f"give the title in the fallback language '{data.fallback_language}' too",
            field="texts",
        )
    course = Course(
        model_id=data.model_id,
        org_unit_id=unit.id,
        topic=data.topic.strip(),
        fallback_language=data.fallback_language,
        translations=_texts(data.texts),
        pass_mark_pct=data.pass_mark_pct,
        certificate_valid_days=data.certificate_valid_days,
        practical_required=data.practical_required,
        created_by_id=principal.user_ref,
    )
    session.add(course)
    session.flush()
    return course


def set_published(
    session: Session, principal: Principal, course_id: str, published: bool
) -> Course:
    course = authored_course(session, principal, course_id)
    course.published = published
    session.flush()
    return course


def add_module(
    session: Session, principal: Principal, course_id: str, data: ModuleCreate
) -> CourseModule:
    course = authored_course(session, principal, course_id)
    position = len(course.modules) + 1
    module = CourseModule(
        position=position,
        translations={language: {"title": title} for language, title in data.titles.items()},
    )
    # Appended through the relationship, so the course's loaded modules include it at once.
    course.modules.append(module)
    session.flush()
    return module


def add_lesson(
    session: Session, principal: Principal, course_id: str, data: LessonCreate
) -> Lesson:
    course = authored_course(session, principal, course_id)
    module = next((m for m in course.modules if m.id == data.module_id), None)
    if module is None:
        raise InvalidInput(f"module {data.module_id} does not exist", field="module_id")
    lesson = Lesson(position=len(module.lessons) + 1, translations=_texts(data.texts))
    module.lessons.append(lesson)
    session.flush()
    return lesson


def get_lesson(session: Session, principal: Principal, lesson_id: str) -> Lesson:
    """A lesson of a course the caller may read."""
    lesson = session.get(Lesson, lesson_id)
    if lesson is None:
        raise NotFound(f"lesson {lesson_id} not found")
    get_course(session, principal, lesson.module.course_id)
    return lesson


def authored_lesson(session: Session, principal: Principal, lesson_id: str) -> Lesson:
    lesson = session.get(Lesson, lesson_id)
    if lesson is None:
        raise NotFound(f"lesson {lesson_id} not found")
    try:
        authored_course(session, principal, lesson.module.course_id)
    except NotFound:
        raise NotFound(f"lesson {lesson_id} not found") from None
    return lesson


def translate_lesson(
    session: Session, principal: Principal, lesson_id: str, language: str, title: str, body: str
) -> Lesson:
    """Add or replace the lesson's text in one language (the other languages stay)."""
    lesson = authored_lesson(session, principal, lesson_id)
    # A new dict, so the JSON column sees the change.
    lesson.translations = {**lesson.translations, language: {"title": title, "body": body}}
    session.flush()
    return lesson


def add_question(
    session: Session, principal: Principal, course_id: str, data: QuestionCreate
) -> QuizQuestion:
    course = authored_course(session, principal, course_id)
    question = QuizQuestion(
        position=len(course.questions) + 1,
        translations={language: {"prompt": text} for language, text in data.prompts.items()},
    )
    question.options = [
        QuizOption(
            position=position,
            is_correct=option.correct,
            translations={language: {"text": text} for language, text in option.texts.items()},
        )
        for position, option in enumerate(data.options, start=1)
    ]
    course.questions.append(question)
    session.flush()
    return question


def languages_of(course: Course) -> list[str]:
    """Every language some text of the course is written in."""
    found = set(course.translations)
    for module in course.modules:
        found |= set(module.translations)
        for lesson in module.lessons:
            found |= set(lesson.translations)
    return sorted(found)


def missing_translations(course: Course, language: str) -> list[str]:
    """What a translator still has to write in ``language``, in words (lesson titles)."""
    missing = []
    for module in course.modules:
        for lesson in module.lessons:
            if language not in lesson.translations:
                _, texts = pick(
                    lesson.translations, course.fallback_language, course.fallback_language
                )
                missing.append(texts["title"])
    return missing


def lessons_of(course: Course) -> list[Lesson]:
    return [lesson for module in course.modules for lesson in module.lessons]
