"""Scoring, validation, MDC/MCID judgments and goal status of the instrument catalogue."""

from __future__ import annotations

from datetime import date

import pytest

from exoshare.outcomes.goals import goal_status
from exoshare.outcomes.instruments import (
    INSTRUMENTS,
    MEASURES,
    InstrumentCode,
    Judgment,
    Measure,
    Population,
    ScoreError,
    judge,
    population_for,
    score,
)
from exoshare.outcomes.measures import Observation
from exoshare.outcomes.schemas import GoalStatus

SPEED, SUBACUTE = Measure.ten_mwt_comfortable_mps, Population.stroke_subacute
BERG_ITEMS = [4, 4, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0, 4, 3]


def berg(values: list[int]) -> dict[str, object]:
    return {f"item_{n:02d}": v for n, v in enumerate(values, start=1)}


def test_berg_total_is_the_sum_of_its_14_items() -> None:
    clean, scores = score(InstrumentCode.berg, berg(BERG_ITEMS))
    assert scores == {Measure.berg: 35}
    assert len(clean) == 14 and clean["item_05"] == 3


def test_ten_metre_walk_speed_is_distance_over_time() -> None:
    items = {"distance_m": 10, "comfortable_time_s": 12.5, "fast_time_s": 8}
    _, scores = score(InstrumentCode.ten_mwt, items)
    assert scores == {Measure.ten_mwt_comfortable_mps: 0.8, Measure.ten_mwt_fast_mps: 1.25}
    # Form fields arrive as text; a 6 m timed walkway is allowed.
    _, scores = score(InstrumentCode.ten_mwt, {"distance_m": "6", "comfortable_time_s": "15"})
    assert scores == {Measure.ten_mwt_comfortable_mps: 0.4}


def test_weighted_and_graded_totals() -> None:
    assert score(InstrumentCode.motricity_leg, {"item_1": 19, "item_2": 25, "item_3": 14})[1] == {
        Measure.motricity_leg: 59
    }
    assert score(InstrumentCode.motricity_leg, {"item_1": 33, "item_2": 33, "item_3": 33})[1] == {
        Measure.motricity_leg: 100
    }
    assert score(InstrumentCode.motricity_leg, {"item_1": 0, "item_2": 0, "item_3": 0})[1] == {
        Measure.motricity_leg: 0
    }
    tct = {"item_1": 25, "item_2": 25, "item_3": 12, "item_4": 0}
    assert score(InstrumentCode.tct, tct)[1] == {Measure.tct: 62}
    assert score(InstrumentCode.fac, {"category": 3})[1] == {Measure.fac: 3}
    assert score(InstrumentCode.wisci_ii, {"level": 16})[1] == {Measure.wisci_ii: 16}


@pytest.mark.parametrize(
    ("code", "items", "field", "words"),
    [
        (InstrumentCode.berg, berg([4, 4, 4, 4, 5, *[0] * 9]), "item_05",
         "must be one of 0, 1, 2, 3, 4"),
        (InstrumentCode.berg, berg(BERG_ITEMS[:13]), "item_14", "is missing; enter a value"),
        (InstrumentCode.ten_mwt, {"distance_m": 10, "comfortable_time_s": -3}, "comfortable_time_s",
         "a time cannot be negative"),
        (InstrumentCode.ten_mwt, {"distance_m": 10, "comfortable_time_s": "twelve"},
         "comfortable_time_s", "must be a number"),
        (InstrumentCode.tct, {"item_1": 13, "item_2": 0, "item_3": 0, "item_4": 0}, "item_1",
         "must be one of 0, 12, 25"),
        (InstrumentCode.six_mwt, {"distance_m": 1500}, "distance_m", "between 0 and 1000 m"),
        (InstrumentCode.fac, {"category": 2, "speed": 1}, "speed", "not an item of the FAC"),
    ],
)  # fmt: skip
def test_bad_items_are_refused_naming_the_item(
    code: InstrumentCode, items: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(ScoreError) as refused:
        score(code, items)
    assert refused.value.field == field
    assert words in str(refused.value)


def test_every_instrument_scores_into_its_own_measures_within_range() -> None:
    for code, instrument in INSTRUMENTS.items():
        highest = {
            i.key: (max(i.choices) if i.choices else i.high) for i in instrument.items if i.required
        }
        if code is InstrumentCode.ten_mwt:
            highest = {"distance_m": 10, "comfortable_time_s": 5}
        _, scores = score(code, highest)
        assert set(scores) <= set(instrument.measures)
        for measure, value in scores.items():
            assert MEASURES[measure].low <= value <= MEASURES[measure].high


def test_population_follows_diagnosis_and_phase() -> None:
    assert population_for("stroke", 5) is Population.stroke_acute
    assert population_for("stroke", 45) is Population.stroke_subacute
    assert population_for("stroke", 400) is Population.stroke_chronic
    assert population_for("spinal_cord_injury", 700) is Population.spinal_cord_injury


@pytest.mark.parametrize(
    ("measure", "population", "before", "after", "expected"),
    [
        # Subacute stroke: MCID 0.16 m/s (Tilson 2010); MDC 0.05 m/s below 0.4 m/s (Hosoi 2023).
        (SPEED, SUBACUTE, 0.30, 0.46, Judgment.improved_beyond_mcid),
        (SPEED, SUBACUTE, 0.30, 0.40, Judgment.improved),
        (SPEED, SUBACUTE, 0.30, 0.33, Judgment.within_error),
        # From 0.5 m/s the MDC band is 0.11 m/s: 0.12 lower is a real decline, 0.10 is not.
        (SPEED, SUBACUTE, 0.50, 0.38, Judgment.declined),
        (SPEED, SUBACUTE, 0.50, 0.40, Judgment.within_error),
        # Chronic stroke TUG: MDC 8 s (Hiengkaew 2012), lower is better, no MCID.
        (Measure.tug_s, Population.stroke_chronic, 20.0, 11.0, Judgment.improved),
        (Measure.tug_s, Population.stroke_chronic, 20.0, 27.0, Judgment.within_error),
        # Acute stroke Berg: MCID 6.5 points (Hayashi 2022), no MDC published there.
        (Measure.berg, Population.stroke_acute, 20, 27, Judgment.improved_beyond_mcid),
        (Measure.berg, Population.stroke_acute, 20, 25, Judgment.below_mcid),
        (Measure.berg, Population.stroke_acute, 27, 20, Judgment.declined),
        (Measure.wisci_ii, Population.spinal_cord_injury, 9, 13, Judgment.not_judged),
    ],
)  # fmt: skip
def test_mcid_judgment(
    measure: Measure, population: Population, before: float, after: float, expected: Judgment
) -> None:
    assert judge(measure, population, before, after) is expected


def _speeds(*pairs: tuple[date, float]) -> list[Observation]:
    return [
        Observation(Measure.ten_mwt_comfortable_mps, d, v, f"m{i}")
        for i, (d, v) in enumerate(pairs)
    ]


def test_goal_status_against_a_straight_path_from_baseline_to_target() -> None:
    # 0.4 -> 0.8 m/s from 1 March to 31 March: by 16 March (half way) the path is at 0.6 m/s.
    start, target = date(2026, 3, 1), date(2026, 3, 31)

    def status(found: list[Observation], today: date) -> GoalStatus:
        measure = Measure.ten_mwt_comfortable_mps
        return goal_status(measure, 0.8, target, start, 0.4, found, today)

    assert status(_speeds((date(2026, 3, 16), 0.62)), date(2026, 3, 17)) is GoalStatus.on_track
    assert status(_speeds((date(2026, 3, 16), 0.55)), date(2026, 3, 17)) is GoalStatus.behind
    assert status(_speeds((date(2026, 3, 30), 0.81)), date(2026, 4, 2)) is GoalStatus.met
    assert status(_speeds((date(2026, 3, 30), 0.75)), date(2026, 4, 2)) is GoalStatus.missed
    # Reached only after the target date: still missed.
    assert status(_speeds((date(2026, 4, 1), 0.9)), date(2026, 4, 2)) is GoalStatus.missed
    assert status([], date(2026, 3, 10)) is GoalStatus.on_track
    # Lower is better for the TUG: 30 s -> 15 s, half way on day 15 is 22.5 s.
    tug = [Observation(Measure.tug_s, date(2026, 3, 16), 24.0, "t")]
    assert (
        goal_status(Measure.tug_s, 15, target, start, 30, tug, date(2026, 3, 17))
        is GoalStatus.behind
    )
