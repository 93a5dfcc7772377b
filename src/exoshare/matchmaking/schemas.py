"""Response shapes of matchmaking."""

from __future__ import annotations

from pydantic import BaseModel

from exoshare.network.schemas import Offering


class ReasonOut(BaseModel):
    code: str
    """``distance``, ``language``, ``no-language``, ``approved``, ``spare-units``, ``certified``."""
    values: dict[str, str | int | float]
    text: str
    """The reason in English words (pages show it in the reader's language)."""


class MatchOut(BaseModel):
    partner_id: str
    name: str
    score: float
    distance_km: float | None
    reasons: list[ReasonOut]


class MatchesOut(BaseModel):
    seeker_id: str
    need: Offering
    matches: list[MatchOut]
