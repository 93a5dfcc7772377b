"""The demo's outcome records: item sets that score to the cohort's totals."""

from __future__ import annotations

from datetime import date, timedelta

from exoshare.demo.outcomes_demo import _closest, berg_items, stroke_visits
from exoshare.outcomes.instruments import MOTRICITY_GRADES, TCT_GRADES, InstrumentCode, score
from exoshare.patients.models import Patient
from exoshare.patients.schemas import Diagnosis, Sex


def test_item_sets_score_back_to_their_totals() -> None:
    assert sum(berg_items(35).values()) == 35
    assert berg_items(35)["item_03"] == 4 and berg_items(35)["item_14"] == 0  # easy items first
    assert sum(berg_items(80).values()) == 56
    tct = _closest(TCT_GRADES, 4, 60)  # 25 + 12 + 12 + 12 = 61 is the nearest total
    assert tct == {"item_1": 25, "item_2": 12, "item_3": 12, "item_4": 12}
    assert score(InstrumentCode.tct, tct)[1] == {"tct": 61}
    motricity = _closest(MOTRICITY_GRADES, 3, 60, plus=1)  # 25 + 25 + 9 + 1 = 60
    assert score(InstrumentCode.motricity_leg, motricity)[1] == {"motricity_leg": 60}


def test_a_recent_stroke_follows_the_cohort_from_its_onset_date() -> None:
    today = date(2026, 12, 5)
    patient = Patient(
        id="p1", birth_date=date(1950, 1, 1), sex=Sex.male, diagnosis=Diagnosis.stroke,
        diagnosis_detail="Ischaemic stroke", onset_date=today - timedelta(days=30),
    )  # fmt: skip
    visits = stroke_visits(patient, today, seed=3)
    days = sorted({(when - patient.onset_date).days for when, _, _ in visits})  # type: ignore[operator]
    assert days[0] == 3 and days[-1] <= 30  # cohort visit days, none in the future
    for _, code, items in visits:
        score(code, items)  # every visit is a valid entry
    first_day = [code for when, code, _ in visits if when == patient.onset_date + timedelta(days=3)]  # type: ignore[operator]
    assert InstrumentCode.tct in first_day and InstrumentCode.motricity_leg in first_day
