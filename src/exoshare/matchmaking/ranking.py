"""Ranking partners for a need: which can meet it, in what order, and why (pure).

A partner meets a need when it offers it and, for devices and remote supervision, has what the
offer rests on: a model approved in the seeker's country or a spare unit there, a certified
therapist to supervise. Among those that meet it, a score adds what matters for that need:

======================  ============================================================
need                    score
======================  ============================================================
devices                 2·e^(−km/1000) + 2·min(spare, 5)/5 + 1 if a model is approved
                        + 1 if a language is shared
training                0.5·e^(−km/1000) + 2·min(certified, 5)/5 + 3 if a language is shared
remote_supervision      2·min(certified, 5)/5 + 3 if a language is shared (distance is moot)
data, funding           1 if a language is shared + 0.5·e^(−km/1000)
======================  ============================================================

Units travel, so distance weighs for devices; people talk, so a shared language weighs for
teaching and supervising; a supply counts up to five, after which more does not change who is
the better partner. The weights are judgement, stated here so that a ranking can be checked by
hand; each match carries its reasons as codes with values, which pages put in words.

>>> seeker = Seeker("IN", frozenset({"en", "hi"}), 12.97, 77.59)
>>> near = Candidate("p1", "Delhi clinic", frozenset({"devices"}), "IN", frozenset({"hi"}),
...                  28.61, 77.21, spare_units=2)
>>> [(m.name, round(m.score, 2)) for m in rank("devices", seeker, [near])]
[('Delhi clinic', 2.15)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from exoshare.scheduling.problem import haversine_km

DISTANCE_SCALE_KM = 1000.0
"""Distance at which the closeness term has fallen to 1/e of its value."""
SUPPLY_CAP = 5
"""Units or certified people beyond this many no longer raise the score."""
NEEDS = ("devices", "training", "remote_supervision", "data", "funding")


class RankingError(ValueError):
    """A need the ranking does not know."""


@dataclass(frozen=True)
class Seeker:
    country: str
    languages: frozenset[str]
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Candidate:
    partner_id: str
    name: str
    offers: frozenset[str]
    country: str
    languages: frozenset[str]
    latitude: float | None = None
    longitude: float | None = None
    approved_models: tuple[str, ...] = ()
    """Names of the partner's own models that may be used in the seeker's country."""
    spare_units: int = 0
    """Idle, functioning units it holds of models usable in the seeker's country."""
    certified_people: int = 0
    """Its people holding a valid certificate for a device model."""


@dataclass(frozen=True)
class Reason:
    """One fact behind a match: ``code`` names it, ``values`` fill its sentence."""

    code: str
    values: dict[str, str | int | float] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    partner_id: str
    name: str
    score: float
    distance_km: float | None
    reasons: tuple[Reason, ...]


def _distance_km(seeker: Seeker, candidate: Candidate) -> float | None:
    if None in (seeker.latitude, seeker.longitude, candidate.latitude, candidate.longitude):
        return None
    return haversine_km(
        seeker.latitude,  # type: ignore[arg-type]  # None excluded above
        seeker.longitude,  # type: ignore[arg-type]
        candidate.latitude,  # type: ignore[arg-type]
        candidate.longitude,  # type: ignore[arg-type]
    )


def _closeness(distance_km: float | None) -> float:
    return 0.0 if distance_km is None else math.exp(-distance_km / DISTANCE_SCALE_KM)


def _supply(count: int) -> float:
    return min(count, SUPPLY_CAP) / SUPPLY_CAP


def meets(need: str, candidate: Candidate) -> bool:
    """Whether the candidate can meet the need at all (before any ranking)."""
    if need not in candidate.offers:
        return False
    if need == "devices":
        return bool(candidate.approved_models) or candidate.spare_units > 0
    if need == "remote_supervision":
        return candidate.certified_people > 0
    return True


def score(need: str, seeker: Seeker, candidate: Candidate) -> Match:
    """The candidate's score for the need and the reasons, as the module table states."""
    if need not in NEEDS:
        raise RankingError(f"unknown need {need!r}; one of {', '.join(NEEDS)}")
    distance = _distance_km(seeker, candidate)
    shared = sorted(seeker.languages & candidate.languages)
    speaks = 1.0 if shared else 0.0
    reasons: list[Reason] = []
    if need == "devices":
        value = 2 * _closeness(distance) + 2 * _supply(candidate.spare_units)
        value += (1.0 if candidate.approved_models else 0.0) + speaks
    elif need == "training":
        value = 0.5 * _closeness(distance) + 2 * _supply(candidate.certified_people) + 3 * speaks
    elif need == "remote_supervision":
        value = 2 * _supply(candidate.certified_people) + 3 * speaks
    else:
        value = speaks + 0.5 * _closeness(distance)
    if distance is not None and need != "remote_supervision":
        reasons.append(Reason("distance", {"km": round(distance)}))
    if shared:
        reasons.append(Reason("language", {"languages": ", ".join(shared)}))
    else:
        reasons.append(Reason("no-language"))
    if need == "devices" and candidate.approved_models:
        reasons.append(
            Reason(
                "approved",
                {
                    "count": len(candidate.approved_models),
                    "models": ", ".join(candidate.approved_models),
                    "country": seeker.country,
                },
            )
        )
    if need == "devices" and candidate.spare_units:
        reasons.append(
            Reason("spare-units", {"count": candidate.spare_units, "country": seeker.country})
        )
    if need in ("training", "remote_supervision") and candidate.certified_people:
        reasons.append(Reason("certified", {"count": candidate.certified_people}))
    return Match(candidate.partner_id, candidate.name, value, distance, tuple(reasons))


def rank(
    need: str, seeker: Seeker, candidates: Iterable[Candidate], limit: int = 10
) -> list[Match]:
    """The candidates that meet the need, best first (ties by name), at most ``limit``."""
    if need not in NEEDS:
        raise RankingError(f"unknown need {need!r}; one of {', '.join(NEEDS)}")
    matches = [score(need, seeker, c) for c in candidates if meets(need, c)]
    matches.sort(key=lambda m: (-m.score, m.name))
    return matches[:limit]
