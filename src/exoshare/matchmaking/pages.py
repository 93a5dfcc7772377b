"""HTML page of matchmaking: the partners that can meet one partner's need, with reasons."""

from __future__ import annotations

from typing import Annotated

from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from exoshare.auth.gate import page_requires
from exoshare.auth.scope import Permission, Principal
from exoshare.deps import DbSession
from exoshare.matchmaking import service
from exoshare.matchmaking.ranking import Reason
from exoshare.matchmaking.wording import reason_text
from exoshare.network.schemas import Offering
from exoshare.web.render import language_namer, render, request_gettext, request_locale

router = APIRouter(include_in_schema=False)


@router.get("/partners/{partner_id}/matches", response_class=HTMLResponse)
def matches_page(
    partner_id: str,
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, Depends(page_requires(Permission.network_read))],
    need: Offering = Offering.devices,
) -> HTMLResponse:
    found = service.find_matches(session, principal, partner_id, need)
    locale = request_locale(request, principal)
    gettext = request_gettext(request, principal)
    language_name = language_namer(locale)

    def reason(item: Reason) -> str:
        return reason_text(
            item, gettext, lambda value: format_decimal(value, locale=locale), language_name
        )

    return render(
        request,
        "matchmaking/matches.html",
        principal,
        seeker=found.seeker,
        need=found.need,
        matches=found.matches,
        reason=reason,
    )
