"""Exercise media: served by exoshare with its own type and size; uploads checked by declared
type, magic bytes and size (413), and nothing of a refused file is kept."""

from __future__ import annotations

import hashlib
import struct
import zlib

import pytest

from exoshare.careplan import media
from tests.careplan.conftest import CareEnv


def _png_1x1() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x0b\x6e\x70")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_uploads_are_checked_and_served_back(
    care: CareEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, maria = care.client, care.maria
    exercise = client.post(
        "/api/v1/careplan/exercises",
        json={"code": "clinic-walk", "category": "gait", "default_language": "en",
              "texts": [{"language": "en", "title": "Corridor walk",
                         "instructions": "Walk the corridor twice."}]},
        headers=maria,
    )  # fmt: skip
    assert exercise.status_code == 201, exercise.text
    url = f"/api/v1/careplan/exercises/{exercise.json()['id']}/media"
    png = _png_1x1()
    folder = media.media_dir(care.data_dir)
    on_disk_before = set(folder.iterdir()) if folder.exists() else set()

    def upload(data: bytes, content_type: str) -> object:
        return client.post(url, content=data, headers={**maria, "Content-Type": content_type})

    stored = upload(png, "image/png")
    assert stored.status_code == 201, stored.text
    served = client.get(stored.json()["url"], headers=maria)
    assert served.status_code == 200 and served.content == png
    assert served.headers["content-type"] == "image/png"
    assert served.headers["content-length"] == str(len(png))
    assert served.headers["x-content-type-options"] == "nosniff"

    jpeg_bytes = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
    lying = upload(jpeg_bytes, "image/png")
    assert lying.status_code == 422 and lying.json()["type"].endswith("media-rejected")
    assert "says it is image/png but its bytes are image/jpeg" in lying.json()["detail"]
    html = upload(b"<html><script>alert(1)</script></html>", "text/html")
    assert html.status_code == 422 and "not a picture or video type" in html.json()["detail"]
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert upload(svg, "image/svg+xml").status_code == 422

    monkeypatch.setitem(media.LIMIT_BYTES, "image/png", 1000)
    too_big = upload(png + b"\x00" * 2000, "image/png")
    assert too_big.status_code == 413 and too_big.json()["type"].endswith("media-too-large")

    # Only the one accepted file was added to the disk: nothing of the refused ones was kept.
    added = sorted(p.name for p in set(folder.iterdir()) - on_disk_before)
    assert added == [f"{hashlib.sha256(png).hexdigest()}.png"]
    listed = client.get(f"/api/v1/careplan/exercises/{exercise.json()['id']}", headers=maria)
    assert [m["size_bytes"] for m in listed.json()["media"]] == [len(png)]
