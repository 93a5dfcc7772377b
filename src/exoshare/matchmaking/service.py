"""Matchmaking: gathers the facts about every partner for one seeker's need and ranks them.

The facts come from the capabilities that own them: the partner registry (offers, languages,
places), devices' approvals (which of a maker's models may be used in the seeker's country), the
fleet (idle units of such models a clinic holds) and certifications (who may run a model).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from exoshare.academy.certificates import certified_models
from exoshare.auth import service as auth_service
from exoshare.auth.scope import Principal
from exoshare.db import utcnow
from exoshare.devices import service as devices_service
from exoshare.devices.approvals import service as approvals_service
from exoshare.fleet.overview import spare_units_at
from exoshare.matchmaking.ranking import Candidate, Match, Seeker, rank
from exoshare.network import partners as partner_registry
from exoshare.network.schemas import Offering

if TYPE_CHECKING:
    from exoshare.network.models import Partner


@dataclass(frozen=True)
class Matches:
    seeker: Partner
    need: Offering
    matches: list[Match]


def _languages(partner: Partner) -> frozenset[str]:
    return frozenset(partner.languages)


def find_matches(
    session: Session,
    principal: Principal,
    seeker_id: str,
    need: Offering,
    limit: int = 10,
    now: datetime | None = None,
) -> Matches:
    """The partners that can meet ``need`` for the partner ``seeker_id``, best first."""
    now = now or utcnow()
    seeker = partner_registry.get_partner(session, principal, seeker_id)
    country = seeker.country_code
    offering = [
        p for p in partner_registry.all_partners(session) if need in p.offers and p.id != seeker.id
    ]
    usable = {
        model_id
        for model_id, countries in approvals_service.approved_countries(session).items()
        if country in countries
    }
    models_by_maker: dict[str, list[str]] = {}
    for model in devices_service.all_models(session):
        if model.id in usable:
            models_by_maker.setdefault(model.maker_id, []).append(model.name)
    clinic_ids = [p.org_unit_id for p in offering if p.org_unit_id is not None]
    spare = spare_units_at(session, clinic_ids, usable, now) if need is Offering.devices else {}
    certified = set(certified_models(session, now.date(), now.date()))
    people: dict[str, set[str]] = {}
    for user_id, unit_id in auth_service.therapist_grants(session, clinic_ids):
        people.setdefault(unit_id, set()).add(user_id)
    members = auth_service.users_of_partners(session, [p.id for p in offering])
    candidates = []
    for partner in offering:
        staff = set(members.get(partner.id, []))
        if partner.org_unit_id is not None:
            staff |= people.get(partner.org_unit_id, set())
        candidates.append(
            Candidate(
                partner_id=partner.id,
                name=partner.name,
                offers=frozenset(partner.offers),
                country=partner.country_code,
                languages=_languages(partner),
                latitude=partner.latitude,
                longitude=partner.longitude,
                approved_models=tuple(sorted(models_by_maker.get(partner.id, []))),
                spare_units=spare.get(partner.org_unit_id or "", 0),
                certified_people=len(staff & certified),
            )
        )
    seeker_point = Seeker(country, _languages(seeker), seeker.latitude, seeker.longitude)
    return Matches(seeker, need, rank(need.value, seeker_point, candidates, limit))
