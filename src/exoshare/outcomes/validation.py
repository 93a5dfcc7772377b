"""Validate the recovery prediction on a cohort file the model was not fitted to.

The model is fitted on a fixed-seed synthetic cohort (`cohort.generate_cohort`), never on the
input file. For each patient, observations up to the cutoff are given and every later gait
speed is predicted. Baselines: the last gait speed carried forward, and the training cohort's
mean gait speed by day (the input's own future cannot leak into it).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from sklearn.metrics import brier_score_loss, roc_auc_score

from exoshare.outcomes.cohort import COLUMNS, MEASURES, generate_cohort
from exoshare.outcomes.prediction import Patient, RecoveryPredictor, patients_from_rows

TRAINING_SEED = 20_171_995  # fixed: the bundled model is the same on every run
TRAINING_PATIENTS = 2000


class CohortFileError(ValueError):
    """A cohort file that cannot be read; the message names the row and column."""


@dataclass(frozen=True)
class ValidationResult:
    coverage_80: float
    mae_mps: float
    mae_last_value_mps: float
    mae_mean_curve_mps: float
    fac4_auc: float | None
    fac4_brier: float | None
    patients: int

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "coverage_80": self.coverage_80,
            "mae_mps": self.mae_mps,
            "mae_last_value_mps": self.mae_last_value_mps,
            "mae_mean_curve_mps": self.mae_mean_curve_mps,
            "fac4_auc": self.fac4_auc,
            "fac4_brier": self.fac4_brier,
            "patients": self.patients,
        }


def read_cohort_csv(path: Path) -> list[dict[str, object]]:
    """Read and check a cohort CSV; raise CohortFileError naming the row and column."""
    rows: list[dict[str, object]] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise CohortFileError(f"{path}: row 1 (header): missing column(s) {', '.join(missing)}")
        for line, raw in enumerate(reader, start=2):
            row: dict[str, object] = {}
            for column in COLUMNS:
                text = (raw.get(column) or "").strip()
                if not text:
                    raise CohortFileError(f"{path}: row {line}, column {column}: empty")
                row[column] = text
            if row["measure"] not in MEASURES:
                raise CohortFileError(
                    f"{path}: row {line}, column measure: {row['measure']!r} is not one of "
                    f"{', '.join(MEASURES)}"
                )
            for column in ("age_years", "days_since_onset", "value"):
                try:
                    number = float(str(row[column]))
                except ValueError:
                    raise CohortFileError(
                        f"{path}: row {line}, column {column}: {row[column]!r} is not a number"
                    ) from None
                if not math.isfinite(number) or number < 0:
                    raise CohortFileError(
                        f"{path}: row {line}, column {column}: {row[column]!r} must be a "
                        "finite number >= 0"
                    )
                row[column] = number
            rows.append(row)
    if not rows:
        raise CohortFileError(f"{path}: no observations")
    return rows


@lru_cache(maxsize=1)
def bundled_model() -> tuple[RecoveryPredictor, tuple[np.ndarray, np.ndarray]]:
    """The model fitted on the fixed-seed synthetic cohort, and that cohort's mean speed curve."""
    rows = generate_cohort(TRAINING_PATIENTS, TRAINING_SEED)
    training = patients_from_rows(rows)
    model = RecoveryPredictor().fit(training)
    by_day: dict[float, list[float]] = {}
    for row in rows:
        if row["measure"] == "gait_speed_mps":
            by_day.setdefault(float(row["days_since_onset"]), []).append(float(row["value"]))  # type: ignore[arg-type]
    days = np.array(sorted(by_day))
    means = np.array([np.mean(by_day[d]) for d in days])
    return model, (days, means)


def validate(
    patients: list[Patient],
    cutoff_day: float = 14,
    model: RecoveryPredictor | None = None,
    mean_curve: tuple[np.ndarray, np.ndarray] | None = None,
) -> ValidationResult:
    """Coverage, MAE against the two baselines, and FAC >= 4 AUC and Brier on `patients`."""
    if model is None or mean_curve is None:
        model, mean_curve = bundled_model()
    covered: list[bool] = []
    err: list[float] = []
    err_last: list[float] = []
    err_mean: list[float] = []
    fac_truth: list[int] = []
    fac_prob: list[float] = []
    counted = 0
    for patient in patients:
        given = tuple(o for o in patient.observations if o[0] <= cutoff_day)
        speeds = [o for o in given if o[1] == "gait_speed_mps"]
        future = [o for o in patient.observations if o[0] > cutoff_day]
        targets = [o for o in future if o[1] == "gait_speed_mps"]
        facs = [o for o in future if o[1] == "fac"]
        if not given or not (targets or facs):
            continue
        counted += 1
        known = Patient(patient.patient_id, patient.condition, patient.age_years, given)
        if targets:
            predictions = model.predict(known, [o[0] for o in targets])
            last = speeds[-1][2] if speeds else None
            for obs, pred in zip(targets, predictions, strict=True):
                truth = obs[2]
                covered.append(pred.gait_speed_low_mps <= truth <= pred.gait_speed_high_mps)
                err.append(abs(pred.gait_speed_median_mps - truth))
                curve = float(np.interp(obs[0], mean_curve[0], mean_curve[1]))
                err_mean.append(abs(curve - truth))
                err_last.append(abs((last if last is not None else curve) - truth))
        if facs:
            last_fac = facs[-1]
            fac_truth.append(int(last_fac[2] >= 4))
            fac_prob.append(model.predict(known, [last_fac[0]])[0].p_fac4)
    if not err:
        raise CohortFileError(f"no gait_speed_mps observation after day {cutoff_day:g}")
    auc = float(roc_auc_score(fac_truth, fac_prob)) if len(set(fac_truth)) == 2 else None
    brier = float(brier_score_loss(fac_truth, fac_prob)) if fac_truth else None
    return ValidationResult(
        coverage_80=float(np.mean(covered)),
        mae_mps=float(np.mean(err)),
        mae_last_value_mps=float(np.mean(err_last)),
        mae_mean_curve_mps=float(np.mean(err_mean)),
        fac4_auc=auc,
        fac4_brier=brier,
        patients=counted,
    )


def validate_file(path: Path, cutoff_day: float = 14) -> ValidationResult:
    """Read, check and validate a cohort file."""
    return validate(patients_from_rows(read_cohort_csv(path)), cutoff_day)
