"""HTML routes of tele-rehabilitation: live session, supervisor overview, patient progress."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
