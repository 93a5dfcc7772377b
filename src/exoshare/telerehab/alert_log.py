"""The alerts a session raised, kept: store (raise / clear), acknowledge with a note, list.

The rules that raise and clear alerts are pure and live in :mod:`exoshare.telerehab.alerts`;
this module is their log in the database, and the per-session limits (:func:`rules_for`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from exoshare.auth import audit
from exoshare.auth.scope import SYSTEM_INGESTION, Principal
from exoshare.errors import N_, AlreadyAcknowledged, InvalidInput, NoteRequired, NotFound
from exoshare.telerehab.alerts import Alert, AlertRules
from exoshare.telerehab.models import SessionAlert, TherapySession
from exoshare.telerehab.sessions import get_session

NOTE_MAX_CHARS = 2000


def _now() -> datetime:
    return datetime.now(UTC)


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
        raise NoteRequired.worded(
            N_("say what you did about the alert in a note"), also={"field": "note"}
        )
    if len(text) > NOTE_MAX_CHARS:
        raise InvalidInput(f"the note is longer than {NOTE_MAX_CHARS} characters", field="note")
    if alert.acknowledged_at is not None:
        raise AlreadyAcknowledged.worded(N_("this alert was already acknowledged"))
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
