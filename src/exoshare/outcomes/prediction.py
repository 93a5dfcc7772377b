"""Recovery prediction after stroke: gait speed (median, 80 % interval) and P(FAC >= 4).

A pure numeric core (no web framework or database). gaitmap-style: configure, `fit(cohort)`,
then `predict(observations, days_since_onset)`.

Models (scikit-learn, no hand-written fitting):
- gait speed: HistGradientBoosting quantile regressors at 0.1, 0.5 and 0.9, then conformalised
  (CQR, Romano et al., NeurIPS 2019) on patients held out of the fit;
- FAC >= 4: a logistic regression on the same standardised features.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cache

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import ThreadpoolController

# Observation: (days_since_onset, measure, value)
Observation = tuple[float, str, float]


@dataclass(frozen=True)
class Patient:
    """One patient's baseline facts and observations (any order)."""

    patient_id: str
    condition: str
    age_years: float
    observations: tuple[Observation, ...]


@dataclass(frozen=True)
class Prediction:
    """The prediction at one day after onset."""

    days_since_onset: float
    gait_speed_median_mps: float
    gait_speed_low_mps: float  # 10th centile (80 % interval, conformalised)
    gait_speed_high_mps: float  # 90th centile
    p_fac4: float


_MEASURES = ("gait_speed_mps", "fac", "berg", "tct", "motricity_leg")


def features(patient: Patient, cutoff_day: float, target_day: float) -> list[float]:
    """The feature vector from what is known up to `cutoff_day`, for `target_day`."""
    known = [o for o in patient.observations if o[0] <= cutoff_day]
    row: list[float] = [
        float(np.log1p(target_day)),
        float(np.log1p(target_day) - np.log1p(cutoff_day)),
        float(patient.age_years),
        1.0 if "haemorrhag" in patient.condition else 0.0,
    ]
    last_day = max((o[0] for o in known), default=0.0)
    row.append(float(np.log1p(target_day) - np.log1p(last_day)))
    for measure in _MEASURES:
        series = sorted((o[0], o[2]) for o in known if o[1] == measure)
        row.append(series[-1][1] if series else np.nan)
    speeds = sorted((o[0], o[2]) for o in known if o[1] == "gait_speed_mps")
    if len(speeds) >= 2 and speeds[-1][0] > speeds[0][0]:
        days = np.array([s[0] for s in speeds])
        values = np.array([s[1] for s in speeds])
        slope = float(np.polyfit(days, values, 1)[0])  # m/s per day, least squares line
    else:
        slope = np.nan
    row.append(slope)
    row.append(float(len(speeds)))
    return row


@cache
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()


def _one_thread() -> AbstractContextManager[object]:
    """One OpenMP thread for the boosted trees, in fitting and in every prediction: on a small
    shared machine their threads spin against each other and against the web server's own work
    (measured: fitting 8 s with one thread, 45 s with two under load; validating 250 patients
    13 s alone, 64 s beside another busy process). The model is the same either way."""
    return _threadpools().limit(limits=1, user_api="openmp")


class RecoveryPredictor:
    """Predict comfortable gait speed and independent walking from a patient's first weeks."""

    def __init__(
        self,
        coverage: float = 0.8,
        calibration_share: float = 0.3,
        training_cutoffs: Sequence[float] = (7, 10, 14, 21, 28, 42),
        random_state: int = 0,
    ) -> None:
        self.coverage = coverage
        self.calibration_share = calibration_share
        self.training_cutoffs = tuple(training_cutoffs)
        self.random_state = random_state

    def _rows(
        self, cohort: Iterable[Patient]
    ) -> tuple[list[list[float]], list[float], list[list[float]], list[int], list[int]]:
        x_speed: list[list[float]] = []
        y_speed: list[float] = []
        x_fac: list[list[float]] = []
        y_fac: list[int] = []
        groups: list[int] = []
        self._cutoffs: list[float] = []
        for index, patient in enumerate(cohort):
            for cutoff in self.training_cutoffs:
                if not any(o[0] <= cutoff for o in patient.observations):
                    continue
                for day, measure, value in patient.observations:
                    if day <= cutoff:
                        continue
                    if measure == "gait_speed_mps":
                        x_speed.append(features(patient, cutoff, day))
                        self._cutoffs.append(cutoff)
                        y_speed.append(value)
                        groups.append(index)
                    elif measure == "fac":
                        x_fac.append(features(patient, cutoff, day))
                        y_fac.append(int(value >= 4))
        return x_speed, y_speed, x_fac, y_fac, groups

    def fit(self, cohort: Sequence[Patient]) -> RecoveryPredictor:
        """Fit on `cohort`; returns self."""
        with _one_thread():
            return self._fit(cohort)

    def _fit(self, cohort: Sequence[Patient]) -> RecoveryPredictor:
        x, y, x_fac, y_fac, groups = self._rows(cohort)
        x_arr, y_arr, g_arr = np.asarray(x), np.asarray(y), np.asarray(groups)
        # The interval is calibrated on patients NOT used to fit the quantile models: quantile
        # regressors are over-confident on their own training data (the boosted trees fit it
        # closely), so scores measured there would under-cover on new patients. Splitting by
        # patient, not by row, keeps one patient's correlated visits on one side.
        rng = np.random.default_rng(self.random_state)
        patients = np.unique(g_arr)
        held = rng.choice(
            patients, size=max(1, int(len(patients) * self.calibration_share)), replace=False
        )
        calib = np.isin(g_arr, held)
        alpha = 1.0 - self.coverage
        self.models_: dict[float, HistGradientBoostingRegressor] = {}
        for q in (alpha / 2, 0.5, 1 - alpha / 2):
            model = HistGradientBoostingRegressor(
                loss="quantile",
                quantile=q,
                max_iter=200,
                learning_rate=0.05,
                max_leaf_nodes=15,
                min_samples_leaf=40,
                random_state=self.random_state,
            )
            self.models_[q] = model.fit(x_arr[~calib], y_arr[~calib])
        low = self.models_[alpha / 2].predict(x_arr[calib])
        high = self.models_[1 - alpha / 2].predict(x_arr[calib])
        scores = np.maximum(low - y_arr[calib], y_arr[calib] - high)
        # One margin per training cutoff (Mondrian conformal): how far ahead the model looks
        # changes how wrong its raw quantiles are, so a pooled margin over-covers at some
        # cutoffs and under-covers at others.
        cut_calib = np.asarray(self._cutoffs)[calib]
        self.conformal_margins_: dict[float, float] = {}
        for cutoff in self.training_cutoffs:
            s_cut = scores[cut_calib == cutoff]
            if len(s_cut) == 0:
                continue
            n = len(s_cut)
            level = min(1.0, np.ceil((n + 1) * self.coverage) / n)
            self.conformal_margins_[cutoff] = float(np.quantile(s_cut, level, method="higher"))
        self.alpha_ = alpha
        fac_x = np.nan_to_num(np.asarray(x_fac), nan=-1.0)
        self.fac_model_ = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        self.fac_model_.fit(fac_x, np.asarray(y_fac))
        return self

    def predict(
        self, patient_observations: Patient, days_since_onset: Sequence[float]
    ) -> list[Prediction]:
        """Predictions at each day, from every observation the patient has (the cutoff is the
        latest observation day before the first day asked)."""
        days = [float(d) for d in days_since_onset]
        if not days:
            return []
        cutoff = min(max((o[0] for o in patient_observations.observations), default=0.0), min(days))
        x = np.asarray([features(patient_observations, cutoff, d) for d in days])
        with _one_thread():
            return self._predict(x, days, cutoff)

    def _predict(self, x: np.ndarray, days: list[float], cutoff: float) -> list[Prediction]:
        usable = [c for c in self.conformal_margins_ if c <= cutoff]
        margin = self.conformal_margins_[max(usable) if usable else min(self.conformal_margins_)]
        low = self.models_[self.alpha_ / 2].predict(x) - margin
        mid = self.models_[0.5].predict(x)
        high = self.models_[1 - self.alpha_ / 2].predict(x) + margin
        p = self.fac_model_.predict_proba(np.nan_to_num(x, nan=-1.0))[:, 1]
        result = []
        for i, day in enumerate(days):
            lo, md, hi = sorted((low[i], mid[i], high[i]))
            result.append(
                Prediction(
                    days_since_onset=day,
                    gait_speed_median_mps=max(0.0, float(md)),
                    gait_speed_low_mps=max(0.0, float(lo)),
                    gait_speed_high_mps=max(0.0, float(hi)),
                    p_fac4=float(p[i]),
                )
            )
        return result


def patients_from_rows(rows: Iterable[Mapping[str, object]]) -> list[Patient]:
    """Group cohort rows (dicts with the CSV's columns, values already typed) into patients."""
    facts: dict[str, tuple[str, float]] = {}
    obs: dict[str, list[Observation]] = {}
    for row in rows:
        pid = str(row["patient_id"])
        facts.setdefault(pid, (str(row["condition"]), float(row["age_years"])))  # type: ignore[arg-type]
        obs.setdefault(pid, []).append(
            (float(row["days_since_onset"]), str(row["measure"]), float(row["value"]))  # type: ignore[arg-type]
        )
    return [Patient(pid, facts[pid][0], facts[pid][1], tuple(sorted(obs[pid]))) for pid in facts]
