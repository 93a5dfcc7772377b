"""The academy's test world: the small network, a trainer for Spain and one for Kenya, and a
Strider X2 course (English with a Spanish lesson, fallback English) with a four-question quiz."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from exoshare.academy import courses
from exoshare.academy.schemas import (
    CourseCreate,
    CourseText,
    LessonCreate,
    LessonText,
    ModuleCreate,
    OptionCreate,
    QuestionCreate,
)
from exoshare.auth import service as auth
from exoshare.auth.schemas import Role
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.network.models import OrgUnit
from tests.world import PASSWORD, World, build_world

PASS_MARK_PCT = 75
VALID_DAYS = 365

QUESTIONS = [
    (
        "Before fitting, you check the patient's height against…",
        ["the model's size range", "the room", "the battery"],
        {0},
    ),
    (
        "A skin-temperature alert means…",
        ["lower the force and check the cuff", "ignore it", "switch off the clinic"],
        {0},
    ),
    (
        "Which are safety stops?",
        ["emergency stop button", "therapist's stop command", "a louder voice"],
        {0, 1},
    ),
    ("Guidance force is set in…", ["percent", "newtons per gram", "kelvin"], {0}),
]
"""(prompt, options, indexes of the right options): question 3 has two right answers."""


def academy_world(factory: sessionmaker[Session]) -> World:
    world = build_world(factory)
    with session_scope(factory) as s:
        spain = s.get(OrgUnit, world.ids["spain"])
        kenya = s.get(OrgUnit, world.ids["nairobi"])
        assert spain is not None and kenya is not None
        for key, unit in (("trainer_spain", spain), ("trainer_kenya", kenya)):
            user = auth.create_user(s, f"{key}@test.exoshare.org", key.title(), PASSWORD)
            auth.add_grant(s, user, Role.trainer, unit)
            world.ids[key], world.emails[key] = user.id, user.email
        course = courses.create_course(
            s,
            SYSTEM_SEEDING,
            CourseCreate(
                model_id=world.ids["model"],
                org_unit_id=world.ids["spain"],
                topic="fitting and first steps",
                fallback_language="en",
                texts={
                    "en": CourseText(title="Strider X2 basics", summary="Fit, start, stop."),
                    "es": CourseText(title="Strider X2: lo básico"),
                },
                pass_mark_pct=PASS_MARK_PCT,
                certificate_valid_days=VALID_DAYS,
            ),
        )
        module = courses.add_module(
            s, SYSTEM_SEEDING, course.id, ModuleCreate(titles={"en": "Fitting"})
        )
        first = courses.add_lesson(
            s,
            SYSTEM_SEEDING,
            course.id,
            LessonCreate(
                module_id=module.id,
                texts={
                    "en": LessonText(title="Size range", body="Measure.\n\nCompare."),
                    "es": LessonText(title="Rango de tallas", body="Mida.\n\nCompare."),
                },
            ),
        )
        second = courses.add_lesson(
            s,
            SYSTEM_SEEDING,
            course.id,
            LessonCreate(
                module_id=module.id, texts={"en": LessonText(title="Cuffs", body="Tight.")}
            ),
        )
        for number, (prompt, options, right) in enumerate(QUESTIONS, start=1):
            question = courses.add_question(
                s,
                SYSTEM_SEEDING,
                course.id,
                QuestionCreate(
                    prompts={"en": prompt},
                    options=[
                        OptionCreate(texts={"en": text}, correct=i in right)
                        for i, text in enumerate(options)
                    ],
                ),
            )
            world.ids[f"q{number}"] = question.id
            for i, option in enumerate(question.options):
                world.ids[f"q{number}o{i}"] = option.id
        courses.set_published(s, SYSTEM_SEEDING, course.id, True)
        world.ids.update(course=course.id, module=module.id, lesson1=first.id, lesson2=second.id)
    return world


def answers(world: World, right: int) -> dict[str, list[str]]:
    """Answers with the first ``right`` questions answered right and the rest wrong."""
    out = {}
    for number, (_, _, correct) in enumerate(QUESTIONS, start=1):
        chosen = correct if number <= right else {2}
        out[world.ids[f"q{number}"]] = [world.ids[f"q{number}o{i}"] for i in sorted(chosen)]
    return out
