"""Assist-as-needed advice after a session: computed, worded, accepted, edited or declined.

The advice comes from the pure rule in :mod:`exoshare.telerehab.assistance`, fed with the
session's gait summary and the time spent at each guidance level (its starting settings and the
changes the device applied). A therapist who may run the session decides on it once: accepted or
edited settings (an edit is checked against the model's envelope and maximum step) become the
starting settings of the patient's next planned session on the same model, now or when it is
planned; every decision, and every read, is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exoshare.auth import audit
from exoshare.auth.scope import Principal
from exoshare.devices import service as devices_service
from exoshare.devices.envelope import check_setting_change
from exoshare.errors import (
    AdviceDecided,
    AdviceNotReady,
    InvalidInput,
    NotCertified,
    SettingOutsideEnvelope,
)
from exoshare.telemetry import reads as telemetry_reads
from exoshare.telerehab import sessions as sessions_service
from exoshare.telerehab.assistance import (
    GUIDANCE,
    Advice,
    Reason,
    SessionPerformance,
    recommend,
)
from exoshare.telerehab.models import AssistanceAdvice, SettingChange, TherapySession
from exoshare.telerehab.schemas import AdviceDecision, ChangeStatus, TherapyStatus
from exoshare.web.labels import N_

if TYPE_CHECKING:
    from exoshare.telemetry.models import TelemetrySession

REASON_TEXT: dict[str, str] = {
    "knee_rom_deficit": N_(
        "The weaker knee moved through %(knee_rom_deg).0f° of a normal %(normal_deg).0f° "
        "(gait error %(error).2f)."
    ),
    "step_asymmetry": N_(
        "The step times of the two legs differed by %(si_pct).0f %% (gait error %(error).2f)."
    ),
    "error_based_update": N_(
        "Error-based adaptation (Emken et al. 2007): %(forgetting_factor).1f × %(used_pct).0f %% "
        "guidance used + %(gain_pct).0f %% × gait error %(error).2f = %(rule_pct).0f %%."
    ),
    "too_few_steps": N_(
        "Only %(steps).0f steps were analysed, too few to judge the gait: assistance stays as it "
        "was."
    ),
    "safety_flags_hold": N_(
        "The session raised %(flags).0f safety flags: assistance is not lowered."
    ),
    "step_limited": N_(
        "One change may move a setting by at most %(max_step)g: %(wanted).1f becomes %(value)g."
    ),
    "envelope_bound": N_(
        "%(wanted).1f is outside the model's safe range: the nearest safe value is %(value)g."
    ),
    "mode_change": N_("The gait allows a change of mode from %(from)s to %(to)s."),
    "no_guidance_setting": N_("This model has no adjustable guidance force: nothing to advise."),
}
MODE_WORDS = {
    0.0: N_("position control"),
    1.0: N_("assist-as-needed"),
    2.0: N_("transparent"),
}


def reason_text(reason: Reason, gettext: Callable[[str], str] = str) -> str:
    """The reason in words, in the language of ``gettext`` (English by default)."""
    params: dict[str, Any] = dict(reason.params)
    if reason.code == "mode_change":
        for key in ("from", "to"):
            word = MODE_WORDS.get(params[key])
            params[key] = gettext(word) if word else f"{params[key]:g}"
    return gettext(REASON_TEXT[reason.code]) % params


@dataclass(frozen=True)
class AdviceView:
    """A session's advice and, once the therapist decided, the decision."""

    record: TherapySession
    advice: Advice
    decision: AssistanceAdvice | None


def _now() -> datetime:
    return datetime.now(UTC)


def guidance_time_s(record: TherapySession, changes: list[SettingChange]) -> dict[float, float]:
    """Seconds at each guidance force from the session's start to its end: its starting value,
    then each change the device applied, at the time the device confirmed it."""
    start, end = record.live_at or record.started_at, record.ended_at
    level = (record.settings_at_start or {}).get(GUIDANCE)
    if start is None or end is None or level is None:
        return {}
    applied = sorted(
        (c.answered_at, c.proposed_value)
        for c in changes
        if c.setting == GUIDANCE and c.status is ChangeStatus.applied and c.answered_at
    )
    out: dict[float, float] = {}
    at = start
    for when, value in applied:
        when = min(max(when, start), end)
        out[level] = out.get(level, 0.0) + (when - at).total_seconds()
        at, level = when, value
    out[level] = out.get(level, 0.0) + (end - at).total_seconds()
    return out


def performance_of(
    summary: Mapping[str, Any], guidance_time: Mapping[float, float]
) -> SessionPerformance:
    """The rule's view of a stored gait summary (:meth:`gait.SessionSummary.to_dict`)."""
    knee = summary.get("rom_deg", {}).get("knee", {})
    si = summary.get("symmetry", {}).get("step_time_s", {}).get("si_pct")
    return SessionPerformance(
        step_count=int(summary.get("step_count") or 0),
        knee_rom_deg={side: v for side, v in knee.items() if isinstance(v, int | float)},
        step_time_si_pct=si if isinstance(si, int | float) else None,
        guidance_time_s=dict(guidance_time),
        safety_flags=len(summary.get("safety_flags") or []),
    )


def _analysed(session: Session, record: TherapySession) -> TelemetrySession:
    if record.status is not TherapyStatus.completed:
        raise AdviceNotReady(
            f"the session is {record.status.value}; advice follows a completed session"
        )
    recording = (
        telemetry_reads.find_recording(session, record.telemetry_session_id)
        if record.telemetry_session_id
        else None
    )
    if recording is None or recording.summary is None:
        raise AdviceNotReady(
            "the session's recording is not analysed yet; advice follows its gait analysis"
        )
    return recording


def _compute(session: Session, record: TherapySession) -> Advice:
    recording = _analysed(session, record)
    assert recording.summary is not None
    envelope = devices_service.envelope_of(session, record.device_unit.model_id)
    changes = list(
        session.scalars(select(SettingChange).where(SettingChange.therapy_session_id == record.id))
    )
    current = {**(record.settings_at_start or {}), **record.current_settings}
    performance = performance_of(recording.summary, guidance_time_s(record, changes))
    return recommend(envelope, current, performance)


def _decision(session: Session, therapy_session_id: str) -> AssistanceAdvice | None:
    found: AssistanceAdvice | None = session.scalar(
        select(AssistanceAdvice).where(AssistanceAdvice.therapy_session_id == therapy_session_id)
    )
    return found


def advice_for(session: Session, principal: Principal, therapy_session_id: str) -> AdviceView:
    """The advice after a completed, analysed session the caller may see (audited read)."""
    record = sessions_service.get_session(session, principal, therapy_session_id)
    advice = _compute(session, record)
    audit.record(
        session, principal, "read", "assistance_advice", record.id, patient_id=record.patient_id
    )
    return AdviceView(record, advice, _decision(session, record.id))


def latest_advice(session: Session, principal: Principal, patient_id: str) -> AdviceView | None:
    """The advice after the patient's latest completed, analysed session (None: no such one)."""
    for record in sessions_service.sessions_of_patient(session, principal, patient_id):
        if record.status is TherapyStatus.completed and record.telemetry_session_id:
            try:
                return advice_for(session, principal, record.id)
            except AdviceNotReady:
                continue
    return None


def decide(
    session: Session,
    principal: Principal,
    therapy_session_id: str,
    decision: AdviceDecision,
    values: Mapping[str, float] | None = None,
    note: str | None = None,
) -> AdviceView:
    """Accept, edit or decline a session's advice, once; audited.

    Only someone who may run the session's device decides (a certificate for its model, like a
    setting change). An edit names the settings it changes; each must be a safe next value from
    the one the device last confirmed (the model's envelope and maximum step), or nothing is
    stored and the answer names the setting.
    """
    record = sessions_service.get_session(session, principal, therapy_session_id, write=True)
    model = record.device_unit.model
    if sessions_service.run_refusal(session, principal, record) is not None:
        raise NotCertified(
            f"you hold no valid certificate for {model.name}; only therapists certified for "
            "this model may decide its settings"
        )
    advice = _compute(session, record)
    if _decision(session, record.id) is not None:
        raise AdviceDecided("this session's advice was already decided; plan the next one")
    note = (note or "").strip() or None
    decided: dict[str, float] | None
    if decision is AdviceDecision.declined:
        if values:
            raise InvalidInput("a declined advice takes no values", field="values")
        decided = None
    elif decision is AdviceDecision.accepted:
        if values:
            raise InvalidInput(
                "an accepted advice takes no values; to change them, edit it", field="values"
            )
        decided = dict(advice.values)
    else:
        if not values:
            raise InvalidInput(
                "an edited advice needs the settings you want, e.g. {'guidance_force_pct': 70}",
                field="values",
            )
        decided = {**advice.values, **_checked_edit(session, record, values)}
    row = AssistanceAdvice(
        therapy_session_id=record.id,
        patient_id=record.patient_id,
        device_model_id=model.id,
        recommended=dict(advice.values),
        reasons=[{"code": r.code, "params": r.params} for r in advice.reasons],
        error=advice.error,
        decision=decision,
        decided_values=decided,
        note=note,
        decided_by_id=principal.user_ref,
        decided_at=_now(),
    )
    try:
        # Two therapists deciding at once: the second meets the unique row, not a 500.
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise AdviceDecided("this session's advice was just decided by someone else") from None
    audit.record(
        session,
        principal,
        f"advice_{decision.value}",
        "assistance_advice",
        row.id,
        patient_id=record.patient_id,
        detail={
            "therapy_session": record.id,
            "recommended": row.recommended,
            "decided": decided,
            "reasons": [r.code for r in advice.reasons],
            "note": note,
        },
    )
    if decided is not None:
        planned = sessions_service.next_planned_session(session, record.patient_id, model.id)
        if planned is not None:
            sessions_service.set_planned_settings(session, principal, planned, decided, row)
    return AdviceView(record, advice, row)


def _checked_edit(
    session: Session, record: TherapySession, values: Mapping[str, float]
) -> dict[str, float]:
    envelope = devices_service.envelope_of(session, record.device_unit.model_id)
    current = {**(record.settings_at_start or {}), **record.current_settings}
    checked: dict[str, float] = {}
    for name, value in values.items():
        try:
            # The step counts from what the device last confirmed, as for a live change.
            check_setting_change(envelope, name, current.get(name), float(value))
        except (SettingOutsideEnvelope, InvalidInput) as refusal:
            raise type(refusal)(refusal.detail, field=f"values.{name}") from None
        checked[name] = float(value)
    return checked
