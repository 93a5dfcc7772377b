"""HTTP and WebSocket routes of tele-rehabilitation: sessions, settings, alerts, the live feed."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi import status as http
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from exoshare.auth.gate import CurrentPrincipal
from exoshare.auth.live_sockets import POLICY_VIOLATION
from exoshare.auth.scope import Principal
from exoshare.auth.websocket_guard import SocketCaller, origin_allowed, socket_caller
from exoshare.db import session_scope
from exoshare.deps import DbSession
from exoshare.errors import NotFound
from exoshare.runtime import runtime_of
from exoshare.telerehab import advice, alert_log, sessions, settings
from exoshare.telerehab.progress import patient_progress
from exoshare.telerehab.runtime import alert_frame, change_frame, telerehab_runtime
from exoshare.telerehab.schemas import (
    AcknowledgeIn,
    AdviceDecisionIn,
    AdviceOut,
    AdviceReasonOut,
    AlertOut,
    BookedSessionStart,
    ChangeStatus,
    ProgressPointOut,
    SessionPlan,
    SettingChangeIn,
    SettingChangeOut,
    TherapyLocation,
    TherapySessionOut,
    TransitionIn,
)

router = APIRouter(prefix="/api/v1/telerehab", tags=["telerehab"])

PING_S = 15.0
PING = '{"type":"ping"}'


@router.post("/sessions", response_model=TherapySessionOut, status_code=http.HTTP_201_CREATED)
def plan_session(
    body: SessionPlan, session: DbSession, principal: CurrentPrincipal
) -> TherapySessionOut:
    record = sessions.plan_session(
        session,
        principal,
        body.patient_id,
        body.device_unit_id,
        body.location,
        body.planned_for,
        body.alert_rules,
        body.planned_settings,
        booking_id=body.booking_id,
    )
    return TherapySessionOut.model_validate(record)


@router.post(
    "/booked-sessions/{booking_id}/start",
    response_model=TherapySessionOut,
    status_code=http.HTTP_201_CREATED,
)
def start_booked_session(
    booking_id: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    body: BookedSessionStart | None = None,
) -> TherapySessionOut:
    """Start a booked session that is due, in one step (its therapist only): planned with the
    booking's patient, unit and clinic and started, every safety rule checked; the booking's
    ``therapy_session_id`` is the session from then on."""
    record = sessions.start_booked_session(
        session, principal, booking_id, body.location if body else TherapyLocation.clinic
    )
    session.commit()
    telerehab_runtime(request.app).status_changed(record)
    return TherapySessionOut.model_validate(record)


@router.get("/sessions", response_model=list[TherapySessionOut])
def list_live(session: DbSession, principal: CurrentPrincipal) -> list[TherapySessionOut]:
    """Started, live and paused sessions in the caller's scope."""
    return [TherapySessionOut.model_validate(r) for r in sessions.live_sessions(session, principal)]


@router.get("/sessions/{session_id}", response_model=TherapySessionOut)
def get_session(
    session_id: str, session: DbSession, principal: CurrentPrincipal
) -> TherapySessionOut:
    return TherapySessionOut.model_validate(sessions.get_session(session, principal, session_id))


@router.post("/sessions/{session_id}/settings", response_model=SettingChangeOut)
async def change_setting(
    session_id: str,
    body: SettingChangeIn,
    request: Request,
    principal: CurrentPrincipal,
) -> SettingChangeOut:
    """Propose a change; answers once the device has applied or rejected it, or the time ran out.

    Refusals before sending: 404 (no such session for you), 403 (may not run it, or not
    certified for the model), 409 (session not running, a change still pending), 422 (outside
    the model's safety envelope or not an adjustable setting). ``status`` tells the rest.
    """
    change = await telerehab_runtime(request.app).change_setting(
        principal, session_id, body.setting, body.value
    )
    out = SettingChangeOut.model_validate(change)
    out.applied = change.status is ChangeStatus.applied
    return out


@router.get("/sessions/{session_id}/advice", response_model=AdviceOut)
def get_advice(session_id: str, session: DbSession, principal: CurrentPrincipal) -> AdviceOut:
    """Assist-as-needed advice for the next session after this completed, analysed one (409
    ``advice-not-ready`` before), with its reasons and the therapist's decision, if any."""
    return advice_out(advice.advice_for(session, principal, session_id))


# Declared before the lifecycle actions, whose ``{action}`` would otherwise take "advice".
@router.post("/sessions/{session_id}/advice", response_model=AdviceOut)
def decide_advice(
    session_id: str, body: AdviceDecisionIn, session: DbSession, principal: CurrentPrincipal
) -> AdviceOut:
    """Accept, edit (``values``, each checked against the model's envelope and maximum step) or
    decline the advice, once (409 ``advice-already-decided`` after). Accepted or edited settings
    become the starting settings of the patient's next planned session on the same model."""
    return advice_out(
        advice.decide(session, principal, session_id, body.decision, body.values, body.note)
    )


@router.post("/sessions/{session_id}/{action}", response_model=TherapySessionOut)
def transition(
    session_id: str,
    action: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    body: TransitionIn | None = None,
) -> TherapySessionOut:
    """``start``, ``pause``, ``resume``, ``complete`` or ``abort``; 409 when not possible now."""
    if action not in sessions.TRANSITIONS:
        raise NotFound(f"no action {action!r}; one of {', '.join(sessions.TRANSITIONS)}")
    record = sessions.transition(
        session, principal, session_id, action, body.reason if body else None
    )
    session.commit()
    telerehab_runtime(request.app).status_changed(record)
    return TherapySessionOut.model_validate(record)


@router.get("/sessions/{session_id}/settings", response_model=list[SettingChangeOut])
def list_changes(
    session_id: str, session: DbSession, principal: CurrentPrincipal
) -> list[SettingChangeOut]:
    record = sessions.get_session(session, principal, session_id)
    changes = settings.setting_changes(session, record.id)
    return [SettingChangeOut.model_validate(c) for c in changes]


@router.get("/sessions/{session_id}/alerts", response_model=list[AlertOut])
def list_alerts(session_id: str, session: DbSession, principal: CurrentPrincipal) -> list[AlertOut]:
    record = sessions.get_session(session, principal, session_id)
    return [AlertOut.model_validate(a) for a in alert_log.alerts_of(session, record.id)]


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge(
    alert_id: str,
    body: AcknowledgeIn,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
) -> AlertOut:
    alert = alert_log.acknowledge_alert(session, principal, alert_id, body.note)
    session.commit()
    telerehab_runtime(request.app).alert_acknowledged(alert)
    return AlertOut.model_validate(alert)


@router.get("/patients/{patient_id}/progress", response_model=list[ProgressPointOut])
def progress(
    patient_id: str, session: DbSession, principal: CurrentPrincipal
) -> list[ProgressPointOut]:
    _, points, _ = patient_progress(session, principal, patient_id)
    return [ProgressPointOut.model_validate(p) for p in points]


def advice_out(view: advice.AdviceView) -> AdviceOut:
    decided = view.decision
    return AdviceOut(
        therapy_session_id=view.record.id,
        patient_id=view.record.patient_id,
        recommended=view.advice.values,
        current=view.advice.current,
        error=view.advice.error,
        guidance_used_pct=view.advice.guidance_used_pct,
        rule_guidance_pct=view.advice.rule_guidance_pct,
        reasons=[
            AdviceReasonOut(code=r.code, params=r.params, text=advice.reason_text(r))
            for r in view.advice.reasons
        ],
        decision=decided.decision if decided else None,
        decided_values=decided.decided_values if decided else None,
        decided_by_id=decided.decided_by_id if decided else None,
        decided_at=decided.decided_at if decided else None,
        note=decided.note if decided else None,
        applied_to_session_id=decided.applied_to_session_id if decided else None,
    )


# ---------------------------------------------------------------------------- live feed


def _caller(websocket: WebSocket) -> SocketCaller | None:
    with session_scope(runtime_of(websocket).sessionmaker) as session:
        return socket_caller(session, websocket)


def _state(websocket: WebSocket, principal: Principal, session_id: str) -> dict[str, Any]:
    """What the database knows (status, confirmed settings, open alerts, recent changes)."""
    with session_scope(runtime_of(websocket).sessionmaker) as session:
        record = sessions.get_session(session, principal, session_id)
        alerts = [a for a in alert_log.alerts_of(session, record.id) if a.acknowledged_at is None]
        changes = settings.setting_changes(session, record.id)[:10]
        return {
            "status": record.status.value,
            "settings": dict(record.current_settings),
            "alerts": [alert_frame(a) for a in alerts],
            "changes": [change_frame(c) for c in changes],
        }


def _coalesced(first: str, queue: asyncio.Queue[str]) -> str:
    """The first frame, or a JSON array of it and every frame queued behind it, in order.

    Frames queue up only when this connection (or the server) is behind; sending them as one
    message then costs one WebSocket send instead of one each, so a busy server catches up
    instead of falling further behind. The browser takes a frame or an array of frames.
    """
    if queue.empty():
        return first
    frames = [first]
    while not queue.empty():
        frames.append(queue.get_nowait())
    return "[" + ",".join(frames) + "]"


async def _deny(websocket: WebSocket, status_code: int, reason: str) -> None:
    try:
        await websocket.send_denial_response(Response(status_code=status_code))
    except RuntimeError:
        # The server cannot answer a WebSocket handshake with HTTP: close with the same code.
        await websocket.accept()
        await websocket.close(code=4000 + status_code, reason=reason)


@router.websocket("/sessions/{session_id}/live")
async def live_feed(websocket: WebSocket, session_id: str) -> None:
    """JSON frames of a running session: a ``snapshot`` first (and after any overflow), then
    ``batch`` (decimated joint angles, metrics, vitals, link quality), ``alert``, ``setting``,
    ``status``, ``event`` and ``ping`` frames. A browser that reconnects gets a new snapshot."""
    caller = await run_in_threadpool(_caller, websocket)
    if caller is None or (
        caller.by_cookie and not origin_allowed(websocket, runtime_of(websocket).settings)
    ):
        # Closed before anything is read or subscribed; 1008 is "policy violation".
        await websocket.accept()
        await websocket.close(
            code=POLICY_VIOLATION,
            reason="sign in first" if caller is None else "origin not allowed",
        )
        return
    principal = caller.principal
    hub = telerehab_runtime(websocket.app).hub
    # Subscribed before the database is read: a status change committed between the read and
    # the subscription would otherwise reach no one, and the viewer would show a stale status
    # (the device going live while the page connects). Nothing is sent before access is checked.
    subscriber = hub.subscribe(session_id)
    try:
        state = await run_in_threadpool(_state, websocket, principal, session_id)
    except NotFound:
        hub.unsubscribe(session_id, subscriber)
        await _deny(websocket, 404, "no such session")
        return
    except BaseException:
        hub.unsubscribe(session_id, subscriber)
        raise
    await websocket.accept()
    sockets = runtime_of(websocket).live_sockets
    sockets.register(caller.credential_id, websocket)
    closed = asyncio.Event()
    sent = 0

    async def watch() -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
        closed.set()
        subscriber.offer(PING)  # wakes the sending loop, which then stops

    async def keepalive() -> None:
        # A quiet session (paused, its device offline) still gets a frame every PING_S, which
        # keeps proxies from closing the connection. One timer per connection: a timeout
        # around each wait for a frame cost a timer for each of the ten frames a second.
        # Sign-out closes the socket at once, an expired or elsewhere revoked sign-in within
        # live_sockets.CHECK_S (LiveSocketRegistry.watch, for every socket at once).
        seen = -1
        while True:
            await asyncio.sleep(PING_S)
            if sent == seen:
                subscriber.offer(PING)
            seen = sent

    helpers = [asyncio.create_task(watch()), asyncio.create_task(keepalive())]
    try:
        await websocket.send_text(json.dumps({**hub.snapshot(session_id), **state}))
        while True:
            if subscriber.overflowed:
                subscriber.overflowed = False
                while not subscriber.queue.empty():
                    subscriber.queue.get_nowait()
                state = await run_in_threadpool(_state, websocket, principal, session_id)
                await websocket.send_text(json.dumps({**hub.snapshot(session_id), **state}))
            frame = await subscriber.queue.get()
            if closed.is_set():
                break
            await websocket.send_text(_coalesced(frame, subscriber.queue))
            sent += 1
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        sockets.unregister(caller.credential_id, websocket)
        hub.unsubscribe(session_id, subscriber)
        for task in helpers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
