"""Recovery prediction on synthetic cohorts the model was not fitted to (real values)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exoshare.cli import app
from exoshare.outcomes.cohort import generate_cohort, write_cohort_csv
from exoshare.outcomes.prediction import Patient, RecoveryPredictor, patients_from_rows
from exoshare.outcomes.validation import (
    TRAINING_SEED,
    CohortFileError,
    read_cohort_csv,
    validate,
)

UNSEEN_SEED = 4242  # not the training seed


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cohort") / "cohort.csv"
    write_cohort_csv(generate_cohort(250, UNSEEN_SEED), path)
    return path


def test_the_cohort_is_deterministic_from_its_seed() -> None:
    assert generate_cohort(5, 7) == generate_cohort(5, 7)
    assert generate_cohort(5, 7) != generate_cohort(5, 8)
    assert UNSEEN_SEED != TRAINING_SEED


def test_a_fixture_patient_gets_an_ordered_interval_and_a_probability() -> None:
    model = RecoveryPredictor().fit(patients_from_rows(generate_cohort(300, 11)))
    patient = Patient(
        "fixture",
        "ischaemic_stroke",
        70,
        (
            (7, "gait_speed_mps", 0.20),
            (7, "fac", 2),
            (7, "berg", 20),
            (7, "tct", 48),
            (7, "motricity_leg", 45),
            (14, "gait_speed_mps", 0.35),
            (14, "fac", 3),
            (14, "berg", 30),
            (14, "tct", 61),
            (14, "motricity_leg", 55),
        ),
    )
    at_6, at_12, at_26 = model.predict(patient, [42, 84, 182])
    for p in (at_6, at_12, at_26):
        assert 0 <= p.gait_speed_low_mps <= p.gait_speed_median_mps <= p.gait_speed_high_mps
        assert 0 < p.p_fac4 < 1
        # an 80 % interval for a patient walking 0.35 m/s at two weeks is informative
        assert p.gait_speed_high_mps - p.gait_speed_low_mps < 0.8
    assert at_26.gait_speed_median_mps > 0.35  # recovery continues after two weeks
    weaker = Patient(
        "weaker",
        "ischaemic_stroke",
        70,
        tuple(
            (d, m, 0.0 if m == "gait_speed_mps" else (0 if m == "fac" else 5))
            for d, m, _ in patient.observations
        ),
    )
    assert model.predict(weaker, [84])[0].p_fac4 < at_12.p_fac4


def test_validation_on_an_unseen_cohort_is_calibrated_and_beats_both_baselines(
    cohort_file: Path,
) -> None:
    result = validate(patients_from_rows(read_cohort_csv(cohort_file)), cutoff_day=14)
    assert result.patients == 250
    assert 0.75 <= result.coverage_80 <= 0.85
    assert result.mae_mps < result.mae_last_value_mps
    assert result.mae_mps < result.mae_mean_curve_mps
    assert result.fac4_auc is not None and result.fac4_auc > 0.8
    assert result.fac4_brier is not None and result.fac4_brier < 0.2


def test_the_command_prints_exactly_the_json_keys(cohort_file: Path) -> None:
    out = CliRunner().invoke(
        app, ["outcomes", "validate-prediction", "--cohort", str(cohort_file), "--json"]
    )
    assert out.exit_code == 0, out.output
    figures = json.loads(out.stdout)
    assert set(figures) == {
        "coverage_80",
        "mae_mps",
        "mae_last_value_mps",
        "mae_mean_curve_mps",
        "fac4_auc",
        "fac4_brier",
        "patients",
    }
    assert figures["patients"] == 250


HEADER = "patient_id,condition,age_years,sex,days_since_onset,measure,value\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (HEADER + "p1,ischaemic_stroke,70,F,7,gait_speed_mps,fast\n", "row 2, column value"),
        (HEADER + "p1,ischaemic_stroke,70,F,7,cadence,1.0\n", "row 2, column measure"),
        (
            HEADER + "p1,ischaemic_stroke,70,F,7,fac,3\np1,ischaemic_stroke,,F,9,fac,3\n",
            "row 3, column age_years",
        ),
        (HEADER + "p1,ischaemic_stroke,70,F,-3,fac,3\n", "row 2, column days_since_onset"),
        (
            "patient_id,condition,sex,days_since_onset,measure,value\n",
            "missing column(s) age_years",
        ),
    ],
)
def test_a_bad_file_is_refused_naming_the_row_and_column(
    tmp_path: Path, body: str, expected: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(CohortFileError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        read_cohort_csv(path)
    out = CliRunner().invoke(app, ["outcomes", "validate-prediction", "--cohort", str(path)])
    assert out.exit_code == 2
    assert expected in " ".join(out.output.split())
