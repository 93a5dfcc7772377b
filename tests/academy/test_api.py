"""The academy over HTTP: authoring and translating, lessons in the reader's language with the
fallback, media stored and streamed with its type, the offline zip, quiz answers kept secret."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

from fastapi.testclient import TestClient

from exoshare.app import create_app
from exoshare.config import Settings
from exoshare.runtime import runtime_of
from tests.academy.helpers import academy_world
from tests.world import token


def tiny_png() -> bytes:
    """A real 1x1 red PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_a_trainer_authors_translates_and_uploads_and_a_learner_reads_offline(
    client: TestClient, settings: Settings
) -> None:
    world = academy_world(runtime_of(client.app).sessionmaker)
    trainer = token(client, world, "trainer_spain")
    maria = token(client, world, "therapist_madrid")
    course_id = world.ids["course"]

    module = client.post(
        f"/api/v1/academy/courses/{course_id}/modules",
        json={"titles": {"en": "Starting", "sw": "Kuanza"}},
        headers=trainer,
    )
    assert module.status_code == 201 and module.json()["position"] == 2
    lesson = client.post(
        f"/api/v1/academy/courses/{course_id}/lessons",
        json={
            "module_id": module.json()["id"],
            "texts": {"en": {"title": "Power on", "body": "Press."}},
        },
        headers=trainer,
    )
    assert lesson.status_code == 201
    lesson_id = lesson.json()["id"]
    swahili = client.put(
        f"/api/v1/academy/lessons/{lesson_id}/translations/sw",
        json={"title": "Washa", "body": "Bonyeza."},
        headers=trainer,
    )
    assert swahili.status_code == 200 and swahili.json()["title"] == "Washa"
    # A therapist may read but not write the course.
    refused = client.put(
        f"/api/v1/academy/lessons/{lesson_id}/translations/fr",
        json={"title": "Allumer"},
        headers=maria,
    )
    assert refused.status_code == 404

    png = tiny_png()
    uploaded = client.post(
        f"/api/v1/academy/lessons/{lesson_id}/media",
        files={"file": ("switch.png", png, "application/octet-stream")},
        data={"caption": "The switch"},
        headers=trainer,
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["content_type"] == "image/png"
    assert uploaded.json()["size_bytes"] == len(png) == 69
    # A script named .png is refused by its bytes; nothing new is stored.
    script = client.post(
        f"/api/v1/academy/lessons/{lesson_id}/media",
        files={"file": ("evil.png", b"<script>alert(1)</script>", "image/png")},
        headers=trainer,
    )
    assert script.status_code == 422
    assert script.json()["type"].endswith("/media-rejected")
    assert (
        "is not a picture or video exoshare serves here (found unknown)"
        in (script.json()["detail"])
    )
    stored = sorted(p.name for p in (Path(settings.data_dir) / "academy" / "media").iterdir())
    assert stored == [f"{uploaded.json()['id']}.png"]

    media = client.get(f"/api/v1/academy/media/{uploaded.json()['id']}", headers=maria)
    assert media.status_code == 200
    assert media.headers["content-type"] == "image/png"
    assert media.headers["x-content-type-options"] == "nosniff"
    assert media.content == png
    # Ranges are served, so a video seeks without downloading the whole file first.
    ranged = client.get(
        f"/api/v1/academy/media/{uploaded.json()['id']}", headers={**maria, "Range": "bytes=0-7"}
    )
    assert (ranged.status_code, ranged.content) == (206, png[:8])

    # Swahili reader: the translated lesson in Swahili, the untranslated ones in English.
    course = client.get(f"/api/v1/academy/courses/{course_id}?language=sw", headers=maria).json()
    by_title = {x["title"]: x["language"] for m in course["modules"] for x in m["lessons"]}
    assert by_title == {"Size range": "en", "Cuffs": "en", "Washa": "sw"}
    assert course["languages"] == ["en", "es", "sw"]
    spanish = client.get(f"/api/v1/academy/courses/{course_id}?language=es", headers=maria).json()
    assert spanish["title"] == "Strider X2: lo básico"
    assert spanish["modules"][0]["lessons"][0] == {
        "id": world.ids["lesson1"],
        "module_id": world.ids["module"],
        "language": "es",
        "title": "Rango de tallas",
        "body": "Mida.\n\nCompare.",
        "media_ids": [],
        "completed": False,
    }

    done = client.post(f"/api/v1/academy/lessons/{world.ids['lesson1']}/completion", headers=maria)
    assert done.status_code == 204
    progress = client.get(f"/api/v1/academy/courses/{course_id}", headers=maria).json()["progress"]
    assert (progress["lessons_completed"], progress["lessons_total"]) == (1, 3)

    quiz = client.get(f"/api/v1/academy/courses/{course_id}/quiz", headers=maria).json()
    assert len(quiz["questions"]) == 4 and quiz["pass_mark_pct"] == 75
    assert "correct" not in str(quiz) and "is_correct" not in str(quiz)

    offline = client.get(f"/api/v1/academy/courses/{course_id}/offline?language=sw", headers=maria)
    assert offline.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(offline.content))
    assert sorted(archive.namelist()) == [
        "index.html",
        "lesson-01-01.html",
        "lesson-01-02.html",
        "lesson-02-01.html",
        f"media/{uploaded.json()['id']}.png",
    ]
    assert archive.read(f"media/{uploaded.json()['id']}.png") == png
    page = archive.read("lesson-02-01.html").decode()
    assert '<html lang="sw">' in page and "<h1>Washa</h1>" in page and "<p>Bonyeza.</p>" in page


def test_bad_course_input_names_the_field_and_stores_nothing(client: TestClient) -> None:
    world = academy_world(runtime_of(client.app).sessionmaker)
    trainer = token(client, world, "trainer_spain")
    body = {
        "model_id": world.ids["model"],
        "org_unit_id": world.ids["spain"],
        "topic": "alarms",
        "fallback_language": "fr",
        "texts": {"en": {"title": "Alarms"}},
    }
    missing_fallback = client.post("/api/v1/academy/courses", json=body, headers=trainer)
    assert missing_fallback.status_code == 422
    assert missing_fallback.json()["errors"] == [
        {"field": "texts", "reason": "give the title in the fallback language 'fr' too"}
    ]
    bad_language = client.post(
        "/api/v1/academy/courses",
        json={**body, "texts": {"English": {"title": "x"}}},
        headers=trainer,
    )
    assert bad_language.status_code == 422
    assert "'English' is not a language code" in bad_language.text
    # Kenya's trainer cannot place a course in Spain: the unit answers like a missing one.
    kenya = token(client, world, "trainer_kenya")
    foreign = client.post(
        "/api/v1/academy/courses", json={**body, "fallback_language": "en"}, headers=kenya
    )
    assert foreign.status_code == 422
    assert foreign.json()["errors"][0]["field"] == "org_unit_id"
    question = client.post(
        f"/api/v1/academy/courses/{world.ids['course']}/questions",
        json={"prompts": {"en": "?"}, "options": [{"texts": {"en": "a"}}, {"texts": {"en": "b"}}]},
        headers=trainer,
    )
    assert question.status_code == 422 and "mark at least one option as correct" in question.text
    courses = client.get("/api/v1/academy/courses", headers=trainer).json()
    assert [c["title"] for c in courses] == ["Strider X2 basics"]
    assert (
        len(
            client.get(
                "/api/v1/academy/courses/" + world.ids["course"] + "/quiz", headers=trainer
            ).json()["questions"]
        )
        == 4
    )


def test_an_oversized_media_upload_is_cut_off_as_it_arrives(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"academy_max_media_mb": 1}))
    with TestClient(app) as client:
        world = academy_world(runtime_of(app).sessionmaker)
        trainer = token(client, world, "trainer_spain")
        too_big = tiny_png() + b"\0" * (1024 * 1024 + 70 * 1024)
        refused = client.post(
            f"/api/v1/academy/lessons/{world.ids['lesson1']}/media",
            files={"file": ("huge.png", too_big, "image/png")},
            headers=trainer,
        )
        assert refused.status_code == 413
        assert refused.json()["detail"] == "the upload exceeds 1 MB (academy_max_media_mb)"
        assert not (Path(settings.data_dir) / "academy" / "media").exists()
    runtime_of(app).engine.dispose()
