"""Request and response shapes of the outcomes API, and the enums other capabilities use."""

from __future__ import annotations

import enum
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat

from exoshare.bounds import CalendarDate
from exoshare.outcomes.instruments import InstrumentCode, Judgment, Measure, Population


class WalkingAid(enum.StrEnum):
    """The aid a test was done with (the exoskeleton is recorded on its own)."""

    none = "none"
    cane = "cane"
    quad_cane = "quad_cane"
    crutches = "crutches"
    walker = "walker"
    rollator = "rollator"
    parallel_bars = "parallel_bars"
    orthosis = "orthosis"
    physical_assistance = "physical_assistance"


class GoalStatus(enum.StrEnum):
    met = "met"
    on_track = "on_track"
    behind = "behind"
    missed = "missed"


class ForecastState(enum.StrEnum):
    """Whether a prediction could be made, and if not, why."""

    ready = "ready"
    not_stroke = "not_stroke"
    no_onset_date = "no_onset_date"
    no_measurement = "no_measurement"
    beyond_horizon = "beyond_horizon"
    """The latest measurement is past week 26, the end of what the model predicts."""


class ItemOut(BaseModel):
    key: str
    label: str
    low: float
    high: float
    unit: str
    choices: list[int]
    required: bool


class MdcBandOut(BaseModel):
    below: float | None
    """The band covers baseline values below this one (None: no upper bound)."""
    mdc: float


class ThresholdOut(BaseModel):
    population: Population
    mcid: float | None
    mdc: float | None
    mdc_bands: list[MdcBandOut]
    """An MDC that depends on the baseline value, when the source gives one per band."""
    citation: str


class MeasureOut(BaseModel):
    measure: Measure
    label: str
    unit: str
    low: float
    high: float
    higher_is_better: bool
    loinc: str | None
    device_derived: bool
    thresholds: list[ThresholdOut]


class InstrumentOut(BaseModel):
    code: InstrumentCode
    name: str
    abbreviation: str
    reference: str
    items: list[ItemOut]
    measures: list[MeasureOut]


class MeasurementCreate(BaseModel):
    instrument: InstrumentCode
    items: dict[str, FiniteFloat] = Field(
        description="Item values by key (see GET /api/v1/outcomes/instruments); the total is "
        "computed from them"
    )
    measured_on: CalendarDate
    with_exoskeleton: bool = False
    walking_aid: WalkingAid = WalkingAid.none
    note: str | None = Field(default=None, max_length=2000)


class MeasurementVoid(BaseModel):
    reason: str = Field(min_length=3, max_length=1000)


class MeasurementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    patient_id: str
    instrument: InstrumentCode
    items: dict[str, float]
    scores: dict[str, float]
    measured_on: date
    with_exoskeleton: bool
    walking_aid: WalkingAid
    note: str | None
    recorded_by_id: str | None
    voided: bool
    created_at: datetime


class TimelinePointOut(BaseModel):
    measured_on: date
    value: float
    device_derived: bool
    with_exoskeleton: bool
    walking_aid: WalkingAid | None
    source_id: str
    """The measurement's id, or the telemetry session's for a device-derived value."""
    change_from_first: float | None
    judgment_from_first: Judgment | None
    change_from_previous: float | None
    judgment_from_previous: Judgment | None


class TimelineSeriesOut(BaseModel):
    measure: Measure
    label: str
    unit: str
    device_derived: bool
    population: Population
    mcid: float | None
    mdc: float | None
    citation: str | None
    points: list[TimelinePointOut]


class GoalCreate(BaseModel):
    measure: Measure
    target_value: FiniteFloat
    target_date: CalendarDate
    note: str | None = Field(default=None, max_length=1000)


class GoalOut(BaseModel):
    id: str
    patient_id: str
    measure: Measure
    target_value: float
    target_date: date
    start_date: date
    baseline_value: float | None
    latest_value: float | None
    status: GoalStatus
    note: str | None
    voided: bool
    created_at: datetime


class GoalVoid(BaseModel):
    reason: str = Field(min_length=3, max_length=1000)


class HorizonOut(BaseModel):
    weeks_after_onset: int
    gait_speed_median_mps: float | None
    gait_speed_low_mps: float | None
    gait_speed_high_mps: float | None
    p_fac4: float | None
    passed: bool
    """The horizon lies before the latest measurement: nothing left to predict."""


class ForecastOut(BaseModel):
    patient_id: str
    state: ForecastState
    onset_date: date | None
    days_since_onset_of_latest: float | None
    observations_used: int
    horizons: list[HorizonOut]
    independent_walking_week: int | None
    """The first week after onset at which P(FAC >= 4) reaches one half, if any by week 26."""
