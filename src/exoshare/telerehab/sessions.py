"""The life of a therapy session: who may see and run it, plan, start, pause, resume, complete,
abort, and the device's own start (streaming) and end.

Every function takes the SQL session first and raises domain errors. A session's state machine
is :data:`TRANSITIONS`; starting or resuming asks the clinical-safety rule (eligibility), the
other moves of a running session need a certificate for the unit's model.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from exoshare.academy import certificates
from exoshare.auth import audit
from exoshare.auth.scope import SYSTEM_INGESTION, Permission, Principal
from exoshare.devices import service as devices_service
from exoshare.devices.envelope import check_setting_change
from exoshare.errors import (
    InvalidInput,
    InvalidTransition,
    NotCertified,
    NotFound,
    PermissionDenied,
    ReasonRequired,
    SettingOutsideEnvelope,
    UnitBusy,
    UnknownSetting,
)
from exoshare.network import service as network_service
from exoshare.patients import service as patients_service
from exoshare.scheduling import bookings, eligibility, rebooking
from exoshare.telemetry import reads as telemetry_reads
from exoshare.telerehab.alerts import AlertRules
from exoshare.telerehab.models import AssistanceAdvice, TherapySession
from exoshare.telerehab.schemas import AdviceDecision, TherapyLocation, TherapyStatus

if TYPE_CHECKING:
    from exoshare.devices.models import DeviceUnit
    from exoshare.patients.models import Patient

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


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------- access


def _query() -> Any:
    return select(TherapySession).options(
        patients_service.with_clinic(TherapySession.patient),
        *devices_service.with_model_and_owner(TherapySession.device_unit),
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
    if not patients_service.may_read_patient(session, principal, record.patient_id):
        # Cover for another clinic reads only with the patient's remote-care consent.
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
    planned_settings: dict[str, float] | None = None,
    booking_id: str | None = None,
) -> TherapySession:
    """Plan a session of a patient on a unit, run by the caller.

    Its starting settings are ``planned_settings`` (each inside the model's envelope), or else
    the patient's last accepted or edited assist-as-needed advice for the unit's model that no
    session has taken yet.

    ``booking_id``: the session of a booking that is due (its patient and unit, at its clinic
    and time, run by its therapist: :func:`~exoshare.scheduling.rebooking.startable_booking`);
    the booking links to the session from then on.
    """
    booking = (
        rebooking.startable_booking(session, principal, booking_id, _now())
        if booking_id is not None
        else None
    )
    if booking is not None and (
        booking.patient_id != patient_id or booking.unit_id != device_unit_id
    ):
        raise InvalidInput(
            "the booking is of another patient or unit; leave both out or give the booking's",
            field="booking_id",
        )
    patient = patients_service.find_patient(session, patient_id)
    if patient is None or patient.voided:
        raise NotFound(f"patient {patient_id} not found")
    if not principal.covers(Permission.patients_read, patient.clinic.path):
        raise NotFound(f"patient {patient_id} not found")
    if not principal.covers(Permission.patients_write, patient.clinic.path):
        raise PermissionDenied("you may not plan sessions for this patient")
    unit = devices_service.find_unit(session, device_unit_id)
    if unit is None or not _may_see_unit(session, principal, unit):
        raise InvalidInput(f"device unit {device_unit_id} not found", field="device_unit_id")
    rules = _checked_rules(alert_rules or {})
    # A booking's session is held where it was booked (the clinic holding the unit then).
    clinic = booking.clinic if booking is not None else patient.clinic
    if booking is not None:
        planned_for = booking.starts_at
    eligibility.require_eligible(
        session,
        therapist_id=principal.user_id,
        patient=patient,
        unit=unit,
        clinic=clinic,
        at=planned_for or _now(),
    )
    record = TherapySession(
        patient_id=patient.id,
        device_unit_id=unit.id,
        therapist_id=principal.user_id,
        clinic_id=clinic.id,
        location=location,
        status=S.planned,
        planned_for=planned_for,
        alert_rules=rules,
        current_settings={},
    )
    session.add(record)
    session.flush()
    if booking is not None:
        rebooking.link_session(booking, record.id)
    elif planned_for is not None and principal.user_id:
        # On the clinic's calendar from now on, so no schedule run books the unit over it.
        bookings.record_session_held(
            session, patient.id, unit.id, principal.user_id, planned_for, held=False
        )
    audit.record(
        session,
        principal,
        "create",
        "therapy_session",
        record.id,
        patient_id=patient.id,
        detail={"device_unit": unit.serial_number, "location": location.value},
    )
    if planned_settings is not None:
        set_planned_settings(session, principal, record, planned_settings)
    else:
        advised = _untaken_advice(session, patient.id, unit.model_id)
        if advised is not None and advised.decided_values:
            set_planned_settings(session, principal, record, advised.decided_values, advised)
    return get_session(session, principal, record.id)


def start_booked_session(
    session: Session, principal: Principal, booking_id: str, location: TherapyLocation
) -> TherapySession:
    """Start a booked session that is due, in one step: planned with the booking's patient,
    unit, clinic and therapist (:func:`plan_session`, every safety rule) and started
    (:func:`transition`, every rule again, now). The booking then links to the session."""
    booking = rebooking.startable_booking(session, principal, booking_id, _now())
    record = plan_session(
        session, principal, booking.patient_id, booking.unit_id, location, booking_id=booking.id
    )
    return transition(session, principal, record.id, "start")


def _untaken_advice(session: Session, patient_id: str, model_id: str) -> AssistanceAdvice | None:
    """The patient's latest decision on advice for the model, if it set values no session took."""
    latest: AssistanceAdvice | None = session.scalar(
        select(AssistanceAdvice)
        .where(
            AssistanceAdvice.patient_id == patient_id,
            AssistanceAdvice.device_model_id == model_id,
        )
        .order_by(AssistanceAdvice.decided_at.desc())
        .limit(1)
    )
    if latest is None or latest.decision is AdviceDecision.declined:
        return None
    return latest if latest.applied_to_session_id is None else None


def next_planned_session(session: Session, patient_id: str, model_id: str) -> TherapySession | None:
    """The patient's earliest planned session on a unit of the model (unscoped: the caller
    checked the patient)."""
    candidates = session.scalars(
        _query()
        .where(TherapySession.patient_id == patient_id, TherapySession.status == S.planned)
        .order_by(TherapySession.planned_for, TherapySession.created_at)
    ).all()
    return next((c for c in candidates if c.device_unit.model_id == model_id), None)


def set_planned_settings(
    session: Session,
    principal: Principal,
    record: TherapySession,
    values: dict[str, float],
    advice: AssistanceAdvice | None = None,
) -> None:
    """Give a planned session its starting settings, each a value the model's envelope allows
    at power-on (InvalidInput naming the setting otherwise); audited."""
    if record.status is not S.planned:
        raise InvalidTransition(
            f"a {record.status.value} session already has its settings; plan a new one",
            current_status=record.status.value,
        )
    envelope = devices_service.envelope_of(session, record.device_unit.model_id)
    for name, value in values.items():
        try:
            check_setting_change(envelope, name, None, float(value))
        except (SettingOutsideEnvelope, UnknownSetting) as refusal:
            raise type(refusal)(refusal.detail, field=f"planned_settings.{name}") from None
    record.planned_settings = {name: float(value) for name, value in values.items()}
    if advice is not None:
        advice.applied_to_session_id = record.id
    audit.record(
        session,
        principal,
        "plan_settings",
        "therapy_session",
        record.id,
        patient_id=record.patient_id,
        detail={"settings": record.planned_settings, "advice": advice.id if advice else None},
    )


def _may_see_unit(session: Session, principal: Principal, unit: DeviceUnit) -> bool:
    """Its owner's staff see a unit, and so do the staff of the clinic holding it (a lease)."""
    from exoshare.fleet.custody import current_holder

    if principal.covers(Permission.devices_read, unit.org_unit.path):
        return True
    holder = network_service.find_org_unit(session, current_holder(session, unit.id))
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
        # A session started without a booking is on the calendar (and in utilisation) too.
        bookings.record_session_held(
            session,
            record.patient_id,
            record.device_unit_id,
            record.therapist_id,
            record.started_at,
            held=True,
            therapy_session_id=record.id,
        )
    if action == "resume" and record.telemetry_session_id is None:
        target = S.started
    if target in (S.completed, S.aborted):
        record.ended_at = _now()
        record.end_reason = reason
    previous = record.status
    record.status = target
    if previous is S.planned and target is S.aborted:
        booked = bookings.booking_of_session(session, record.id)
        if booked is not None:
            rebooking.unlink_session(booked)
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
    recording = telemetry_reads.find_recording(session, telemetry_session_id)
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
        .order_by(TherapySession.created_at, TherapySession.id)
        # Several server processes may hear of one recording at once: the first to lock the
        # unit's sessions links one; the others wait, then find it linked (below).
        .with_for_update()
    ).all()
    linked = session.scalar(
        select(TherapySession).where(TherapySession.telemetry_session_id == recording.id)
    )
    if linked is not None:
        return linked
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
        # A device that starts its session itself puts it on the calendar too.
        bookings.record_session_held(
            session,
            record.patient_id,
            record.device_unit_id,
            record.therapist_id,
            record.started_at,
            held=True,
            therapy_session_id=record.id,
        )
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
    details = audit.details_of(session, "therapy_session", therapy_session_id, "start_refused")
    return any((d or {}).get("telemetry_session") == recording_id for d in details)


def active_sessions(session: Session) -> list[TherapySession]:
    """Every session with a device in use, for the live hub to follow (unscoped)."""
    return list(session.scalars(_query().where(TherapySession.status.in_(ACTIVE))))


def live_sessions(session: Session, principal: Principal) -> list[TherapySession]:
    """Sessions in the caller's scope that are started, live or paused."""
    stmt = (
        _query()
        .where(
            TherapySession.status.in_(ACTIVE),
            patients_service.readable(
                principal, TherapySession.patient_id, TherapySession.clinic_id
            ),
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


def is_certified(session: Session, user_id: str, model_id: str, on: date | None = None) -> bool:
    """Whether the user holds a certificate for the model valid on ``on`` (default today)."""
    return certificates.is_certified_on(session, user_id, model_id, on or _now().date())


# ------------------------------------------------------------------ trusted internal callers


def record_completed_session(
    session: Session,
    principal: Principal,
    patient: Patient,
    unit: DeviceUnit,
    therapist_id: str,
    started_at: datetime,
    ended_at: datetime,
    telemetry_session_id: str,
    settings: dict[str, float],
    location: TherapyLocation = TherapyLocation.clinic,
    end_reason: str = "session plan completed",
    planned_settings: dict[str, float] | None = None,
) -> TherapySession:
    """A session that already took place, with its recording: for callers that write history
    (the demo's past weeks). The caller chose unit and therapist by the clinical-safety rule."""
    if not principal.is_system:
        raise PermissionDenied("only exoshare itself may record a past session")
    record = TherapySession(
        patient_id=patient.id,
        device_unit_id=unit.id,
        therapist_id=therapist_id,
        clinic_id=patient.clinic_id,
        location=location,
        status=TherapyStatus.completed,
        planned_for=started_at,
        started_at=started_at,
        live_at=started_at,
        ended_at=ended_at,
        end_reason=end_reason,
        telemetry_session_id=telemetry_session_id,
        planned_settings=dict(planned_settings) if planned_settings is not None else None,
        settings_at_start=dict(settings),
        current_settings=dict(settings),
        alert_rules={},
    )
    session.add(record)
    bookings.record_session_held(session, patient.id, unit.id, therapist_id, started_at, held=True)
    return record


def abort_active_sessions(session: Session, principal: Principal, reason: str) -> int:
    """End every started, live or paused session as aborted (their devices are gone: the demo
    restarted); returns how many."""
    if not principal.is_system:
        raise PermissionDenied("only exoshare itself may abort every active session")
    records = list(session.scalars(select(TherapySession).where(TherapySession.status.in_(ACTIVE))))
    for record in records:
        record.status = TherapyStatus.aborted
        record.ended_at = datetime.now(UTC)
        record.end_reason = reason
    return len(records)
