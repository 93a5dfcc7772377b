"""Assertions of the write gate: a foreign id is answered exactly like a missing one."""

from __future__ import annotations

import uuid
from typing import Any

from httpx import Response


def missing_id() -> str:
    """An id of the same shape as every stored one that names nothing."""
    return uuid.uuid4().hex


def same_refusal(
    foreign: Response, foreign_id: str, missing: Response, missing_id: str
) -> dict[str, Any]:
    """The two answers agree in status and, with each id replaced by a placeholder, in every
    byte of the body; returns the (foreign) problem document."""
    assert foreign.status_code == missing.status_code, (foreign.text, missing.text)
    assert foreign.status_code in (404, 422), foreign.text
    assert foreign.text.replace(foreign_id, "<id>") == missing.text.replace(missing_id, "<id>")
    body: dict[str, Any] = foreign.json()
    return body
