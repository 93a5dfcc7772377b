"""Exercise pictures and videos: which types the care plan takes, how large each may be, and
where they live under the data dir. Checking, storing and serving are `exoshare.media_files`'.

An upload streams to a temporary file while its bytes are counted, so a file over the limit is
refused (413) as soon as it passes it, without holding it in memory or keeping any of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from exoshare import media_files
from exoshare.media_files import MB, ReceivedFile

LIMIT_BYTES: dict[str, int] = {
    "image/svg+xml": 1 * MB,
    "image/png": 5 * MB,
    "image/jpeg": 5 * MB,
    "image/webp": 5 * MB,
    "video/mp4": 50 * MB,
    "video/webm": 50 * MB,
}
"""What the care plan serves, and the largest file of each type: a picture for a phone screen,
a short clip of an exercise."""


def declared_type(content_type: str | None) -> str:
    return media_files.declared_type(content_type, LIMIT_BYTES)


def refuse_declared_length(kind: str, content_length: str | None) -> None:
    media_files.refuse_declared_length(kind, content_length, LIMIT_BYTES[kind])


async def receive(chunks: AsyncIterator[bytes], kind: str, media_dir: Path) -> ReceivedFile:
    return await media_files.receive(chunks, kind, media_dir, LIMIT_BYTES[kind])


def store_bytes(data: bytes, kind: str, media_dir: Path) -> ReceivedFile:
    return media_files.store_bytes(data, kind, media_dir, LIMIT_BYTES[kind])


def media_dir(data_dir: Path) -> Path:
    """Where exercise media live under the data dir."""
    return data_dir / "careplan" / "media"
