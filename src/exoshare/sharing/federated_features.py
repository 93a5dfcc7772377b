"""A clinic's training arrays for federated training: gait-speed rows from the recovery
predictor's features, encoded with fixed scales so that no clinic needs another's statistics.

A numeric core (no web framework or database). The rows are the recovery predictor's gait-speed
rows (``outcomes.prediction.features`` at each training cutoff, for every later gait-speed
measurement); a missing measure becomes 0 with a 1 in its own indicator column, because a
linear model cannot take NaN and a mean imputed per clinic would differ between clinics.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from exoshare.outcomes.prediction import Patient, features

TRAINING_CUTOFFS = (7.0, 14.0, 21.0, 28.0, 42.0)
# Divisors of features() columns, in its order: the ranges of the measures (FAC 0-5, Berg 0-56,
# TCT and Motricity 0-100), ln(1 + 182 days) for the time terms, 100 years, 1.5 m/s, and
# 0.03 m/s a day for the slope (a fast early recovery).
_SCALES = (5.2, 5.2, 100.0, 1.0, 5.2, 1.5, 5.0, 56.0, 100.0, 100.0, 0.03, 11.0)
_MAY_BE_MISSING = (5, 6, 7, 8, 9, 10)
N_FEATURES = len(_SCALES) + len(_MAY_BE_MISSING)


@dataclass(frozen=True)
class Arrays:
    """One clinic's partition: train and test rows, split by patient."""

    x_train: NDArray[np.float64]
    y_train: NDArray[np.float64]
    x_test: NDArray[np.float64]
    y_test: NDArray[np.float64]
    patients: int


def encode(raw: Sequence[Sequence[float]]) -> NDArray[np.float64]:
    """Scaled features with an indicator column per feature that may be missing."""
    x = np.asarray(raw, dtype=np.float64).reshape(-1, len(_SCALES))
    missing = np.isnan(x[:, _MAY_BE_MISSING]).astype(np.float64)
    scaled = np.nan_to_num(x, nan=0.0) / np.asarray(_SCALES)
    return np.hstack([scaled, missing])


def speed_rows(patient: Patient) -> tuple[list[list[float]], list[float]]:
    """(features, gait speed) for every gait speed measured after each training cutoff."""
    x: list[list[float]] = []
    y: list[float] = []
    for cutoff in TRAINING_CUTOFFS:
        if not any(o[0] <= cutoff for o in patient.observations):
            continue
        for day, measure, value in patient.observations:
            if day > cutoff and measure == "gait_speed_mps":
                x.append(features(patient, cutoff, day))
                y.append(value)
    return x, y


def is_test_patient(patient_id: str, test_share: float) -> bool:
    """A stable, seedless split: the patient's id hashed onto [0, 1)."""
    digest = hashlib.sha256(patient_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < test_share


def clinic_arrays(patients: Sequence[Patient], test_share: float = 0.25) -> Arrays:
    """The partition of one clinic's consented patients."""
    parts: dict[bool, tuple[list[list[float]], list[float]]] = {True: ([], []), False: ([], [])}
    for patient in patients:
        x, y = speed_rows(patient)
        held = is_test_patient(patient.patient_id, test_share)
        parts[held][0].extend(x)
        parts[held][1].extend(y)
    return Arrays(
        x_train=encode(parts[False][0]),
        y_train=np.asarray(parts[False][1], dtype=np.float64),
        x_test=encode(parts[True][0]),
        y_test=np.asarray(parts[True][1], dtype=np.float64),
        patients=len(patients),
    )
