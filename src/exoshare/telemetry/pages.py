"""HTML routes of telemetry: the session page (summary and plots) and a patient's session list."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from exoshare.auth.gate import CurrentPrincipal
from exoshare.deps import DbSession
from exoshare.telemetry import reads
from exoshare.telemetry.charts import cycle_chart, trace_chart
from exoshare.telemetry.runtime import raw_store
from exoshare.web.labels import N_
from exoshare.web.render import render, request_gettext

router = APIRouter(include_in_schema=False)

TRACE_WINDOW_S = 30.0
JOINTS = {"hip": N_("Hip"), "knee": N_("Knee"), "ankle": N_("Ankle")}


@router.get("/patients/{patient_id}/sessions", response_class=HTMLResponse)
def patient_sessions(
    patient_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse:
    """The sessions table of the patient page (loaded by htmx)."""
    rows = reads.sessions_of_patient(session, principal, patient_id)
    return render(request, "telemetry/_patient_sessions.html", principal, sessions=rows)


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def session_page(
    session_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse:
    record, recording = reads.session_samples(
        session, principal, raw_store(request.app), session_id
    )
    gettext = request_gettext(request, principal)
    summary: dict[str, Any] = record.summary or {}
    events = summary.get("events", {})
    window = min(recording.n_samples, int(TRACE_WINDOW_S * recording.sampling_rate_hz))
    time_s = recording.time_s[:window]
    traces: list[Any] = []
    cycles: list[Any] = []
    for joint, joint_name in JOINTS.items():
        names = {side: f"{joint}_angle_{side}_deg" for side in ("left", "right")}
        present = {side: n for side, n in names.items() if n in recording.channels}
        if present:
            traces.append(
                trace_chart(
                    time_s,
                    {side: recording.channels[n][:window] for side, n in present.items()},
                    events,
                    title=gettext("%(joint)s angle") % {"joint": gettext(joint_name)},
                    y_label=gettext("angle (deg)"),
                    x_label=gettext("time (s)"),
                )
            )
        curves = {
            side: summary.get("cycle_curves", {}).get(f"{joint}_{side}", {})
            for side in ("left", "right")
        }
        chart = cycle_chart(
            {s: c for s, c in curves.items() if c},
            title=gettext("%(joint)s over the gait cycle") % {"joint": gettext(joint_name)},
            y_label=gettext("angle (deg)"),
            x_label=gettext("gait cycle (%)"),
        )
        if chart:
            cycles.append(chart)
    if not traces:
        gyro = {
            side: recording.channels[f"shank_gyr_z_{side}_dps"][:window]
            for side in ("left", "right")
            if f"shank_gyr_z_{side}_dps" in recording.channels
        }
        if gyro:
            traces.append(
                trace_chart(
                    time_s,
                    gyro,
                    events,
                    title=gettext("Shank angular rate"),
                    y_label=gettext("angular rate (deg/s)"),
                    x_label=gettext("time (s)"),
                )
            )
    return render(
        request,
        "telemetry/session.html",
        principal,
        record=record,
        summary=summary,
        traces=traces,
        cycles=cycles,
        window_s=float(window / recording.sampling_rate_hz) if recording.n_samples else 0.0,
        device_events=reads.events_of(session, record),
        n_missing=int(sum(int(np.isnan(v).sum()) for v in recording.channels.values())),
    )
