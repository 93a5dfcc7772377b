"""Waitlist priority: the levels a referral carries and how much faster each one's wait counts.

The one home of the weights: the waitlist's order and the solver's fairness objective
(``priority_weight × days waited``) read them from here, and so do the synthetic instances and the
network simulation, so a simulated network is scheduled with the weights a real one gets. Pure:
no database or web imports (the simulation is a numeric core).
"""

from __future__ import annotations

import enum


class Priority(enum.StrEnum):
    urgent = "urgent"
    high = "high"
    routine = "routine"


PRIORITY_WEIGHT: dict[Priority, float] = {
    Priority.urgent: 2.0,
    Priority.high: 1.5,
    Priority.routine: 1.0,
}
"""How much faster a day of waiting counts in the solver's fairness objective: an urgent patient
waiting 20 days weighs like a routine one waiting 40 (docs/scheduling.md, Objective)."""
