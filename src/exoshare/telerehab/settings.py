"""Remote setting changes of a running session: the checks, the record, the device's answer.

A change passes, in order: the caller may run the session (scope, certificate for the unit's
model), the session is running, the value is a safe next value in the model's safety envelope
(:mod:`exoshare.devices.envelope`, the rule the device itself runs), no change of the setting is
still waiting for the device. A refused change is still recorded (and audited):
:func:`propose_setting_change` returns the refusal instead of raising it, so the caller can
commit the record and then answer with the error. Sending the command and waiting for its ack is
the command channel's job (:mod:`exoshare.telerehab.commands`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from exoshare.auth import audit
from exoshare.auth.scope import SYSTEM_INGESTION, Permission, Principal
from exoshare.devices import service as devices_service
from exoshare.devices.envelope import check_setting_change
from exoshare.errors import (
    CommandPending,
    ExoshareError,
    NotCertified,
    PermissionDenied,
    SessionNotLive,
)
from exoshare.telerehab.models import SettingChange, TherapySession
from exoshare.telerehab.schemas import ChangeStatus
from exoshare.telerehab.sessions import COMMANDABLE, get_session, run_refusal


def _now() -> datetime:
    return datetime.now(UTC)


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
    model = record.device_unit.model
    if not principal.covers(Permission.patients_write, record.clinic.path):
        raise PermissionDenied("you may follow this session but not change its settings")
    if run_refusal(session, principal, record) is not None:
        raise NotCertified(
            f"you hold no valid certificate for {model.name}; only therapists certified "
            "for this model may adjust it"
        )
    envelope = devices_service.envelope_of(session, model.id)
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
