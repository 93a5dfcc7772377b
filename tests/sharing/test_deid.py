"""The de-identification core against ARX's published fixture and a hand-checkable golden set."""

from __future__ import annotations

import pandas as pd
import pytest
from pycanon import anonymity

from exoshare.sharing.deid import (
    DeidentificationError,
    Hierarchy,
    PrivacyModel,
    anonymise,
    date_shift_days,
    interval,
    prefix_mask,
    pseudonym,
    risk,
)

# ARX's example data set (age, gender, zipcode) and its hierarchies.
ARX_ROWS = pd.DataFrame(
    {
        "age": [34, 45, 66, 70, 34, 70, 45],
        "gender": ["male", "female", "male", "female", "female", "male", "male"],
        "zipcode": ["81667", "81675", "81925", "81931", "81931", "81931", "81931"],
    }
)
ARX_HIERARCHIES = {
    "age": Hierarchy.of(lambda a: "<50" if a < 50 else ">=50"),
    "gender": Hierarchy.of(),
    "zipcode": Hierarchy.of(*(prefix_mask(keep) for keep in (4, 3, 2, 1))),
}


def test_arx_fixture_risk_before_is_one() -> None:
    report = risk(ARX_ROWS, list(ARX_HIERARCHIES))
    assert report.prosecutor.highest == 1.0
    assert report.prosecutor.average == 1.0
    assert report.journalist.highest == 1.0
    assert report.marketer == 1.0
    assert report.prosecutor.records_at_risk == 1.0


def test_arx_fixture_two_anonymous_without_suppression() -> None:
    result = anonymise(ARX_ROWS, ARX_HIERARCHIES, PrivacyModel(k=2, suppression_limit=0.0))
    # ARX's optimum: age in two bands, gender removed, ZIP to three digits.
    assert result.levels == {"age": 1, "gender": 1, "zipcode": 2}
    assert result.suppressed_count == 0
    assert sorted(result.released["zipcode"].unique()) == ["816**", "819**"]
    report = risk(result.released, list(ARX_HIERARCHIES))
    assert report.prosecutor.average == pytest.approx(3 / 7)
    assert round(report.prosecutor.average, 6) == 0.428571
    assert report.prosecutor.highest == 0.5
    assert report.classes == 3
    assert result.k_achieved == 2
    assert anonymity.k_anonymity(result.released, list(ARX_HIERARCHIES)) == 2
    assert result.nodes_checked == 3 * 2 * 6


# Own golden set: 12 patients; every class size and risk below is counted by hand.
GOLDEN = pd.DataFrame(
    {
        "age": [23, 27, 31, 36, 44, 45, 48, 52, 57, 61, 64, 88],
        "sex": ["f", "f", "m", "m", "f", "m", "f", "m", "m", "f", "f", "m"],
        "speed_band": ["a", "b", "a", "b", "a", "b", "c", "a", "b", "a", "c", "a"],
    }
)
GOLDEN_QI = {"age": Hierarchy.of(interval(20), interval(40)), "sex": Hierarchy.of()}


def test_golden_set_k3_prefers_least_discernibility() -> None:
    """Candidates meeting k=3 within 25 % suppression (3 records), with DM* = Σ|class|² + 12 per
    suppressed record: age removed, sex kept: classes f 6, m 6 → 72; 20-year bands, sex removed:
    4, 5 and 3 suppressed → 77; 40-year bands, sex removed: 4, 7 and 1 suppressed → 77."""
    result = anonymise(GOLDEN, GOLDEN_QI, PrivacyModel(k=3, suppression_limit=0.25))
    assert result.levels == {"age": 3, "sex": 0}
    assert result.suppressed_count == 0
    report = risk(result.released, ["age", "sex"], threshold=0.1)
    assert report.classes == 2
    assert report.prosecutor.highest == pytest.approx(1 / 6)
    assert report.prosecutor.average == pytest.approx(2 / 12)
    assert report.prosecutor.records_at_risk == 1.0


def test_golden_set_l_diversity_needs_wider_classes() -> None:
    """With l=3 the 20-39 band (speeds a, b only) fails; bands of 40 years give 0-39 (4 rows:
    a,b only — fails) and 40-79 (7 rows, a/b/c): with 45 % suppression 0-39 and 80-119 go."""
    result = anonymise(
        GOLDEN, GOLDEN_QI, PrivacyModel(k=3, l_diversity=3, suppression_limit=0.45), ["speed_band"]
    )
    assert result.levels == {"age": 2, "sex": 1}
    assert result.suppressed_count == 5
    assert result.l_achieved == 3
    assert anonymity.l_diversity(result.released, ["age", "sex"], ["speed_band"]) == 3


def test_journalist_and_marketer_against_a_population() -> None:
    sample = pd.DataFrame({"band": ["x", "x", "y"]})
    population = pd.DataFrame({"band": ["x"] * 4 + ["y"] * 2})
    report = risk(sample, ["band"], threshold=0.3, population=population)
    assert report.prosecutor.highest == 1.0
    assert report.journalist.highest == 0.5
    assert report.journalist.average == pytest.approx((0.25 + 0.25 + 0.5) / 3)
    assert report.journalist.records_at_risk == pytest.approx(1 / 3)
    assert report.marketer == pytest.approx((2 / 4 + 1 / 2) / 3)


def test_unreachable_model_says_what_to_change() -> None:
    with pytest.raises(DeidentificationError, match="lower k or l"):
        anonymise(ARX_ROWS, ARX_HIERARCHIES, PrivacyModel(k=8, suppression_limit=0.0))
    with pytest.raises(DeidentificationError, match="no column 'height'"):
        anonymise(ARX_ROWS, {"height": Hierarchy.of()}, PrivacyModel(k=2))
    with pytest.raises(DeidentificationError, match="k must be at least 1"):
        PrivacyModel(k=0)


def test_pseudonyms_are_keyed_and_date_shifts_keep_intervals() -> None:
    secret_a, secret_b = b"a" * 32, b"b" * 32
    assert pseudonym(secret_a, "p1") == pseudonym(secret_a, "p1")
    assert pseudonym(secret_a, "p1") != pseudonym(secret_b, "p1")
    assert len(pseudonym(secret_a, "p1")) == 16
    shifts = {date_shift_days(secret_a, f"p{i}") for i in range(50)}
    assert all(-180 <= s <= 180 for s in shifts) and len(shifts) > 30
    with pytest.raises(DeidentificationError):
        pseudonym(b"short", "p1")
