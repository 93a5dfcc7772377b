"""Pictures and videos people upload: checked by their bytes, stored whole, served inert.

One kernel for every capability that keeps media (exercise pictures in the care plan, lesson
pictures and videos in the academy), so the rules that keep a page from serving a script as a
picture live in one place. A capability decides which types it takes and how large each may be;
this module decides whether a file is what it says, and how it is written and served.

The declared type must be one the capability serves and must match what the first bytes are
(``filetype`` reads the magic numbers); an SVG, which is text, must parse as XML (``defusedxml``:
no entity expansion) with an ``<svg>`` root and hold nothing active (scripts, event handlers,
embedded foreign content, links out of the file).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import filetype
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from exoshare.errors import MediaRejected, MediaTooLarge

MB = 1024 * 1024
EXTENSION = {
    "image/svg+xml": "svg",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
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


def declared_type(content_type: str | None, limits: Mapping[str, int]) -> str:
    """The media type of a ``Content-Type`` header, or MediaRejected naming what is served."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in limits:
        raise MediaRejected(
            f"{kind or 'no Content-Type'} is not a picture or video type exoshare serves here; "
            f"send one of {', '.join(sorted(limits))}",
            field="content_type",
        )
    return kind


def refuse_declared_length(kind: str, content_length: str | None, limit_bytes: int) -> None:
    """413 before reading anything when ``Content-Length`` already says too much."""
    declared = int(content_length) if content_length and content_length.isdigit() else None
    if declared is not None and declared > limit_bytes:
        raise too_large(kind, limit_bytes)


def too_large(kind: str, limit_bytes: int) -> MediaTooLarge:
    return MediaTooLarge(
        f"a {kind} file may be at most {limit_bytes // MB} MB; make it smaller "
        "(a shorter clip, a lower resolution) and send it again",
        field="file",
    )


def sniffed_type(data: bytes, file_name: str, allowed: Mapping[str, int]) -> str:
    """The type of an upload whose declared type is not trusted (a browser form's file field):
    read from its bytes, and one of ``allowed`` or MediaRejected saying what it was."""
    found = filetype.guess_mime(data)
    if found not in allowed:
        raise MediaRejected(
            f"{file_name} is not a picture or video exoshare serves here (found "
            f"{found or 'unknown'}); use one of {', '.join(sorted(allowed))}",
            field="file",
        )
    return str(found)


async def receive(
    chunks: AsyncIterator[bytes], kind: str, media_dir: Path, limit_bytes: int
) -> ReceivedFile:
    """Stream an upload to a temporary file in ``media_dir``, refusing it once it passes
    ``limit_bytes`` or when its bytes are not a ``kind`` file (nothing is kept either way)."""
    media_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    handle, name = tempfile.mkstemp(dir=media_dir, prefix=".upload-")
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit_bytes:
                    raise too_large(kind, limit_bytes)
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


def store_bytes(data: bytes, kind: str, media_dir: Path, limit_bytes: int) -> ReceivedFile:
    """A file held in memory (one exoshare ships, or a form upload already read), checked and
    stored like a streamed upload, by content."""
    if len(data) > limit_bytes:
        raise too_large(kind, limit_bytes)
    check_bytes(kind, data)
    media_dir.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256(data).hexdigest()
    final = path_of(media_dir, sha, kind)
    if not final.exists():
        write_whole(final, data)
    return ReceivedFile(final, kind, len(data), sha)


def write_whole(path: Path, data: bytes) -> None:
    """Write beside and rename, so a reader never sees half a file."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    partial.replace(path)
