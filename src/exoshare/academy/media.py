"""Lesson pictures and short videos: stored under the data dir, served by exoshare itself, and
packed with the lessons into one zip per course for offline use."""

from __future__ import annotations

import hashlib
import html
import io
import re
import zipfile
from pathlib import Path

from sqlalchemy.orm import Session

from exoshare import media_files
from exoshare.academy import courses
from exoshare.academy.models import Course, LessonMedia
from exoshare.auth.scope import Principal
from exoshare.errors import MediaTooLarge, NotFound
from exoshare.media_files import MB

MEDIA_UPLOAD_PATHS = re.compile(r"^/(api/v1/)?academy/lessons/[^/]+/media$")
"""Where lesson media are uploaded (API and page): the app limits their bodies as they arrive
(``academy_max_media_mb``), before the multipart parser spools a huge one to disk."""

ALLOWED_TYPES: dict[str, int] = {
    "image/png": 10 * MB,
    "image/jpeg": 10 * MB,
    "image/webp": 10 * MB,
    "image/gif": 10 * MB,
    "video/mp4": 50 * MB,
    "video/webm": 50 * MB,
}
"""What a lesson may show, and the largest file of each type (the deployment's
``academy_max_media_mb`` caps every type further)."""


def media_dir(data_dir: Path) -> Path:
    return data_dir / "academy" / "media"


def media_path(data_dir: Path, media: LessonMedia) -> Path:
    return media_dir(data_dir) / f"{media.id}.{media_files.EXTENSION[media.content_type]}"


def add_media(
    session: Session,
    principal: Principal,
    data_dir: Path,
    lesson_id: str,
    content: bytes,
    file_name: str,
    caption: str = "",
    language: str = "en",
    max_mb: int = 50,
) -> LessonMedia:
    """Store a picture or video of a lesson. Its type is read from its bytes, not from the
    name or the declared type, so a page never serves a script as a picture."""
    lesson = courses.authored_lesson(session, principal, lesson_id)
    if len(content) > max_mb * MB:
        raise MediaTooLarge(
            f"{file_name} is {len(content) / 1e6:.1f} MB; lessons take files up to "
            f"{max_mb} MB (shorten or compress the video)"
        )
    kind = media_files.sniffed_type(content, file_name, ALLOWED_TYPES)
    if len(content) > ALLOWED_TYPES[kind]:
        raise media_files.too_large(kind, ALLOWED_TYPES[kind])
    media = LessonMedia(
        content_type=kind,
        file_name=Path(file_name).name[:120] or f"media.{media_files.EXTENSION[kind]}",
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        caption={language: {"text": caption}} if caption else {},
    )
    lesson.media.append(media)
    session.flush()
    path = media_path(data_dir, media)
    path.parent.mkdir(parents=True, exist_ok=True)
    media_files.write_whole(path, content)
    return media


def get_media(session: Session, principal: Principal, media_id: str) -> LessonMedia:
    """A lesson file of a course the caller may read."""
    media = session.get(LessonMedia, media_id)
    if media is None:
        raise NotFound(f"media {media_id} not found")
    try:
        courses.get_lesson(session, principal, media.lesson_id)
    except NotFound:
        raise NotFound(f"media {media_id} not found") from None
    return media


def _paragraphs(body: str) -> str:
    return "".join(
        f"<p>{html.escape(part.strip())}</p>" for part in body.split("\n\n") if part.strip()
    )


def offline_zip(data_dir: Path, course: Course, language: str) -> bytes:
    """The course as a folder of static pages and its media, to read without a connection."""
    _, course_texts = courses.pick(course.translations, language, course.fallback_language)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        items = []
        for module in course.modules:
            _, module_texts = courses.pick(module.translations, language, course.fallback_language)
            items.append(f"<h2>{html.escape(module_texts['title'])}</h2><ol>")
            for lesson in module.lessons:
                used, texts = courses.pick(lesson.translations, language, course.fallback_language)
                name = f"lesson-{module.position:02d}-{lesson.position:02d}.html"
                items.append(f'<li><a href="{name}">{html.escape(texts["title"])}</a></li>')
                figures = []
                for media in lesson.media:
                    stored = media_path(data_dir, media)
                    if not stored.exists():
                        continue
                    inside = f"media/{stored.name}"
                    archive.write(stored, inside)
                    tag = (
                        f'<video controls src="{inside}"></video>'
                        if media.content_type.startswith("video/")
                        else f'<img src="{inside}" alt="">'
                    )
                    figures.append(f"<figure>{tag}</figure>")
                archive.writestr(
                    name,
                    _page(
                        used, texts["title"], _paragraphs(texts.get("body", "")) + "".join(figures)
                    ),
                )
            items.append("</ol>")
        summary = f"<p>{html.escape(course_texts.get('summary', ''))}</p>"
        archive.writestr(
            "index.html", _page(language, course_texts["title"], summary + "".join(items))
        )
    return buffer.getvalue()


def _page(language: str, title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="{html.escape(language.split("_")[0])}"><head>'
        f'<meta charset="utf-8"><title>{html.escape(title)}</title>'
        "<style>body{font-family:sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}"
        "img,video{max-width:100%}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
