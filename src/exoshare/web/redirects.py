"""Where a page may send the reader next: same-site paths only, never an open redirect."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None) -> str:
    """Only same-site paths, so the login form cannot be used as an open redirect."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target
