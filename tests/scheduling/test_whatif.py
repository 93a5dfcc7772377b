"""Capacity advice: what-if runs rank the change that cuts waiting most first."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from exoshare.scheduling.instances import Network
from exoshare.scheduling.problem import (
    Clinic,
    DeviceModel,
    DeviceUnit,
    Therapist,
    WaitingPatient,
)
from exoshare.scheduling.whatif import (
    THERAPIST_DAY,
    UNIT,
    Change,
    WhatIfSetup,
    apply_change,
    candidate_changes,
    what_if,
)

MONDAY = date(2025, 3, 3)
WEEKDAYS = {d: (time(8), time(10)) for d in range(5)}  # Mon–Fri, 2 one-hour slots a day
MON_WED = {d: (time(8), time(10)) for d in range(3)}
A = DeviceModel("A", 1.50, 1.90, 100.0, frozenset({"DE"}))
BERLIN, MUNICH = (52.52, 13.40), (48.14, 11.58)  # ~500 km apart: no patient reaches both


def two_clinics() -> Network:
    """BUSY (Berlin): one unit, three certified therapists, 15 waiting; SPARE (Munich): two
    units, one therapist working Mon–Wed, one waiting."""
    return Network(
        clinics=[
            Clinic("BUSY", "DE", "Europe", *BERLIN, WEEKDAYS),
            Clinic("SPARE", "DE", "Europe", *MUNICH, WEEKDAYS),
        ],
        models=[A],
        units=[
            DeviceUnit("U1", "A", "BUSY"),
            DeviceUnit("U2", "A", "SPARE"),
            DeviceUnit("U3", "A", "SPARE"),
        ],
        therapists=[
            *(Therapist(f"T{k}", "BUSY", frozenset({"A"}), WEEKDAYS) for k in range(3)),
            Therapist("TS", "SPARE", frozenset({"A"}), MON_WED),
        ],
        referral_share={"BUSY": 0.5, "SPARE": 0.5},
    )


def waiting(pid: str, where: tuple[float, float]) -> WaitingPatient:
    return WaitingPatient(
        pid,
        where[0],
        where[1] + 0.05,
        "DE",
        1.75,
        75.0,
        MONDAY - timedelta(days=14),
        1.0,
        "routine referral",
        sessions_per_week=1,
        course_sessions=4,
    )


BACKLOG = [*(waiting(f"B{k:02d}", BERLIN) for k in range(15)), waiting("S00", MUNICH)]


def test_candidates_are_pruned_to_clinics_with_patients_in_reach() -> None:
    changes = candidate_changes(two_clinics(), BACKLOG, travel_limit_km=50.0)
    # BUSY: 15 waiting over 1 unit; SPARE: 1 waiting over 2 units. BUSY's three therapists work
    # every open day (15 days), so its extra day is a relief therapist's Monday; SPARE's is its
    # therapist's Thursday (3 days worked).
    assert changes == [
        Change(UNIT, "BUSY", model_id="A", demand=15 / 2),
        Change(UNIT, "SPARE", model_id="A", demand=1 / 3),
        Change(THERAPIST_DAY, "BUSY", weekday=0, demand=15 / 16),
        Change(THERAPIST_DAY, "SPARE", therapist_id="TS", weekday=3, demand=1 / 4),
    ]
    # Nobody waits in reach of a clinic 500 km from both: no candidate there.
    far = [waiting("F", (40.0, 0.0))]
    assert candidate_changes(two_clinics(), far, travel_limit_km=50.0) == []


def test_a_unit_where_ten_more_wait_beats_one_where_units_stand_spare() -> None:
    network = two_clinics()
    setup = WhatIfSetup(network, BACKLOG, MONDAY, weeks=4, arrivals_per_week=0.0)
    seen: list[tuple[int, int]] = []
    baseline, ranked = what_if(
        setup,
        candidate_changes(network, BACKLOG, 50.0),
        seeds=[0],
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    # One unit at BUSY gives 10 sessions a week: 10 of its 15 start in week 1, two a day (waits
    # 14, 14, 15, 15, ..., 18, 18 days = 160), and keep the unit for their 4-week course; SPARE's
    # patient starts on Monday (14). 5 wait to the end of the run: 14 + 28 = 42 days each.
    # Mean over 16: (160 + 14 + 5 × 42) / 16 = 24.
    assert baseline.patients_started == [11]
    assert baseline.mean_weighted_wait_days == [24.0]
    best = ranked[0]
    assert (best.change.kind, best.change.clinic_id) == (UNIT, "BUSY")
    assert best.extra_patients == [5]
    # With a second unit all 15 start in week 1, four a day: 4 × 14 + 4 × 15 + 4 × 16 + 3 × 17
    # = 231, plus SPARE's 14: mean 245 / 16 = 15.3125, a cut of 8.6875 days.
    assert best.wait_cut_days == [pytest.approx(8.6875)]
    # SPARE's one patient starts on Monday either way: its unit and extra day change nothing;
    # nor does a relief therapist at BUSY, whose one unit is what is full.
    for other in ranked[1:]:
        assert other.extra_patients == [0]
        assert other.wait_cut_days == [0.0]


def test_apply_change_adds_a_unit_a_working_day_or_a_relief_therapist() -> None:
    network = two_clinics()
    more = apply_change(network, Change(UNIT, "BUSY", model_id="A"))
    assert [u.clinic_id for u in more.units].count("BUSY") == 2
    longer = apply_change(network, Change(THERAPIST_DAY, "SPARE", therapist_id="TS", weekday=3))
    ts = next(t for t in longer.therapists if t.id == "TS")
    assert sorted(ts.working_hours) == [0, 1, 2, 3]
    assert ts.working_hours[3] == (time(8), time(10))
    relief = apply_change(network, Change(THERAPIST_DAY, "BUSY", weekday=0))
    added = [t for t in relief.therapists if t.id not in {u.id for u in network.therapists}]
    assert [(t.clinic_id, t.certified_model_ids, t.working_hours) for t in added] == [
        ("BUSY", frozenset({"A"}), {0: (time(8), time(10))})
    ]
