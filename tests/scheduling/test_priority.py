"""Priority weights have one home: the waitlist, the database instance and the synthetic
instances (hence the simulation) all weigh a day of waiting alike."""

from __future__ import annotations

from exoshare.scheduling.instances import PRIORITIES, generate_instance
from exoshare.scheduling.priority import PRIORITY_WEIGHT, Priority


def test_every_priority_has_a_weight_and_urgent_weighs_most() -> None:
    assert set(PRIORITY_WEIGHT) == set(Priority)
    assert PRIORITY_WEIGHT[Priority.urgent] > PRIORITY_WEIGHT[Priority.high]
    assert PRIORITY_WEIGHT[Priority.high] > PRIORITY_WEIGHT[Priority.routine] == 1.0


def test_synthetic_patients_carry_the_waitlists_weights() -> None:
    assert {level for level, _, _ in PRIORITIES} == set(Priority)
    weights = {p.priority_weight for p in generate_instance("small", seed=0).patients}
    assert weights == set(PRIORITY_WEIGHT.values())
