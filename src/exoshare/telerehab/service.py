"""Rules of tele-rehabilitation: session lifecycle, checked setting changes, alerts, progress.

Every function takes the SQL session first and raises domain errors. A refused setting change is
still recorded (and audited): :func:`propose_setting_change` returns the refusal instead of
raising it, so the caller can commit the record and then answer with the error.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from exoshare.auth import audit
from exoshare.auth.scope import SYSTEM_INGESTION, Permission, Principal
from exoshare.devices.models import DeviceModel, DeviceUnit, SafetyEnvelopeSetting
from exoshare.errors import (
    AlreadyAcknowledged,
    CommandPending,
    ExoshareError,
    InvalidInput,
    InvalidTransition,
    NotCertified,
    NoteRequired,
    NotFound,
    PermissionDenied,
    ReasonRequired,
    SessionNotLive,
    UnitBusy,
)
from exoshare.patients import service as patients_service
from exoshare.patients.models import Patient
from exoshare.scheduling import eligibility
from exoshare.telemetry.models import TelemetrySession
from exoshare.telerehab.alerts import Alert, AlertRules
from exoshare.telerehab.envelope import EnvelopeLimit, check_setting_change
from exoshare.telerehab.models import (
    ChangeStatus,
    SessionAlert,
    SettingChange,
    TherapyLocation,
    TherapySession,
    TherapyStatus,
)

S = TherapyStatus
ACTIVE = frozenset({S.started, S.live, S.paused})
"""States in which a device is (or is about to be) worn: one such session per unit."""
TRANSITIONS: dict[str, dict[TherapyStatus, TherapyStatus]] = {
    "start": {S.planned: S.started},
    "pause": {S.started: S.paused, S.live: S.paused},
    "resume": {S.paused: S.live},
    "complete": {S.started: S.completed, S.live: S.completed, S.paused: S.completed},
    "abort": {S.planned: S.aborted, S.started: S.aborted, S.live: S.aborted, S.paused: S.aborted},
}
COMMANDABLE = frozenset({S.started, S.live, S.paused})


REASON_REQUIRED = frozenset({"abort"})
"""Actions that stop a patient's therapy abruptly: the caller must say why (kept and audited)."""


def allowed_actions(status: TherapyStatus) -> list[str]:
    """The lifecycle actions that make sense from ``status`` (the page shows only these)."""
    return [action for action, moves in TRANSITIONS.items() if status in moves]


def needs_certificate(action: str, status: TherapyStatus) -> bool:
    """Whether ``action`` touches a worn device: only cancelling a planned session does not."""
    return not (action == "abort" and status is S.planned)


def run_refusal(
    session: Session, principal: Principal, record: TherapySession
) -> eligibility.Refusal | None:
    """Why the caller may not run this session's device now (None: they may).

    Following a session needs only the right to read it; pausing, finishing, aborting it or
    changing a setting needs a certificate for the unit's model valid today.
    """
    day = eligibility.clinic_day(record.clinic, _now())
    return eligibility.certification_refusal(
        session, principal.user_id, record.device_unit.model, day
    )


NOTE_MAX_CHARS = 2000


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------- access


def _query() -> Any:
    return select(TherapySession).options(
        selectinload(TherapySession.patient).selectinload(Patient.clinic),
        selectinload(TherapySession.device_unit).selectinload(DeviceUnit.model),
        selectinload(TherapySession.device_unit).selectinload(DeviceUnit.org_unit),
        selectinload(TherapySession.therapist),
        selectinload(TherapySession.clinic),
    )


def _may_read(principal: Principal, record: TherapySession) -> bool:
    if principal.covers(Permission.patients_read, record.clinic.path):
        return True
    return record.patient.user_id is not None and record.patient.user_id == principal.user_id


def get_session(
    session: Session, principal: Principal, therapy_session_id: str, *, write: bool = False
) -> TherapySession:
    """A therapy session the caller may see (NotFound otherwise); ``write`` also needs the
    right to run it (PermissionDenied for one who may only look)."""
    record: TherapySession | None = session.scalar(
        _query().where(TherapySession.id == therapy_session_id)
    )
    if record is None or not _may_read(principal, record):
        raise NotFound(f"therapy session {therapy_session_id} not found")
    if write and not principal.covers(Permission.patients_write, record.clinic.path):
        raise PermissionDenied("you may follow this session but not run it")
    return record


def session_for_device(session: Session, therapy_session_id: str) -> TherapySession | None:
    """Unscoped read for the server's own use (live hub, command channel)."""
    found: TherapySession | None = session.scalar(
        _query().where(TherapySession.id == therapy_session_id)
    )
    return found


# ---------------------------------------------------------------------------- lifecycle


def plan_session(
    session: Session,
    principal: Principal,
    patient_id: str,
    device_unit_id: str,
    location: TherapyLocation,
    planned_for: datetime | None = None,
    alert_rules: dict[str, float] | None = None,
) -> TherapySession:
    """Plan a session of a patient on a unit, run by the caller."""
    patient = session.get(Patient, patient_id)
    if patient is None or patient.voided:
        raise NotFound(f"patient {patient_id} not found")
    if not principal.covers(Permission.patients_read, patient.clinic.path):
        raise NotFound(f"patient {patient_id} not found")
    if not principal.covers(Permission.patients_write, patient.clinic.path):
        raise PermissionDenied("you may not plan sessions for this patient")
    unit = session.get(DeviceUnit, device_unit_id)
    if unit is None or not _may_see_unit(session, principal, unit):
        raise InvalidInput(f"device unit {device_unit_id} not found", field="device_unit_id")
    rules = _checked_rules(alert_rules or {})
    eligibility.require_eligible(
        session,
        therapist_id=principal.user_id,
        patient=patient,
        unit=unit,
        clinic=patient.clinic,
        at=planned_for or _now(),
    )
    record = TherapySession(
        patient_id=patient.id,
        device_unit_id=unit.id,
        therapist_id=principal.user_id,
        clinic_id=patient.clinic_id,
        location=location,
        status=S.planned,
        planned_for=planned_for,
        alert_rules=rules,
        current_settings={},
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        principal,
        "create",
        "therapy_session",
        record.id,
        patient_id=patient.id,
        detail={"device_unit": unit.serial_number, "location": location.value},
    )
    return get_session(session, principal, record.id)


def _may_see_unit(session: Session, principal: Principal, unit: DeviceUnit) -> bool:
    """Its owner's staff see a unit, and so do the staff of the clinic holding it (a lease)."""
    from exoshare.fleet.custody import current_holder
    from exoshare.network.models import OrgUnit

    if principal.covers(Permission.devices_read, unit.org_unit.path):
        return True
    holder = session.get(OrgUnit, current_holder(session, unit.id))
    return holder is not None and principal.covers(Permission.devices_read, holder.path)


def _checked_rules(rules: dict[str, float]) -> dict[str, float]:
    known = set(AlertRules.__dataclass_fields__)
    for name, value in rules.items():
        if name not in known:
            raise InvalidInput(
                f"{name!r} is not an alert rule; one of {', '.join(sorted(known))}",
                field="alert_rules",
            )
        if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise InvalidInput(f"{name} must be a non-negative number", field="alert_rules")
    return {k: float(v) for k, v in rules.items()}


def transition(
    session: Session,
    principal: Principal,
    therapy_session_id: str,
    action: str,
    reason: str | None = None,
) -> TherapySession:
    """Apply a lifecycle action (start, pause, resume, complete, abort) or refuse it.

    Refusals: 409 for a move the state does not allow; 403 ``not-certified`` when the caller
    holds no certificate for the unit's model; 409 ``session-not-eligible`` when starting or
    resuming would break a clinical-safety rule (:mod:`exoshare.scheduling.eligibility`); 422
    ``reason-required`` for an abort without a reason.
    """
    record = get_session(session, principal, therapy_session_id, write=True)
    moves = TRANSITIONS.get(action)
    if moves is None:
        raise InvalidInput(f"unknown action {action!r}; one of {', '.join(TRANSITIONS)}")
    target = moves.get(record.status)
    if target is None:
        raise InvalidTransition(
            f"a {record.status.value} session cannot {action}; "
            f"{action} is possible from {', '.join(s.value for s in moves)}",
            current_status=record.status.value,
        )
    reason = (reason or "").strip() or None
    if action in REASON_REQUIRED and reason is None:
        raise ReasonRequired(
            f"say why you {action} the session (the reason is kept in the record)",
            field="reason",
        )
    if action in ("start", "resume"):
        # Starting (or restarting) puts the device on the patient: every safety rule, today.
        eligibility.require_eligible(
            session,
            therapist_id=principal.user_id,
            patient=record.patient,
            unit=record.device_unit,
            clinic=record.clinic,
            at=_now(),
        )
    elif needs_certificate(action, record.status):
        refusal = run_refusal(session, principal, record)
        if refusal is not None:
            raise NotCertified(
                f"you hold no valid certificate for {record.device_unit.model.name}; only "
                f"therapists certified for this model may {action} its sessions"
            )
    if action == "start":
        busy = session.scalar(
            select(TherapySession.id).where(
                TherapySession.device_unit_id == record.device_unit_id,
                TherapySession.status.in_(ACTIVE),
                TherapySession.id != record.id,
            )
        )
        if busy is not None:
            raise UnitBusy(
                f"{record.device_unit.serial_number} is in use by another session; "
                "complete or abort it first",
                session_id=busy,
            )
        record.started_at = _now()
    if action == "resume" and record.telemetry_session_id is None:
        target = S.started
    if target in (S.completed, S.aborted):
        record.ended_at = _now()
        record.end_reason = reason
    previous = record.status
    record.status = target
    if target is S.completed:
        _meter(session, record)
    audit.record(
        session,
        principal,
        action,
        "therapy_session",
        record.id,
        patient_id=record.patient_id,
        detail={"from": previous.value, "to": target.value, "reason": reason},
    )
    return record


def _meter(session: Session, record: TherapySession) -> None:
    """A completed session is billable use of the unit (idempotent per unit, patient, start)."""
    from exoshare.fleet.metering import record_usage

    started = record.live_at or record.started_at
    if started is None:
        return  # never ran: nothing was used
    ended = record.ended_at or _now()
    record_usage(
        session,
        unit_id=record.device_unit_id,
        patient_id=record.patient_id,
        session_start=started,
        session_end=max(ended, started + timedelta(seconds=1)),
        source="telerehab",
    )


def complete_from_device(session: Session, telemetry_session_id: str) -> TherapySession | None:
    """The device ended its recording: the linked therapy session is complete and metered."""
    record = session.scalar(
        select(TherapySession).where(TherapySession.telemetry_session_id == telemetry_session_id)
    )
    if record is None or record.status not in ACTIVE:
        return record
    record.status = S.completed
    record.ended_at = _now()
    record.end_reason = "the device ended the session"
    _meter(session, record)
    audit.record(
        session,
        SYSTEM_INGESTION,
        "complete",
        "therapy_session",
        record.id,
        patient_id=record.patient_id,
        detail={"reason": record.end_reason},
    )
    return record


def attach_telemetry(session: Session, telemetry_session_id: str) -> TherapySession | None:
    """A device announced a recording: link it to the unit's active (or planned) session.

    This is how a device starts a session: a planned one becomes live when its unit streams.
    """
    recording = session.get(TelemetrySession, telemetry_session_id)
    if recording is None:
        return None
    linked = session.scalar(
        select(TherapySession).where(TherapySession.telemetry_session_id == recording.id)
    )
    if linked is not None:
        return linked
    candidates = session.scalars(
        select(TherapySession)
        .where(
            TherapySession.device_unit_id == recording.device_unit_id,
            TherapySession.patient_id == recording.patient_id,
            TherapySession.telemetry_session_id.is_(None),
            TherapySession.status.in_([*ACTIVE, S.planned]),
        )
        .order_by(TherapySession.created_at)
    ).all()
    # An already started session wins over a merely planned one.
    record = next((c for c in candidates if c.status in ACTIVE), None) or next(
        iter(candidates), None
    )
    if record is None:
        return None
    if record.status is S.planned:
        # The device starts a planned session by streaming: the same rules as a therapist's
        # start apply. A refused start leaves the session planned and unlinked (the recording
        # itself is stored, as all telemetry is, but nothing goes live or is billed).
        found = eligibility.refusals(
            session,
            therapist_id=record.therapist_id,
            patient=record.patient,
            unit=record.device_unit,
            clinic=record.clinic,
            at=_now(),
        )
        if found and not _start_refused_before(session, record.id, recording.id):
            # Audited once per recording: the live path asks again every few seconds.
            audit.record(
                session,
                SYSTEM_INGESTION,
                "start_refused",
                "therapy_session",
                record.id,
                patient_id=record.patient_id,
                detail={
                    "telemetry_session": recording.id,
                    "errors": [{"field": r.field, "code": r.code} for r in found],
                },
            )
        if found:
            return None
    record.telemetry_session_id = recording.id
    record.settings_at_start = dict(recording.settings or {})
    record.current_settings = {**dict(recording.settings or {}), **record.current_settings}
    if record.status in (S.planned, S.started):
        record.started_at = record.started_at or _now()
        record.status = S.live
        record.live_at = _now()
    audit.record(
        session,
        SYSTEM_INGESTION,
        "attach_telemetry",
        "therapy_session",
        record.id,
        patient_id=record.patient_id,
        detail={"telemetry_session": recording.id, "settings": record.settings_at_start},
    )
    return record


def _start_refused_before(session: Session, therapy_session_id: str, recording_id: str) -> bool:
    from exoshare.auth.models import AuditEvent

    details = session.scalars(
        select(AuditEvent.detail).where(
            AuditEvent.entity == "therapy_session",
            AuditEvent.entity_id == therapy_session_id,
            AuditEvent.action == "start_refused",
        )
    )
    return any((d or {}).get("telemetry_session") == recording_id for d in details)


def active_sessions(session: Session) -> list[TherapySession]:
    """Every session with a device in use, for the live hub to follow (unscoped)."""
    return list(session.scalars(_query().where(TherapySession.status.in_(ACTIVE))))


def live_sessions(session: Session, principal: Principal) -> list[TherapySession]:
    """Sessions in the caller's scope that are started, live or paused."""
    from exoshare.network.models import OrgUnit

    stmt = (
        _query()
        .join(OrgUnit, OrgUnit.id == TherapySession.clinic_id)
        .where(
            TherapySession.status.in_(ACTIVE),
            principal.org_filter(Permission.patients_read, OrgUnit.path),
        )
        .order_by(TherapySession.started_at)
    )
    return list(session.scalars(stmt))


def sessions_of_patient(
    session: Session, principal: Principal, patient_id: str
) -> list[TherapySession]:
    patients_service.get_patient(session, principal, patient_id)
    return list(
        session.scalars(
            _query()
            .where(TherapySession.patient_id == patient_id)
            .order_by(TherapySession.created_at.desc())
        )
    )


# ---------------------------------------------------------------------------- settings


def envelope_of(session: Session, model_id: str) -> dict[str, EnvelopeLimit]:
    rows = session.scalars(
        select(SafetyEnvelopeSetting).where(SafetyEnvelopeSetting.model_id == model_id)
    )
    return {
        r.setting: EnvelopeLimit(r.setting, r.unit, r.min_value, r.max_value, r.max_step)
        for r in rows
    }


def is_certified(session: Session, user_id: str, model_id: str, on: date | None = None) -> bool:
    """Whether the user holds a certificate for the model valid on ``on`` (default today)."""
    return eligibility.is_certified_on(session, user_id, model_id, on or _now().date())


@dataclass
class Proposal:
    change: SettingChange
    refusal: ExoshareError | None


def propose_setting_change(
    session: Session, principal: Principal, therapy_session_id: str, setting: str, value: float
) -> Proposal:
    """Check a proposed change and record it: ``sent`` with a command id, or ``refused``.

    First, who may change settings at all: a caller who cannot see the session (NotFound), may
    only follow it (a patient, a read-only grant: PermissionDenied) or holds no valid
    certificate for the unit's model (NotCertified) is refused before anything is stored, so
    no one outside the care team can write rows under a patient's session. Then the clinical
    checks of an allowed therapist's proposal, which are recorded (``refused`` with the reason,
    and audited) because what a clinician tried on a patient's device belongs in the record:
    the session is running, the value is inside the model's envelope (bounds, and maximum step
    from the last confirmed value), no change of the setting is awaiting an ack.
    """
    record = get_session(session, principal, therapy_session_id)
    model: DeviceModel = record.device_unit.model
    if not principal.covers(Permission.patients_write, record.clinic.path):
        raise PermissionDenied("you may follow this session but not change its settings")
    if run_refusal(session, principal, record) is not None:
        raise NotCertified(
            f"you hold no valid certificate for {model.name}; only therapists certified "
            "for this model may adjust it"
        )
    envelope = envelope_of(session, model.id)
    limit = envelope.get(setting)
    current = record.current_settings.get(setting)
    change = SettingChange(
        therapy_session_id=record.id,
        setting=setting[:60],
        unit=limit.unit if limit else "",
        previous_value=current,
        proposed_value=float(value),
        proposed_by_id=principal.user_ref,
        proposed_at=_now(),
        late_ack=False,
    )
    refusal: ExoshareError | None = None
    try:
        if record.status not in COMMANDABLE:
            raise SessionNotLive(
                f"the session is {record.status.value}; settings change only while it runs"
            )
        check_setting_change(envelope, setting, current, float(value))
        pending = session.scalar(
            select(SettingChange.id).where(
                SettingChange.therapy_session_id == record.id,
                SettingChange.setting == setting,
                SettingChange.status == ChangeStatus.sent,
            )
        )
        if pending is not None:
            raise CommandPending(
                f"a change of {setting} is still waiting for the device's answer",
                change_id=pending,
            )
    except ExoshareError as exc:
        refusal = exc
    if refusal is None:
        change.check_result = "passed"
        change.status = ChangeStatus.sent
        change.command_id = "cmd-" + secrets.token_hex(12)
        change.sent_at = _now()
    else:
        change.check_result = refusal.slug
        change.check_detail = refusal.detail
        change.status = ChangeStatus.refused
        change.reason = refusal.detail
    session.add(change)
    session.flush()
    audit.record(
        session,
        principal,
        "propose_setting" if refusal is None else "refuse_setting",
        "therapy_setting_change",
        change.id,
        patient_id=record.patient_id,
        detail={
            "setting": setting,
            "from": current,
            "to": float(value),
            "check": change.check_result,
            "reason": change.reason,
            "command_id": change.command_id,
        },
    )
    return Proposal(change, refusal)


def change_by_command(session: Session, command_id: str) -> SettingChange | None:
    found: SettingChange | None = session.scalar(
        select(SettingChange).where(SettingChange.command_id == command_id)
    )
    return found


def command_sent_to(session: Session, command_id: str, device_unit_id: str) -> bool:
    """Whether the command went to this device (the unit of the change's therapy session)."""
    found = session.scalar(
        select(SettingChange.id)
        .join(TherapySession, TherapySession.id == SettingChange.therapy_session_id)
        .where(
            SettingChange.command_id == command_id,
            TherapySession.device_unit_id == device_unit_id,
        )
    )
    return found is not None


def record_command_outcome(
    session: Session,
    command_id: str,
    status: ChangeStatus,
    reason: str | None = None,
    *,
    late: bool = False,
) -> SettingChange | None:
    """What became of a sent command: applied (settings follow), rejected, or timed out.

    A timeout never overwrites a device's answer; a device's answer after a timeout is kept
    (``late_ack``) because the device's settings are the truth.
    """
    change = change_by_command(session, command_id)
    if change is None:
        return None
    if status is ChangeStatus.timed_out:
        if change.status is not ChangeStatus.sent:
            return change
        change.reason = reason or "the device did not confirm the change in time; not applied"
    else:
        if change.status not in (ChangeStatus.sent, ChangeStatus.timed_out):
            return change  # a repeated ack
        change.late_ack = late or change.status is ChangeStatus.timed_out
        change.reason = reason
    change.status = status
    change.answered_at = _now()
    record = session.get(TherapySession, change.therapy_session_id)
    assert record is not None
    if status is ChangeStatus.applied:
        record.current_settings = {**record.current_settings, change.setting: change.proposed_value}
    audit.record(
        session,
        SYSTEM_INGESTION,
        f"setting_{status.value}",
        "therapy_setting_change",
        change.id,
        patient_id=record.patient_id,
        detail={
            "setting": change.setting,
            "value": change.proposed_value,
            "reason": change.reason,
            "late": change.late_ack,
            "command_id": command_id,
        },
    )
    return change


def setting_changes(session: Session, therapy_session_id: str) -> list[SettingChange]:
    return list(
        session.scalars(
            select(SettingChange)
            .where(SettingChange.therapy_session_id == therapy_session_id)
            .options(selectinload(SettingChange.proposed_by))
            .order_by(SettingChange.proposed_at.desc())
        )
    )


# ---------------------------------------------------------------------------- alerts


def rules_for(record: TherapySession, device_meta: dict[str, Any] | None = None) -> AlertRules:
    """Defaults, tightened by what the device declares (its own skin limit) and the patient."""
    values: dict[str, float] = {}
    meta = device_meta or {}
    limit = meta.get("skin_temp_limit_c")
    if isinstance(limit, int | float) and math.isfinite(limit):
        values["skin_temp_limit_c"] = min(float(limit), AlertRules().skin_temp_limit_c)
    values.update(record.alert_rules or {})
    return AlertRules(**values)


def record_alert(session: Session, therapy_session_id: str, alert: Alert) -> SessionAlert | None:
    """Keep a raised alert, or mark the open alert of its kind cleared."""
    if alert.cleared:
        open_alert = session.scalar(
            select(SessionAlert)
            .where(
                SessionAlert.therapy_session_id == therapy_session_id,
                SessionAlert.kind == alert.kind.value,
                SessionAlert.cleared_at.is_(None),
            )
            .order_by(SessionAlert.raised_at.desc())
            .limit(1)
        )
        if open_alert is not None:
            open_alert.cleared_at = _now()
        return open_alert
    row = SessionAlert(
        therapy_session_id=therapy_session_id,
        kind=alert.kind.value,
        severity=alert.severity.value,
        message=alert.message,
        value=alert.value if math.isfinite(alert.value) else 0.0,
        limit=alert.limit,
        at_s=alert.at_s,
        raised_at=_now(),
        detail={},
    )
    session.add(row)
    session.flush()
    record = session.get(TherapySession, therapy_session_id)
    audit.record(
        session,
        SYSTEM_INGESTION,
        "alert_raised",
        "therapy_alert",
        row.id,
        patient_id=record.patient_id if record else None,
        detail={"kind": row.kind, "value": row.value, "limit": row.limit},
    )
    return row


def acknowledge_alert(
    session: Session, principal: Principal, alert_id: str, note: str
) -> SessionAlert:
    alert = session.get(SessionAlert, alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    try:
        record = get_session(session, principal, alert.therapy_session_id, write=True)
    except NotFound:
        raise NotFound(f"alert {alert_id} not found") from None
    text = (note or "").strip()
    if not text:
        raise NoteRequired("say what you did about the alert in a note", field="note")
    if len(text) > NOTE_MAX_CHARS:
        raise InvalidInput(f"the note is longer than {NOTE_MAX_CHARS} characters", field="note")
    if alert.acknowledged_at is not None:
        raise AlreadyAcknowledged("this alert was already acknowledged")
    alert.acknowledged_at = _now()
    alert.acknowledged_by_id = principal.user_ref
    alert.note = text
    audit.record(
        session,
        principal,
        "acknowledge",
        "therapy_alert",
        alert.id,
        patient_id=record.patient_id,
        detail={"kind": alert.kind, "note": text},
    )
    return alert


def alerts_of(session: Session, therapy_session_id: str) -> list[SessionAlert]:
    return list(
        session.scalars(
            select(SessionAlert)
            .where(SessionAlert.therapy_session_id == therapy_session_id)
            .options(selectinload(SessionAlert.acknowledged_by))
            .order_by(SessionAlert.raised_at.desc())
        )
    )


def open_alert_counts(session: Session, ids: list[str]) -> dict[str, int]:
    """Unacknowledged alerts per session."""
    if not ids:
        return {}
    rows = session.execute(
        select(SessionAlert.therapy_session_id, func.count())
        .where(
            SessionAlert.therapy_session_id.in_(ids),
            SessionAlert.acknowledged_at.is_(None),
        )
        .group_by(SessionAlert.therapy_session_id)
    )
    return {sid: int(n) for sid, n in rows}


# ---------------------------------------------------------------------------- progress


@dataclass(frozen=True)
class ProgressPoint:
    """One recorded session's numbers for the progress page."""

    telemetry_session_id: str
    started_at: datetime
    duration_s: float | None
    cadence_steps_per_min: float | None
    stride_time_symmetry_pct: float | None
    step_time_symmetry_pct: float | None
    knee_rom_deg: float | None
    distance_m: float | None
    assistance_pct: float | None
    step_count: int | None


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def progress_point(record: TelemetrySession) -> ProgressPoint:
    summary = record.summary or {}
    symmetry = summary.get("symmetry", {})
    knee = summary.get("rom_deg", {}).get("knee", {})
    knees = [v for v in (_finite(knee.get("left")), _finite(knee.get("right"))) if v is not None]
    return ProgressPoint(
        telemetry_session_id=record.id,
        started_at=record.started_at,
        duration_s=record.duration_s,
        cadence_steps_per_min=record.cadence_steps_per_min,
        stride_time_symmetry_pct=_finite(symmetry.get("stride_time_s", {}).get("si_pct")),
        step_time_symmetry_pct=record.step_time_symmetry_index_pct,
        knee_rom_deg=sum(knees) / len(knees) if knees else None,
        distance_m=record.distance_m,
        assistance_pct=_finite((record.settings or {}).get("assistance_pct")),
        step_count=record.step_count,
    )


def progress(
    session: Session, principal: Principal, patient_id: str
) -> tuple[Patient, list[ProgressPoint], list[TelemetrySession]]:
    """The patient's analysed sessions, oldest first, with the numbers that show progress."""
    patient = patients_service.get_patient(session, principal, patient_id)  # scoped, audited
    rows = session.scalars(
        select(TelemetrySession)
        .where(TelemetrySession.patient_id == patient.id, TelemetrySession.summary.is_not(None))
        .order_by(TelemetrySession.started_at)
    ).all()
    return patient, [progress_point(r) for r in rows], list(rows)
