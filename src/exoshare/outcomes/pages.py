"""HTML routes of outcomes: a patient's timeline, goals and prediction, and the entry forms."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from exoshare.auth.gate import CurrentPrincipal
from exoshare.auth.scope import Permission
from exoshare.deps import DbSession
from exoshare.errors import N_, InvalidInput, NotFound
from exoshare.outcomes import goals, measures
from exoshare.outcomes.charts import fan_chart, timeline_chart
from exoshare.outcomes.forecast import Forecast, patient_forecast
from exoshare.outcomes.instruments import INSTRUMENTS, MEASURES, InstrumentCode, Judgment, Measure
from exoshare.outcomes.schemas import ForecastState, WalkingAid
from exoshare.patients import service as patients_service
from exoshare.runtime import runtime_of
from exoshare.web import labels
from exoshare.web.render import render, request_gettext, request_locale

router = APIRouter(include_in_schema=False)

LABELS = {
    "walking_aid": labels.WALKING_AID,
    "goal_status": labels.GOAL_STATUS,
    "judgment": labels.JUDGMENT,
    "population": labels.POPULATION,
}
# Measures a patient reads about in plain words, with how to say a change of each.
PLAIN_MEASURES = {
    Measure.ten_mwt_comfortable_mps: N_("Your walking speed"),
    Measure.six_mwt_m: N_("The distance you walk in six minutes"),
    Measure.berg: N_("Your balance score"),
    Measure.fac: N_("How independently you walk"),
    Measure.wisci_ii: N_("Your walking level"),
}


def _own(principal: Any, patient: Any) -> bool:
    return patient.user_id is not None and patient.user_id == principal.user_id


def _series_charts(series: list[measures.Series], gettext: Any) -> list[dict[str, Any]]:
    shown = []
    for s in series:
        spec = MEASURES[s.measure]
        threshold = spec.threshold_for(s.population)
        mdc = threshold.mdc_at(s.first) if threshold else None
        chart = timeline_chart(
            [
                (p.observation.measured_on, p.observation.value, spec.device_derived)
                for p in s.points
            ],
            title=gettext(spec.label),
            y_label=gettext(spec.unit) if spec.unit else gettext("score"),
            x_label=gettext("days since the first measurement"),
            y_range=(spec.low, spec.high),
            first_value=s.first,
            mdc=mdc,
            mcid=threshold.mcid if threshold else None,
            higher_is_better=spec.higher_is_better,
        )
        shown.append(
            {"series": s, "spec": spec, "threshold": threshold, "mdc": mdc, "chart": chart}
        )
    return shown


def _plain_timeline(series: list[measures.Series], gettext: Any, locale: str) -> list[str]:
    words = []
    phrases = {
        Judgment.improved_beyond_mcid: gettext(
            "a change big enough to make a difference in daily life"
        ),
        Judgment.improved: gettext("a real improvement, more than a repeat test can vary"),
        Judgment.within_error: gettext("about the same: within what a repeat test can vary"),
        Judgment.below_mcid: gettext("a small change"),
        Judgment.declined: gettext("lower than at the start; talk about it with your therapist"),
    }
    for s in series:
        if s.measure not in PLAIN_MEASURES or len(s.points) < 2:
            continue
        spec = MEASURES[s.measure]
        last = s.latest
        pattern = "0." + "0" * spec.digits if spec.digits else "0"
        sentence = gettext("%(what)s went from %(first)s to %(last)s %(unit)s since %(day)s") % {
            "what": gettext(PLAIN_MEASURES[s.measure]),
            "first": format_decimal(s.first, pattern, locale=locale),
            "last": format_decimal(last.observation.value, pattern, locale=locale),
            "unit": gettext(spec.unit) if spec.unit else "",
            "day": format_date(s.points[0].observation.measured_on, "long", locale=locale),
        }
        judged = last.judgment_from_first
        words.append(f"{sentence}: {phrases[judged]}." if judged in phrases else f"{sentence}.")
    if not words:
        words.append(gettext("Your therapist has not recorded two tests of the same kind yet."))
    return words


@router.get("/patients/{patient_id}/outcomes", response_class=HTMLResponse)
def outcomes_page(
    patient_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse:
    """The patient's measures over time with MDC/MCID bands, goals and (loaded after) the
    prediction; a patient reading their own record gets it in plain words."""
    patient, series = measures.timeline(session, principal, patient_id)
    gettext = request_gettext(request, principal)
    own = _own(principal, patient)
    return render(
        request,
        "outcomes/patient.html",
        principal,
        patient=patient,
        own=own,
        may_write=principal.covers(Permission.patients_write, patient.clinic.path),
        charts=_series_charts(series, gettext),
        words=_plain_timeline(series, gettext, request_locale(request, principal)) if own else [],
        goals=goals.goals_of(session, principal, patient.id),
        instruments=list(INSTRUMENTS.values()),
        goal_measures=[m for m in Measure if not MEASURES[m].device_derived],
        measures=MEASURES,
        today=datetime.now(UTC).date(),
        labels=LABELS,
    )


@router.get("/my/outcomes", response_class=HTMLResponse)
def my_outcomes(request: Request, session: DbSession, principal: CurrentPrincipal) -> HTMLResponse:
    """A patient's own outcomes, in plain words."""
    own = patients_service.patient_of_user(session, principal.user_id)
    if own is None:
        raise NotFound("no patient record is linked to your account")
    return outcomes_page(own.id, request, session, principal)


def _prediction_words(forecast: Forecast, gettext: Any) -> list[str]:
    if forecast.state is ForecastState.not_stroke:
        return [gettext("Recovery predictions are made for stroke only.")]
    if forecast.state is ForecastState.no_onset_date:
        return [gettext("A prediction needs the date the condition began.")]
    if forecast.state is ForecastState.no_measurement:
        return [gettext("A prediction appears after the first walking or balance test.")]
    if forecast.state is ForecastState.beyond_horizon:
        return [
            gettext("The prediction covers the first 26 weeks after onset; that time has passed.")
        ]
    words = []
    if forecast.already_independent:
        words.append(gettext("You already walk on your own."))
    elif forecast.independent_walking_week is not None:
        words.append(
            gettext(
                "Most people whose first weeks looked like yours walked on their own by "
                "week %(week)d."
            )
            % {"week": forecast.independent_walking_week}
        )
    else:
        words.append(
            gettext(
                "Fewer than half of the people whose first weeks looked like yours walked on "
                "their own by week 26; many keep improving after that."
            )
        )
    ahead = [h for h in forecast.horizons if h.prediction is not None]
    if ahead:
        h = ahead[-1]
        assert h.prediction is not None
        words.append(
            gettext(
                "By week %(week)d, people like you typically walk about %(median).1f metres per "
                "second; 8 in 10 walk between %(low).1f and %(high).1f."
            )
            % {
                "week": h.weeks_after_onset,
                "median": h.prediction.gait_speed_median_mps,
                "low": h.prediction.gait_speed_low_mps,
                "high": h.prediction.gait_speed_high_mps,
            }
        )
    return words


@router.get("/patients/{patient_id}/outcomes/prediction", response_class=HTMLResponse)
def prediction_fragment(
    patient_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse:
    """The prediction card, fetched after the page so the page never waits for the model."""
    training = runtime_of(request).settings.prediction_training_patients
    patient, forecast = patient_forecast(session, principal, patient_id, training)
    gettext = request_gettext(request, principal)
    chart = fan_chart(
        [
            (
                p.days_since_onset,
                p.gait_speed_low_mps,
                p.gait_speed_median_mps,
                p.gait_speed_high_mps,
            )
            for p in forecast.fan
        ],
        [(day, value) for day, name, value in forecast.observed if name == "gait_speed_mps"],
        title=gettext(
            "Predicted comfortable gait speed (80 % prediction interval) and measured speeds"
        ),
        y_label=gettext("m/s"),
        x_label=gettext("weeks after onset"),
    )
    return render(
        request,
        "outcomes/_prediction.html",
        principal,
        patient=patient,
        forecast=forecast,
        chart=chart if forecast.state is ForecastState.ready else "",
        words=_prediction_words(forecast, gettext),
        own=_own(principal, patient),
    )


def _entry(
    request: Request,
    principal: Any,
    patient: Any,
    instrument: InstrumentCode,
    values: dict[str, str],
    error: InvalidInput | None = None,
) -> HTMLResponse:
    return render(
        request,
        "outcomes/entry.html",
        principal,
        status_code=422 if error else 200,
        patient=patient,
        instrument=INSTRUMENTS[instrument],
        values=values,
        error=error,
        aids=list(WalkingAid),
        today=datetime.now(UTC).date(),
        labels=LABELS,
    )


@router.get("/patients/{patient_id}/outcomes/record/{instrument}", response_class=HTMLResponse)
def entry_form(
    patient_id: str,
    instrument: InstrumentCode,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
) -> HTMLResponse:
    """A tablet-friendly form for one instrument: big choices, item-level instruments one item
    at a time."""
    patient = measures.writable_patient(session, principal, patient_id)
    return _entry(request, principal, patient, instrument, {})


@router.post("/patients/{patient_id}/outcomes/record/{instrument}", response_model=None)
async def record_from_form(
    patient_id: str,
    instrument: InstrumentCode,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
) -> HTMLResponse | RedirectResponse:
    """Score and keep the form's items, then show the timeline; a bad entry comes back with
    the form, the values kept and the problem named."""
    form = await request.form()
    values = {key: str(value) for key, value in form.items() if key != "csrf_token"}
    patient = measures.writable_patient(session, principal, patient_id)
    item_keys = [i.key for i in INSTRUMENTS[instrument].items]
    try:
        try:
            measured_on = date.fromisoformat(values.get("measured_on", ""))
        except ValueError:
            raise InvalidInput.worded(
                N_("measured_on: give the day of the test as YYYY-MM-DD"),
                also={"field": "measured_on"},
            ) from None
        try:
            aid = WalkingAid(values.get("walking_aid") or "none")
        except ValueError:
            raise InvalidInput.worded(
                N_("walking_aid: choose one from the list"), also={"field": "walking_aid"}
            ) from None
        measures.record_measurement(
            session,
            principal,
            patient.id,
            instrument,
            {key: values[key] for key in item_keys if values.get(key, "") != ""},
            measured_on,
            with_exoskeleton=values.get("with_exoskeleton") == "on",
            walking_aid=aid,
            note=values.get("note"),
        )
    except InvalidInput as error:
        return _entry(request, principal, patient, instrument, values, error)
    return RedirectResponse(f"/patients/{patient.id}/outcomes", status_code=303)


@router.post("/patients/{patient_id}/outcomes/goals", response_class=RedirectResponse)
async def goal_from_form(
    patient_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> RedirectResponse:
    """Set a goal from the outcomes page's form."""
    form = await request.form()
    try:
        measure = Measure(str(form.get("measure") or ""))
    except ValueError:
        raise InvalidInput.worded(
            N_("measure: choose one from the list"), also={"field": "measure"}
        ) from None
    try:
        target_value = float(str(form.get("target_value") or ""))
    except ValueError:
        raise InvalidInput.worded(
            N_("target_value: give a number"), also={"field": "target_value"}
        ) from None
    try:
        target_date = date.fromisoformat(str(form.get("target_date") or ""))
    except ValueError:
        raise InvalidInput.worded(
            N_("target_date: give a date as YYYY-MM-DD"), also={"field": "target_date"}
        ) from None
    goals.create_goal(
        session,
        principal,
        patient_id,
        measure,
        target_value,
        target_date,
        note=str(form.get("note") or ""),
    )
    return RedirectResponse(f"/patients/{patient_id}/outcomes", status_code=303)
