"""The audit log of patient data: who read or wrote what, when, and from where."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exoshare.auth.models import AuditEvent
from exoshare.auth.scope import Principal


def record(
    session: Session,
    principal: Principal,
    action: str,
    entity: str,
    entity_id: str | None,
    patient_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction, so the log and the change commit together.

    A system principal has no user: its rows carry ``user_id`` NULL and ``system:<purpose>`` as
    ``user_agent``, so a reader tells them apart from a person's.
    """
    event = AuditEvent(
        user_id=principal.user_ref,
        action=action,
        entity=entity,
        entity_id=entity_id,
        patient_id=patient_id,
        client_address=principal.client_address,
        user_agent=(principal.user_agent or "")[:300] or None,
        request_path=principal.request_path,
        detail=detail,
    )
    session.add(event)
    return event


def events_for_patient(session: Session, patient_id: str, limit: int = 100) -> list[AuditEvent]:
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.patient_id == patient_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def details_of(
    session: Session, entity: str, entity_id: str, action: str
) -> list[dict[str, Any] | None]:
    """The ``detail`` of every event of ``action`` on one entity (e.g. to record it only once)."""
    return list(
        session.scalars(
            select(AuditEvent.detail).where(
                AuditEvent.entity == entity,
                AuditEvent.entity_id == entity_id,
                AuditEvent.action == action,
            )
        )
    )
