"""HTML routes of tele-rehabilitation: live session, supervisor overview, patient progress."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from exoshare.auth.gate import CurrentPrincipal
from exoshare.auth.scope import Permission
from exoshare.db import as_utc
from exoshare.deps import DbSession
from exoshare.devices import service as devices_service
from exoshare.errors import AdviceNotReady, InvalidInput, NotFound
from exoshare.patients import service as patients_service
from exoshare.scheduling import bookings, eligibility
from exoshare.scheduling.clinics import zone_of
from exoshare.telemetry.charts import cycle_chart, trace_chart
from exoshare.telerehab import advice, alert_log, progress, sessions, settings
from exoshare.telerehab.assistance import MODE
from exoshare.telerehab.progress import patient_progress
from exoshare.telerehab.runtime import telerehab_runtime
from exoshare.telerehab.schemas import AdviceDecision, TherapyLocation
from exoshare.web.labels import N_
from exoshare.web.render import render, request_gettext

if TYPE_CHECKING:
    from exoshare.devices.models import DeviceUnit

router = APIRouter(include_in_schema=False)

# Session and change states are shown through gettext by value; these marks put them in the catalog.
STATE_WORDS = (
    N_("planned"), N_("started"), N_("live"), N_("paused"), N_("completed"), N_("aborted"),
    N_("sent"), N_("applied"), N_("rejected"), N_("timed_out"),
)  # fmt: skip
ADVICE_DECISION_WORDS = {
    "accepted": N_("Accepted."),
    "edited": N_("Edited: the planned values differ from the advice."),
    "declined": N_("Declined: the next session keeps its own settings."),
}
PROGRESS_METRICS = {
    "cadence_steps_per_min": (N_("Cadence"), N_("steps/min")),
    # Step time, not stride time: both legs share every stride, so only steps show a limp.
    "step_time_symmetry_pct": (N_("Step-time symmetry index"), "%"),
    "knee_rom_deg": (N_("Knee range of motion"), N_("deg")),
    "speed_mps": (N_("Walking speed"), "m/s"),
    "distance_m": (N_("Walking distance"), "m"),
    "assistance_pct": (N_("Guidance force"), "%"),
}


@router.get("/telerehab", response_class=HTMLResponse)
def supervisor(request: Request, session: DbSession, principal: CurrentPrincipal) -> HTMLResponse:
    """Every running session in the caller's scope with its alert state (refreshes itself)."""
    rows = sessions.live_sessions(session, principal)
    counts = alert_log.open_alert_counts(session, [r.id for r in rows])
    partial = request.headers.get("hx-request") == "true"
    return render(
        request,
        "telerehab/_live_rows.html" if partial else "telerehab/supervisor.html",
        principal,
        sessions=rows,
        alert_counts=counts,
    )


@router.get("/telerehab/sessions/{session_id}", response_class=HTMLResponse)
def live_page(
    session_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse:
    record = sessions.get_session(session, principal, session_id)
    envelope = devices_service.envelope_of(session, record.device_unit.model_id)
    may_write = principal.covers(Permission.patients_write, record.clinic.path)
    # Controls are offered only to a reader who may use them; anyone else is told why not.
    refusal = sessions.run_refusal(session, principal, record) if may_write else None
    try:
        # A completed, analysed session shows what to do next time (journey 1).
        view: advice.AdviceView | None = advice.advice_for(session, principal, record.id)
    except AdviceNotReady:
        view = None
    booking = bookings.booking_of_session(session, record.id)
    return render(
        request,
        "telerehab/live.html",
        principal,
        booking=booking,
        booking_local=as_utc(booking.starts_at).astimezone(zone_of(booking.clinic))
        if booking
        else None,
        # The booking's page is the calendar's: shown to who sees that clinic's calendar.
        booking_visible=booking is not None
        and (
            principal.covers(Permission.fleet_read, booking.clinic.path)
            or principal.covers(Permission.scheduling_manage, booking.clinic.path)
        ),
        record=record,
        envelope=envelope,
        alerts=alert_log.alerts_of(session, record.id),
        changes=settings.setting_changes(session, record.id),
        may_write=may_write,
        may_run=may_write and refusal is None,
        run_refusal=refusal,
        allowed_actions=sessions.allowed_actions(record.status),
        advice=_advice_panel(session, principal, view, request_gettext(request, principal)),
    )


@router.get("/patients/{patient_id}/progress", response_class=HTMLResponse)
def progress_page(
    patient_id: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    chosen: str | None = None,
    earlier: str | None = None,
) -> HTMLResponse:
    patient, points, recordings = patient_progress(session, principal, patient_id)
    gettext = request_gettext(request, principal)
    charts = []
    index = np.arange(1, len(points) + 1, dtype=float)
    for key, (title, unit) in PROGRESS_METRICS.items():
        values = np.array(
            [np.nan if getattr(p, key) is None else getattr(p, key) for p in points], float
        )
        if len(points) and np.isfinite(values).any():
            charts.append(
                trace_chart(
                    index,
                    {"left": values},
                    {},
                    title=gettext(title),
                    y_label=gettext(unit),
                    x_label=gettext("session"),
                    width=440,
                    height=220,
                )
            )
    by_id = {r.id: r for r in recordings}
    chosen_rec = by_id.get(chosen or "") or (recordings[-1] if recordings else None)
    earlier_rec = by_id.get(earlier or "") or (recordings[0] if len(recordings) > 1 else None)
    cycles = []
    if chosen_rec is not None:
        for joint in ("hip", "knee", "ankle"):
            curves = {}
            for colour, rec in (("left", chosen_rec), ("right", earlier_rec)):
                curve = ((rec.summary or {}).get("cycle_curves", {}) if rec else {}).get(
                    f"{joint}_left", {}
                )
                if curve:
                    curves[colour] = curve
            chart = cycle_chart(
                curves,
                title=gettext("%(joint)s over the gait cycle") % {"joint": gettext(joint.title())},
                y_label=gettext("angle (deg)"),
                x_label=gettext("gait cycle (%)"),
            )
            if chart:
                cycles.append(chart)
    own = patient.user_id is not None and patient.user_id == principal.user_id
    advice_panel = (
        None
        if own
        else _advice_panel(
            session, principal, advice.latest_advice(session, principal, patient.id), gettext
        )
    )
    units: list[DeviceUnit] = []
    unavailable: list[tuple[DeviceUnit, list[eligibility.Refusal]]] = []
    if not own and principal.covers(Permission.patients_write, patient.clinic.path):
        # Offer only units this therapist may start this patient on now; say why not the rest.
        now = datetime.now(UTC)
        for device in eligibility.candidate_units(session, patient.clinic_id):
            found = eligibility.refusals(
                session,
                therapist_id=principal.user_id,
                patient=patient,
                unit=device,
                clinic=patient.clinic,
                at=now,
            )
            if found:
                unavailable.append((device, found))
            else:
                units.append(device)
    return render(
        request,
        "telerehab/progress.html",
        principal,
        patient=patient,
        points=points,
        charts=charts,
        cycles=cycles,
        recordings=recordings,
        chosen=chosen_rec,
        earlier=earlier_rec,
        own=own,
        words=_plain_words(points, gettext),
        therapy_sessions=(
            [] if own else sessions.sessions_of_patient(session, principal, patient.id)
        ),
        units=units,
        unavailable=unavailable,
        locations=list(TherapyLocation),
        advice=advice_panel,
    )


def _advice_panel(
    session: DbSession, principal: Any, view: advice.AdviceView | None, gettext: Any
) -> dict[str, Any] | None:
    """What the advice panel (``telerehab/_advice.html``) shows of an advice, worded."""
    if view is None:
        return None
    record = view.record
    may_decide = (
        view.decision is None
        and principal.covers(Permission.patients_write, record.clinic.path)
        and sessions.run_refusal(session, principal, record) is None
    )
    envelope = devices_service.envelope_of(session, record.device_unit.model_id)
    return {
        "view": view,
        "reasons": [advice.reason_text(r, gettext) for r in view.advice.reasons],
        "envelope": {name: envelope[name] for name in view.advice.values if name in envelope},
        "may_decide": may_decide,
        "mode": MODE,
        "words": advice.MODE_WORDS,
        "decision_words": ADVICE_DECISION_WORDS,
    }


@router.get("/my/progress", response_class=HTMLResponse)
def my_progress(request: Request, session: DbSession, principal: CurrentPrincipal) -> HTMLResponse:
    """A patient's own progress page."""
    own = patients_service.patient_of_user(session, principal.user_id)
    if own is None:
        raise NotFound("no patient record is linked to your account")
    patients_service.get_patient(session, principal, own.id)
    return progress_page(own.id, request, session, principal)


def _plain_words(points: list[progress.ProgressPoint], gettext: Any) -> list[str]:
    """Progress in plain words: the latest session against the first one."""
    if not points:
        return [gettext("No walking sessions have been analysed yet.")]
    words = [gettext("You have walked in %(n)d sessions.") % {"n": len(points)}]
    first, last = points[0], points[-1]
    if len(points) > 1 and first.cadence_steps_per_min and last.cadence_steps_per_min:
        change = last.cadence_steps_per_min - first.cadence_steps_per_min
        words.append(
            (
                gettext("You now take %(n).0f more steps per minute than in your first session.")
                if change >= 0
                else gettext("You take %(n).0f fewer steps per minute than in your first session.")
            )
            % {"n": abs(change)}
        )
    if (
        len(points) > 1
        and first.step_time_symmetry_pct is not None
        and (last.step_time_symmetry_pct is not None)
    ):
        better = abs(last.step_time_symmetry_pct) <= abs(first.step_time_symmetry_pct)
        words.append(
            gettext("Your steps are more even between both legs than at the start.")
            if better
            else gettext("Your steps are less even between both legs than at the start.")
        )
    if len(points) > 1 and first.knee_rom_deg is not None and last.knee_rom_deg is not None:
        # A degree either way is within a session's own variation: "about as far".
        change_deg = last.knee_rom_deg - first.knee_rom_deg
        words.append(
            gettext("Your knees now bend %(n).0f degrees further than at the start.")
            % {"n": change_deg}
            if change_deg >= 1.0
            else gettext("Your knees bend %(n).0f degrees less far than at the start.")
            % {"n": -change_deg}
            if change_deg <= -1.0
            else gettext("Your knees bend about as far as at the start.")
        )
    if last.distance_m:
        words.append(
            gettext("In your last session you walked %(m).0f metres.") % {"m": last.distance_m}
        )
    return words


@router.post("/telerehab/sessions/{session_id}/advice", response_class=RedirectResponse)
async def decide_advice(
    session_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> RedirectResponse:
    """The progress page's advice panel: accept, edit (the form's values) or decline."""
    form = await request.form()
    try:
        decision = AdviceDecision(str(form.get("decision") or ""))
    except ValueError:
        choices = ", ".join(item.value for item in AdviceDecision)
        raise InvalidInput(f"decision: one of {choices}", field="decision") from None
    values: dict[str, float] | None = None
    if decision is AdviceDecision.edited:
        values = {}
        for name in ("guidance_force_pct", MODE):
            text = str(form.get(name) or "").strip()
            if not text:
                continue
            try:
                values[name] = float(text.replace(",", "."))
            except ValueError:
                raise InvalidInput(f"{name}: {text!r} is not a number", field=name) from None
    view = advice.decide(
        session, principal, session_id, decision, values, str(form.get("note") or "") or None
    )
    # Back to the page the form was on: the session's own page or the patient's progress.
    if form.get("back_to") == "live":
        return RedirectResponse(f"/telerehab/sessions/{view.record.id}#advice", status_code=303)
    return RedirectResponse(f"/patients/{view.record.patient_id}/progress#advice", status_code=303)


@router.post("/telerehab/sessions", response_class=RedirectResponse)
async def plan_and_start(
    request: Request, session: DbSession, principal: CurrentPrincipal
) -> RedirectResponse:
    """The progress page's form: plan a session now and start it, then open its live page."""
    form = await request.form()
    try:
        location = TherapyLocation(str(form.get("location") or "clinic"))
    except ValueError:
        choices = ", ".join(item.value for item in TherapyLocation)
        raise InvalidInput(f"location: one of {choices}", field="location") from None
    record = sessions.plan_session(
        session,
        principal,
        str(form.get("patient_id") or ""),
        str(form.get("device_unit_id") or ""),
        location,
    )
    started = sessions.transition(session, principal, record.id, "start")
    # Committed before answering: the browser follows the redirect at once, and the live page
    # (another request) must find the session.
    session.commit()
    telerehab_runtime(request.app).status_changed(started)
    return RedirectResponse(f"/telerehab/sessions/{record.id}", status_code=303)


@router.post("/telerehab/bookings/{booking_id}/start", response_class=RedirectResponse)
def start_booked(
    booking_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> RedirectResponse:
    """The therapist's day and the booking's page: start a booked session that is due, then
    open its live page."""
    record = sessions.start_booked_session(session, principal, booking_id, TherapyLocation.clinic)
    # Committed before answering: the live page (the next request) must find the session.
    session.commit()
    telerehab_runtime(request.app).status_changed(record)
    return RedirectResponse(f"/telerehab/sessions/{record.id}", status_code=303)
