"""HTTP route of matchmaking: ranked partners for one partner's need."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from exoshare.auth.gate import require
from exoshare.auth.scope import Permission, Principal
from exoshare.deps import DbSession
from exoshare.matchmaking import service
from exoshare.matchmaking.schemas import MatchesOut, MatchOut, ReasonOut
from exoshare.matchmaking.wording import reason_text
from exoshare.network.schemas import Offering

router = APIRouter(prefix="/api/v1", tags=["matchmaking"])


@router.get("/partners/{partner_id}/matches", response_model=MatchesOut)
def matches(
    partner_id: str,
    need: Offering,
    session: DbSession,
    principal: Annotated[Principal, Depends(require(Permission.network_read))],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> MatchesOut:
    """Partners that can meet ``need`` for this partner, best first, each with its reasons."""
    found = service.find_matches(session, principal, partner_id, need, limit)
    return MatchesOut(
        seeker_id=found.seeker.id,
        need=found.need,
        matches=[
            MatchOut(
                partner_id=m.partner_id,
                name=m.name,
                score=round(m.score, 3),
                distance_km=None if m.distance_km is None else round(m.distance_km, 1),
                reasons=[
                    ReasonOut(code=r.code, values=r.values, text=reason_text(r, lambda s: s))
                    for r in m.reasons
                ],
            )
            for m in found.matches
        ],
    )
