"""Utilisation: booked session-hours against the hours the clinics' units were open."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from exoshare.auth.scope import Permission, Principal
from exoshare.scheduling.models import BookedSession
from exoshare.scheduling.problem_from_db import build_problem
from exoshare.scheduling.schemas import BookingStatus

if TYPE_CHECKING:
    from exoshare.network.models import OrgUnit


@dataclass
class Utilisation:
    clinic: OrgUnit
    booked_hours: int
    open_unit_hours: int

    @property
    def pct(self) -> float:
        return 100.0 * self.booked_hours / self.open_unit_hours if self.open_unit_hours else 0.0


def utilisation(
    session: Session, principal: Principal, start: date, weeks: int = 4
) -> list[Utilisation]:
    """Booked session-hours against open unit-hours per visible clinic over ``weeks``."""
    built = build_problem(session, start, weeks)
    problem = built.problem
    open_hours: dict[str, int] = defaultdict(int)
    for u in problem.units:
        clinic = problem.clinic_by_id[u.clinic_id]
        open_hours[u.clinic_id] += len(problem.horizon.slots_within(clinic.opening_hours))
    lo = datetime.combine(start, time(), tzinfo=UTC)
    hi = datetime.combine(problem.horizon.end_date, time(), tzinfo=UTC)
    booked: dict[str, int] = defaultdict(int)
    for clinic_id, starts_at, ends_at in session.execute(
        select(BookedSession.clinic_id, BookedSession.starts_at, BookedSession.ends_at).where(
            BookedSession.starts_at >= lo,
            BookedSession.starts_at < hi,
            BookedSession.status == BookingStatus.booked,
        )
    ):
        # A session holds its unit for the hour-slots it touches: 45 min one, 105 min two.
        booked[clinic_id] += max(1, math.ceil((ends_at - starts_at) / timedelta(hours=1)))
    return [
        Utilisation(c, booked.get(c.id, 0), open_hours.get(c.id, 0))
        for c in built.clinics.values()
        if principal.covers(Permission.fleet_read, c.path) and open_hours.get(c.id)
    ]
