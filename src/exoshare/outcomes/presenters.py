"""Outcomes as the API answers them: the catalogue, timeline series, goals and the forecast."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from exoshare.outcomes.forecast import Forecast
from exoshare.outcomes.goals import TrackedGoal
from exoshare.outcomes.instruments import MEASURES, Instrument, MeasureSpec
from exoshare.outcomes.measures import Series
from exoshare.outcomes.schemas import (
    ForecastOut,
    GoalOut,
    HorizonOut,
    InstrumentOut,
    ItemOut,
    MdcBandOut,
    MeasureOut,
    ThresholdOut,
    TimelinePointOut,
    TimelineSeriesOut,
)

if TYPE_CHECKING:
    from exoshare.patients.models import Patient


def measure_out(spec: MeasureSpec) -> MeasureOut:
    return MeasureOut(
        measure=spec.measure,
        label=spec.label,
        unit=spec.unit,
        low=spec.low,
        high=spec.high,
        higher_is_better=spec.higher_is_better,
        loinc=spec.loinc,
        device_derived=spec.device_derived,
        thresholds=[
            ThresholdOut(
                population=t.population,
                mcid=t.mcid,
                mdc=t.mdc,
                mdc_bands=[
                    MdcBandOut(below=upper if math.isfinite(upper) else None, mdc=mdc)
                    for upper, mdc in t.mdc_bands
                ],
                citation=t.citation,
            )
            for t in spec.thresholds
        ],
    )


def instrument_out(instrument: Instrument) -> InstrumentOut:
    return InstrumentOut(
        code=instrument.code,
        name=instrument.name,
        abbreviation=instrument.abbreviation,
        reference=instrument.reference,
        items=[
            ItemOut(
                key=i.key,
                label=i.label,
                low=i.low,
                high=i.high,
                unit=i.unit,
                choices=list(i.choices),
                required=i.required,
            )
            for i in instrument.items
        ],
        measures=[measure_out(MEASURES[m]) for m in instrument.measures],
    )


def series_out(series: Series) -> TimelineSeriesOut:
    spec = MEASURES[series.measure]
    threshold = spec.threshold_for(series.population)
    return TimelineSeriesOut(
        measure=series.measure,
        label=spec.label,
        unit=spec.unit,
        device_derived=spec.device_derived,
        population=series.population,
        mcid=threshold.mcid if threshold else None,
        mdc=threshold.mdc_at(series.first) if threshold else None,
        citation=threshold.citation if threshold else None,
        points=[
            TimelinePointOut(
                measured_on=p.observation.measured_on,
                value=p.observation.value,
                device_derived=p.observation.device_derived,
                with_exoskeleton=p.observation.with_exoskeleton,
                walking_aid=p.observation.walking_aid,
                source_id=p.observation.source_id,
                change_from_first=p.change_from_first,
                judgment_from_first=p.judgment_from_first,
                change_from_previous=p.change_from_previous,
                judgment_from_previous=p.judgment_from_previous,
            )
            for p in series.points
        ],
    )


def goal_out(tracked: TrackedGoal) -> GoalOut:
    goal = tracked.goal
    return GoalOut(
        id=goal.id,
        patient_id=goal.patient_id,
        measure=goal.measure,
        target_value=goal.target_value,
        target_date=goal.target_date,
        start_date=goal.start_date,
        baseline_value=goal.baseline_value,
        latest_value=tracked.latest_value,
        status=tracked.status,
        note=goal.note,
        voided=goal.voided,
        created_at=goal.created_at,
    )


def forecast_out(patient: Patient, forecast: Forecast) -> ForecastOut:
    return ForecastOut(
        patient_id=patient.id,
        state=forecast.state,
        onset_date=patient.onset_date,
        days_since_onset_of_latest=forecast.latest_day,
        observations_used=forecast.observations_used,
        horizons=[
            HorizonOut(
                weeks_after_onset=h.weeks_after_onset,
                gait_speed_median_mps=h.prediction.gait_speed_median_mps if h.prediction else None,
                gait_speed_low_mps=h.prediction.gait_speed_low_mps if h.prediction else None,
                gait_speed_high_mps=h.prediction.gait_speed_high_mps if h.prediction else None,
                p_fac4=h.prediction.p_fac4 if h.prediction else None,
                passed=h.prediction is None,
            )
            for h in forecast.horizons
        ],
        independent_walking_week=forecast.independent_walking_week,
    )
