"""The demo's academy: a course with a quiz for every device model, in English and Spanish (and
Swahili for Nairobi's Umoja Tembea), written by the demo trainer; Nairobi's therapists earn the
Tembea certificate through the course, and Maria is half-way through the Corvane AX2 course."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from exoshare.academy import courses, learning
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
from exoshare.auth.schemas import Role
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.devices import service as devices_service
from exoshare.network import service as network_service
from exoshare.network.schemas import OrgUnitKind

if TYPE_CHECKING:
    from exoshare.devices.models import DeviceModel

SWAHILI_MODELS = frozenset({"Umoja Tembea"})
"""Courses also written in Swahili (journey 7: a trainer and a new therapist in Kenya)."""


def _lessons(model: DeviceModel) -> list[tuple[str, dict[str, LessonText]]]:
    """(module key, lesson texts per language) of a model's course, from its own figures."""
    size = f"{model.min_patient_height_m:.2f}–{model.max_patient_height_m:.2f} m"
    weight = f"{model.max_patient_weight_kg:.0f} kg"
    settings = "; ".join(
        f"{s.setting.replace('_', ' ')} {s.min_value:g}–{s.max_value:g} {s.unit}"
        for s in model.envelope
    )
    return [
        (
            "fitting",
            {
                "en": LessonText(
                    title=f"Who fits the {model.name}",
                    body=f"The {model.name} fits patients {size} tall and up to {weight}.\n\n"
                    "Measure height standing (or supine length) and weigh the patient before "
                    "the first fitting; exoshare refuses a session outside the range.",
                ),
                "es": LessonText(
                    title=f"A quién se ajusta el {model.name}",
                    body=f"El {model.name} se ajusta a pacientes de {size} de altura y hasta "
                    f"{weight}.\n\nMida la altura de pie (o la longitud tumbado) y pese al "
                    "paciente antes del primer ajuste; exoshare rechaza una sesión fuera del "
                    "rango.",
                ),
                "sw": LessonText(
                    title=f"Nani anafaa {model.name}",
                    body=f"{model.name} inafaa wagonjwa wenye urefu wa {size} na uzito hadi "
                    f"{weight}.\n\nPima urefu na uzito kabla ya kufunga kifaa mara ya kwanza.",
                ),
            },
        ),
        (
            "fitting",
            {
                "en": LessonText(
                    title="The safety envelope",
                    body=f"Every adjustable setting has limits: {settings}.\n\nA change outside "
                    "them is refused before it reaches the device.",
                ),
                "es": LessonText(
                    title="La envolvente de seguridad",
                    body=f"Cada ajuste tiene límites: {settings}.\n\nUn cambio fuera de ellos se "
                    "rechaza antes de llegar al dispositivo.",
                ),
            },
        ),
        (
            "session",
            {
                "en": LessonText(
                    title="Starting, pausing and stopping",
                    body="Start only with the patient secured and a spotter present.\n\n"
                    "The emergency stop on the device and the stop command on the live page "
                    "both halt the motors at once.",
                ),
                "es": LessonText(
                    title="Iniciar, pausar y detener",
                    body="Inicie solo con el paciente asegurado y un asistente presente.\n\n"
                    "La parada de emergencia del dispositivo y la orden de parada de la página "
                    "en directo detienen los motores al instante.",
                ),
                "sw": LessonText(
                    title="Kuanza, kusimamisha na kuzima",
                    body="Anza tu mgonjwa akiwa amefungwa salama na msaidizi yupo.\n\nKitufe "
                    "cha dharura husimamisha mota mara moja.",
                ),
            },
        ),
        (
            "session",
            {
                "en": LessonText(
                    title="Alerts during a session",
                    body="A skin-temperature or interaction-force alert: lower the guidance "
                    "force, check the cuffs, and note what you did when you acknowledge it.",
                ),
                "es": LessonText(
                    title="Alertas durante la sesión",
                    body="Una alerta de temperatura de la piel o de fuerza de interacción: baje la "
                    "fuerza de guiado, revise los manguitos y anote lo que hizo al confirmarla.",
                ),
            },
        ),
    ]


def _questions(model: DeviceModel) -> list[QuestionCreate]:
    top = model.max_patient_height_m

    turn = iter(range(4))

    def options(*rows: tuple[str, str, bool]) -> list[OptionCreate]:
        # Rotated, so the right answer is not always the first one.
        shift = next(turn) % len(rows)
        ordered = rows[shift:] + rows[:shift]
        return [OptionCreate(texts={"en": en, "es": es}, correct=ok) for en, es, ok in ordered]

    return [
        QuestionCreate(
            prompts={
                "en": f"A patient is {top + 0.05:.2f} m tall. May they walk in the {model.name}?",
                "es": f"Un paciente mide {top + 0.05:.2f} m. ¿Puede caminar con el {model.name}?",
            },
            options=options(
                ("No: taller than the model's size range", "No: supera el rango de tallas", True),
                ("Yes, with tighter cuffs", "Sí, con los manguitos más apretados", False),
                ("Yes, if the therapist agrees", "Sí, si el terapeuta está de acuerdo", False),
            ),
        ),
        QuestionCreate(
            prompts={
                "en": "What stops the motors at once?",
                "es": "¿Qué detiene los motores al instante?",
            },
            options=options(
                (
                    "The emergency stop on the device",
                    "La parada de emergencia del dispositivo",
                    True,
                ),
                (
                    "The stop command on the live page",
                    "La orden de parada en la página en directo",
                    True,
                ),
                ("Closing the browser", "Cerrar el navegador", False),
            ),
        ),
        QuestionCreate(
            prompts={
                "en": "A skin-temperature alert appears. First:",
                "es": "Aparece una alerta de temperatura de la piel. Primero:",
            },
            options=options(
                (
                    "Lower the guidance force and check the cuffs",
                    "Bajar la fuerza de guiado y revisar los manguitos",
                    True,
                ),
                (
                    "Raise the speed to finish sooner",
                    "Subir la velocidad para terminar antes",
                    False,
                ),
                ("Ignore it until the session ends", "Ignorarla hasta el final", False),
            ),
        ),
        QuestionCreate(
            prompts={
                "en": "A setting change outside the safety envelope is…",
                "es": "Un cambio de ajuste fuera de la envolvente de seguridad…",
            },
            options=options(
                (
                    "refused before it reaches the device",
                    "se rechaza antes de llegar al dispositivo",
                    True,
                ),
                ("applied at half strength", "se aplica a media potencia", False),
                ("applied after a warning", "se aplica tras un aviso", False),
            ),
        ),
    ]


def seed_academy_demo(session: Session, trainer_email: str, maria_email: str) -> dict[str, str]:
    """Write the courses and the learning story; answer model name -> course id."""
    who = SYSTEM_SEEDING
    root = network_service.org_units_of_kind(session, who, OrgUnitKind.consortium)[0]
    made: dict[str, str] = {}
    for model in devices_service.all_models(session):
        languages = ["en", "es", *(["sw"] if model.name in SWAHILI_MODELS else [])]
        course = courses.create_course(
            session,
            who,
            CourseCreate(
                model_id=model.id,
                org_unit_id=root.id,
                topic="operating the device safely",
                fallback_language="en",
                texts={
                    "en": CourseText(
                        title=f"{model.name}: safe operation", summary=model.description or ""
                    ),
                    "es": CourseText(title=f"{model.name}: manejo seguro"),
                    **(
                        {"sw": CourseText(title=f"{model.name}: matumizi salama")}
                        if "sw" in languages
                        else {}
                    ),
                },
                pass_mark_pct=75,
                certificate_valid_days=730,
            ),
        )
        modules = {
            "fitting": courses.add_module(
                session,
                who,
                course.id,
                ModuleCreate(
                    titles={
                        lang: title
                        for lang, title in (
                            ("en", "Fitting and safety"),
                            ("es", "Ajuste y seguridad"),
                            ("sw", "Kufunga na usalama"),
                        )
                        if lang in languages
                    }
                ),
            ),
            "session": courses.add_module(
                session,
                who,
                course.id,
                ModuleCreate(
                    titles={
                        lang: title
                        for lang, title in (
                            ("en", "Running a session"),
                            ("es", "Dirigir una sesión"),
                            ("sw", "Kuendesha kipindi"),
                        )
                        if lang in languages
                    }
                ),
            ),
        }
        for key, texts in _lessons(model):
            kept = {lang: text for lang, text in texts.items() if lang in languages}
            courses.add_lesson(
                session, who, course.id, LessonCreate(module_id=modules[key].id, texts=kept)
            )
        for question in _questions(model):
            courses.add_question(session, who, course.id, question)
        courses.set_published(session, who, course.id, True)
        made[model.name] = course.id
    _learning_story(session, made, trainer_email, maria_email)
    return made


def _right_answers(session: Session, course_id: str) -> dict[str, list[str]]:
    course = courses.get_course(session, SYSTEM_SEEDING, course_id)
    return {q.id: [o.id for o in q.options if o.is_correct] for q in course.questions}


def _learning_story(
    session: Session, course_ids: dict[str, str], trainer_email: str, maria_email: str
) -> None:
    """Nairobi's therapists pass the Tembea course and the trainer signs off their practical;
    Maria has read half the Corvane AX2 course and failed its quiz once."""
    trainer_user = auth_service.user_by_email(session, SYSTEM_SEEDING, trainer_email)
    nairobi = network_service.find_org_unit_by_code(session, "KE-NBO-01")
    if trainer_user is None or nairobi is None or "Umoja Tembea" not in course_ids:
        return
    trainer = auth_service.principal_for(session, trainer_user)
    tembea = course_ids["Umoja Tembea"]
    right = _right_answers(session, tembea)
    for therapist in auth_service.users_with_role_at(
        session, SYSTEM_SEEDING, Role.therapist, nairobi.id
    ):
        learner = auth_service.principal_for(session, therapist)
        for lesson in courses.lessons_of(courses.get_course(session, learner, tembea)):
            learning.complete_lesson(session, learner, lesson.id)
        learning.submit_quiz(session, learner, tembea, right)
        learning.sign_off(session, trainer, tembea, therapist.id, note="walked two patients safely")
    maria_user = auth_service.user_by_email(session, SYSTEM_SEEDING, maria_email)
    if maria_user is None or "Corvane AX2" not in course_ids:
        return
    maria = auth_service.principal_for(session, maria_user)
    ax2 = courses.get_course(session, maria, course_ids["Corvane AX2"])
    for lesson in courses.lessons_of(ax2)[:2]:
        learning.complete_lesson(session, maria, lesson.id)
    half = dict(list(_right_answers(session, ax2.id).items())[:2])
    learning.submit_quiz(session, maria, ax2.id, half)
