"""The exercise library: exercises with instructions per language and their pictures or videos.

The library is shared across the network (therapists' know-how is what exoshare spreads): every
signed-in person reads it. Clinic staff add exercises, owned by their clinic; only that clinic's
staff add media to them, and only exoshare itself changes the library it ships.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from exoshare import media_files
from exoshare.auth.scope import Permission, Principal
from exoshare.careplan.models import Exercise, ExerciseMedia, ExerciseText
from exoshare.careplan.schemas import ExerciseCategory, ExerciseTextIn
from exoshare.errors import N_, Conflict, InvalidInput, NotFound, PermissionDenied


def _query() -> Any:
    return select(Exercise).options(
        selectinload(Exercise.texts), selectinload(Exercise.media), selectinload(Exercise.owner)
    )


def list_exercises(session: Session, category: ExerciseCategory | None = None) -> list[Exercise]:
    stmt = _query().order_by(Exercise.category, Exercise.code)
    if category is not None:
        stmt = stmt.where(Exercise.category == category)
    return list(session.scalars(stmt))


def get_exercise(session: Session, exercise_id: str) -> Exercise:
    found: Exercise | None = session.scalar(_query().where(Exercise.id == exercise_id))
    if found is None:
        raise NotFound(f"exercise {exercise_id} not found")
    return found


def find_exercises(session: Session, exercise_ids: set[str]) -> dict[str, Exercise]:
    return {e.id: e for e in session.scalars(_query().where(Exercise.id.in_(exercise_ids)))}


def create_exercise(
    session: Session,
    principal: Principal,
    code: str,
    category: ExerciseCategory,
    default_language: str,
    texts: list[ExerciseTextIn],
) -> Exercise:
    """An exercise of the caller's clinic (exoshare's own library when the caller is system)."""
    owner_id = None
    if not principal.is_system:
        clinics = [
            g.org_unit_id
            for g in principal.grants
            if principal.covers(Permission.patients_write, g.org_unit_path)
        ]
        if not clinics:
            raise PermissionDenied.worded(N_("only clinic staff add exercises to the library"))
        owner_id = clinics[0]
    languages = [t.language for t in texts]
    if len(set(languages)) != len(languages):
        raise InvalidInput.worded(
            N_("each language may have one text only"), also={"field": "texts"}
        )
    if default_language not in languages:
        raise InvalidInput(
            f"the default language {default_language} needs a text; texts are in "
            f"{', '.join(languages)}",
            field="default_language",
        )
    if session.scalar(select(Exercise.id).where(Exercise.code == code)) is not None:
        raise Conflict(f"the library already has an exercise {code!r}", field="code")
    exercise = Exercise(
        code=code,
        category=category,
        default_language=default_language,
        owner_id=owner_id,
        created_by_id=principal.user_ref,
    )
    session.add(exercise)
    session.flush()
    for text in texts:
        session.add(
            ExerciseText(
                exercise_id=exercise.id,
                language=text.language,
                title=text.title.strip(),
                instructions=text.instructions.strip(),
            )
        )
    session.flush()
    session.expire(exercise)
    return get_exercise(session, exercise.id)


def exercise_for_media(session: Session, principal: Principal, exercise_id: str) -> Exercise:
    """The exercise the caller may add media to (before any byte of the upload is read)."""
    exercise = get_exercise(session, exercise_id)
    if principal.is_system:
        return exercise
    if exercise.owner is None:
        raise PermissionDenied.worded(
            N_("the library exoshare ships is changed only by exoshare itself")
        )
    if not principal.covers(Permission.patients_write, exercise.owner.path):
        raise PermissionDenied(f"only staff of {exercise.owner.name} change this exercise")
    return exercise


def add_media(
    session: Session,
    principal: Principal,
    exercise_id: str,
    received: media_files.ReceivedFile,
    media_dir: Path,
    caption: str | None = None,
) -> ExerciseMedia:
    exercise = exercise_for_media(session, principal, exercise_id)
    sha = media_files.store(received, media_dir)
    row = ExerciseMedia(
        exercise_id=exercise.id,
        content_type=received.content_type,
        size_bytes=received.size_bytes,
        sha256=sha,
        caption=(caption or "").strip()[:200] or None,
        created_by_id=principal.user_ref,
    )
    session.add(row)
    session.flush()
    return row


def get_media(session: Session, media_id: str) -> ExerciseMedia:
    found = session.get(ExerciseMedia, media_id)
    if found is None:
        raise NotFound(f"media {media_id} not found")
    return found


@dataclass(frozen=True)
class LocalText:
    language: str
    title: str
    instructions: str


def text_in(exercise: Exercise, language: str) -> LocalText:
    """The exercise's words in ``language`` (``es_MX`` falls back to ``es``), else in its
    default language."""
    by_language = {t.language: t for t in exercise.texts}
    for candidate in (language, language.split("_")[0].split("-")[0], exercise.default_language):
        found = by_language.get(candidate)
        if found is not None:
            return LocalText(found.language, found.title, found.instructions)
    first = exercise.texts[0]
    return LocalText(first.language, first.title, first.instructions)
