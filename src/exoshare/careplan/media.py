"""Exercise pictures and videos as files under the data dir: received with a size limit per
kind, checked by their bytes, stored by SHA-256, served back with their own type and size.

An upload streams to a temporary file while its bytes are counted, so a file over the limit is
refused (413) as soon as it passes it, without holding it in memory or keeping any of it. The
declared ``Content-Type`` must be one exoshare serves and must match what the first bytes are
(``filetype`` reads the magic numbers); an SVG, which is text, must parse as XML (``defusedxml``:
no entity expansion) with an ``<svg>`` root and hold nothing active (scripts, event handlers,
embedded foreign content, links out of the file).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import filetype
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from exoshare.errors import MediaRejected, MediaTooLarge

MB = 1024 * 1024
LIMIT_BYTES: dict[str, int] = {
    "image/svg+xml": 1 * MB,
    "image/png": 5 * MB,
    "image/jpeg": 5 * MB,
    "image/webp": 5 * MB,
    "video/mp4": 50 * MB,
    "video/webm": 50 * MB,
}
"""What exoshare serves, and the largest file of each type: a picture for a phone screen, a
short clip of an exercise."""

EXTENSION = {
    "image/svg+xml": "svg",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/webm": "webm",
}
SNIFF_BYTES = 8192
SVG_NS = "{http://www.w3.org/2000/svg}"
ACTIVE_TAGS = frozenset({"script", "foreignObject", "iframe", "embed", "object", "handler"})

SERVE_HEADERS = {
    # The file is shown as what it is and can run nothing, even an SVG opened on its own.
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "Cache-Control": "private, max-age=86400",
}


@dataclass(frozen=True)
class ReceivedFile:
    path: Path
    content_type: str
    size_bytes: int
    sha256: str


def declared_type(content_type: str | None) -> str:
    """The media type of the ``Content-Type`` header, or MediaRejected naming what is served."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in LIMIT_BYTES:
        served = ", ".join(sorted(LIMIT_BYTES))
        raise MediaRejected(
            f"{kind or 'no Content-Type'} is not a picture or video type exoshare serves; "
            f"send one of {served}",
            field="content_type",
        )
    return kind


def refuse_declared_length(kind: str, content_length: str | None) -> None:
    """413 before reading anything when ``Content-Length`` already says too much."""
    declared = int(content_length) if content_length and content_length.isdigit() else None
    if declared is not None and declared > LIMIT_BYTES[kind]:
        raise _too_large(kind)


def _too_large(kind: str) -> MediaTooLarge:
    return MediaTooLarge(
        f"a {kind} file may be at most {LIMIT_BYTES[kind] // MB} MB; make it smaller "
        "(a shorter clip, a lower resolution) and send it again",
        field="file",
    )


async def receive(chunks: AsyncIterator[bytes], kind: str, media_dir: Path) -> ReceivedFile:
    """Stream an upload to a temporary file in ``media_dir``, refusing it once it passes the
    limit of ``kind`` or when its bytes are not a ``kind`` file (nothing is kept either way)."""
    media_dir.mkdir(parents=True, exist_ok=True)
    limit = LIMIT_BYTES[kind]
    digest = hashlib.sha256()
    size = 0
    head = b""
    handle, name = tempfile.mkstemp(dir=media_dir, prefix=".upload-")
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise _too_large(kind)
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise MediaRejected("the file is empty", field="file")
        check_bytes(kind, head if kind != "image/svg+xml" else path.read_bytes())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return ReceivedFile(path, kind, size, digest.hexdigest())


def check_bytes(kind: str, data: bytes) -> None:
    """MediaRejected unless ``data`` (the file's first bytes; a whole SVG) is a ``kind`` file."""
    if kind == "image/svg+xml":
        _check_svg(data)
        return
    found = filetype.guess_mime(data)
    if found != kind:
        raise MediaRejected(
            f"the file says it is {kind} but its bytes are "
            f"{found or 'not a picture or video exoshare recognises'}; send the file itself, "
            "with its own type",
            field="file",
        )


def _check_svg(data: bytes) -> None:
    try:
        root = ElementTree.fromstring(data)
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        raise MediaRejected("the file is not a well-formed SVG document", field="file") from None
    if root.tag not in (f"{SVG_NS}svg", "svg"):
        raise MediaRejected("the file is XML but not an SVG picture", field="file")
    for element in root.iter():
        tag = str(element.tag).rsplit("}", 1)[-1]
        if tag in ACTIVE_TAGS:
            raise MediaRejected(f"an SVG may not hold <{tag}>", field="file")
        for attribute, value in element.attrib.items():
            name = attribute.rsplit("}", 1)[-1].lower()
            if name.startswith("on"):
                raise MediaRejected(f"an SVG may not hold event handlers ({name})", field="file")
            if name == "href" and not value.startswith("#"):
                raise MediaRejected("an SVG may link only inside itself", field="file")


def store(received: ReceivedFile, media_dir: Path) -> str:
    """Move a received file to its place (named by content: the same file is kept once)."""
    final = path_of(media_dir, received.sha256, received.content_type)
    if received.path == final:
        return received.sha256
    if final.exists():
        received.path.unlink(missing_ok=True)
    else:
        os.replace(received.path, final)
    return received.sha256


def path_of(media_dir: Path, sha256: str, content_type: str) -> Path:
    return media_dir / f"{sha256}.{EXTENSION[content_type]}"


def store_bytes(data: bytes, kind: str, media_dir: Path) -> ReceivedFile:
    """A file exoshare ships (the seed library's drawings), checked and stored like an upload."""
    if len(data) > LIMIT_BYTES[kind]:
        raise _too_large(kind)
    check_bytes(kind, data)
    media_dir.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256(data).hexdigest()
    final = path_of(media_dir, sha, kind)
    if not final.exists():
        final.write_bytes(data)
    return ReceivedFile(final, kind, len(data), sha)


def media_dir(data_dir: Path) -> Path:
    """Where exercise media live under the data dir."""
    return data_dir / "careplan" / "media"
