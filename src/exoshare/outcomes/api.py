"""HTTP routes of outcomes: instruments, measurements, the timeline, goals and the prediction."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from exoshare.auth.gate import CurrentPrincipal
from exoshare.deps import DbSession
from exoshare.outcomes import goals, measures
from exoshare.outcomes.forecast import patient_forecast
from exoshare.outcomes.instruments import INSTRUMENTS
from exoshare.outcomes.presenters import (
    forecast_out,
    goal_out,
    instrument_out,
    series_out,
)
from exoshare.outcomes.schemas import (
    ForecastOut,
    GoalCreate,
    GoalOut,
    GoalVoid,
    InstrumentOut,
    MeasurementCreate,
    MeasurementOut,
    MeasurementVoid,
    TimelineSeriesOut,
)
from exoshare.runtime import runtime_of

router = APIRouter(prefix="/api/v1/outcomes", tags=["outcomes"])


@router.get("/instruments", response_model=list[InstrumentOut])
def list_instruments(principal: CurrentPrincipal) -> list[InstrumentOut]:
    """The outcome-measure catalogue: items, ranges, units, MDC/MCID with citations, LOINC."""
    return [instrument_out(i) for i in INSTRUMENTS.values()]


@router.get("/patients/{patient_id}/measurements", response_model=list[MeasurementOut])
def list_measurements(
    patient_id: str, session: DbSession, principal: CurrentPrincipal
) -> list[MeasurementOut]:
    """The patient's measurements in force (not voided), oldest first."""
    _, rows = measures.measurements_of(session, principal, patient_id)
    return [MeasurementOut.model_validate(r) for r in rows]


@router.post(
    "/patients/{patient_id}/measurements",
    response_model=MeasurementOut,
    status_code=status.HTTP_201_CREATED,
)
def record_measurement(
    patient_id: str, body: MeasurementCreate, session: DbSession, principal: CurrentPrincipal
) -> MeasurementOut:
    """Record one administration by its items; the scores are computed, never typed."""
    row = measures.record_measurement(session, principal, patient_id, **body.model_dump())
    return MeasurementOut.model_validate(row)


@router.post("/measurements/{measurement_id}/void", response_model=MeasurementOut)
def void_measurement(
    measurement_id: str, body: MeasurementVoid, session: DbSession, principal: CurrentPrincipal
) -> MeasurementOut:
    """Void a measurement: it leaves the timeline but stays in the database with the reason."""
    row = measures.void_measurement(session, principal, measurement_id, body.reason)
    return MeasurementOut.model_validate(row)


@router.get("/patients/{patient_id}/timeline", response_model=list[TimelineSeriesOut])
def timeline(
    patient_id: str, session: DbSession, principal: CurrentPrincipal
) -> list[TimelineSeriesOut]:
    """Every measure over time, entered and device-derived, each point judged against the first
    and the previous one with the population's MDC and MCID."""
    _, series = measures.timeline(session, principal, patient_id)
    return [series_out(s) for s in series]


@router.get("/patients/{patient_id}/goals", response_model=list[GoalOut])
def list_goals(patient_id: str, session: DbSession, principal: CurrentPrincipal) -> list[GoalOut]:
    """The patient's goals with their status today (met, on track, behind, missed)."""
    return [goal_out(g) for g in goals.goals_of(session, principal, patient_id)]


@router.post(
    "/patients/{patient_id}/goals", response_model=GoalOut, status_code=status.HTTP_201_CREATED
)
def create_goal(
    patient_id: str, body: GoalCreate, session: DbSession, principal: CurrentPrincipal
) -> GoalOut:
    goal = goals.create_goal(session, principal, patient_id, **body.model_dump())
    return goal_out(goals.tracked(session, principal, goal))


@router.post("/goals/{goal_id}/void", response_model=GoalOut)
def void_goal(
    goal_id: str, body: GoalVoid, session: DbSession, principal: CurrentPrincipal
) -> GoalOut:
    """Withdraw a goal: it stays in the database with the reason."""
    goal = goals.void_goal(session, principal, goal_id, body.reason)
    return goal_out(goals.tracked(session, principal, goal))


@router.get("/patients/{patient_id}/prediction", response_model=ForecastOut)
def prediction(
    patient_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> ForecastOut:
    """Predicted comfortable gait speed (median, 80 % interval) and P(FAC >= 4) at 6, 12 and 26
    weeks after onset, from the measurements done without the exoskeleton (stroke only)."""
    training = runtime_of(request).settings.prediction_training_patients
    patient, forecast = patient_forecast(session, principal, patient_id, training)
    return forecast_out(patient, forecast)
