"""Pay-per-use metering: one idempotent usage event per completed therapy session.

A session's event is keyed by a hash of (unit, patient, session start), so a retried or
duplicated report never bills twice. Anonymous field usage per device model is counted here too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exoshare.auth.scope import Permission, Principal
from exoshare.devices import service as devices_service
from exoshare.errors import N_, InvalidInput
from exoshare.fleet.custody import current_holder, current_holders
from exoshare.fleet.models import UsageEvent
from exoshare.network import service as network_service
from exoshare.patients import service as patients_service


def transaction_id_for(unit_id: str, patient_id: str, session_start: datetime) -> str:
    """The deterministic id of a session's usage: SHA-256 of unit, patient and UTC start."""
    if session_start.tzinfo is None:
        raise InvalidInput.worded(
            N_("session_start must carry a time zone"), also={"field": "session_start"}
        )
    start = session_start.astimezone(UTC).isoformat(timespec="microseconds")
    return hashlib.sha256(f"{unit_id}|{patient_id}|{start}".encode()).hexdigest()


@dataclass(frozen=True)
class UsageRecord:
    event: UsageEvent
    created: bool
    """False when the session had been reported before (a replay): nothing new was stored."""


def record_usage(
    session: Session,
    *,
    unit_id: str,
    patient_id: str,
    session_start: datetime,
    session_end: datetime | None = None,
    source: str = "telemetry",
) -> UsageRecord:
    """Meter one completed therapy session; idempotent on (unit, patient, session start).

    Telemetry calls this when a session completes. A retried or duplicated report returns the
    event already stored (``created=False``) and never bills twice, also when two reports race.

    >>> record_usage(s, unit_id=u, patient_id=p, session_start=t).created    # doctest: +SKIP
    True
    >>> record_usage(s, unit_id=u, patient_id=p, session_start=t).created    # doctest: +SKIP
    False
    """
    transaction_id = transaction_id_for(unit_id, patient_id, session_start)
    existing = session.scalar(select(UsageEvent).where(UsageEvent.transaction_id == transaction_id))
    if existing is not None:
        return UsageRecord(existing, False)
    unit = devices_service.find_unit(session, unit_id)
    if unit is None:
        raise InvalidInput(f"device unit {unit_id} does not exist", field="unit_id")
    patient = patients_service.find_patient(session, patient_id)
    if patient is None or patient.voided:
        raise InvalidInput(f"patient {patient_id} does not exist", field="patient_id")
    if session_end is not None and session_end <= session_start:
        raise InvalidInput.worded(
            N_("session_end must be after session_start"), also={"field": "session_end"}
        )
    start = session_start.astimezone(UTC)
    # The clinic that held the unit ran the session and pays; a unit at home or at a non-clinic
    # holder bills the patient's own clinic.
    holder = network_service.find_clinic(session, current_holder(session, unit.id, start))
    clinic_id = holder.id if holder is not None else patient.clinic_id
    event = UsageEvent(
        transaction_id=transaction_id,
        unit_id=unit.id,
        patient_id=patient.id,
        clinic_id=clinic_id,
        session_start=start,
        session_end=session_end.astimezone(UTC) if session_end else None,
        source=source,
    )
    try:
        with session.begin_nested():
            session.add(event)
            session.flush()
    except IntegrityError:
        again = session.scalar(
            select(UsageEvent).where(UsageEvent.transaction_id == transaction_id)
        )
        if again is None:
            raise
        return UsageRecord(again, False)
    return UsageRecord(event, True)


def record_usage_for(
    session: Session,
    principal: Principal,
    *,
    unit_id: str,
    patient_id: str,
    session_start: datetime,
    session_end: datetime | None = None,
) -> UsageRecord:
    """The API's path: the caller reports use by their own clinics, of patients they may read.

    The patient must be one whose record the caller may read, of a clinic in their
    ``usage:write`` scope, and the unit held at ``session_start`` by such a clinic (the holder
    is who is billed). Any other unit or patient is refused exactly like one that does not
    exist, so a caller can neither bill another clinic nor learn which ids exist there. The
    operator reads no clinical records, so it cannot confirm patient ids here either: clinics
    report their sessions, and telemetry meters completed ones itself.
    """
    patient = patients_service.find_patient(session, patient_id)
    clinic = (
        network_service.find_org_unit(session, patient.clinic_id)
        if patient and not patient.voided
        else None
    )
    if (
        clinic is None
        or not principal.covers(Permission.patients_read, clinic.path)
        or not principal.covers(Permission.usage_write, clinic.path)
    ):
        raise InvalidInput(f"patient {patient_id} does not exist", field="patient_id")
    if session_start.tzinfo is None:
        raise InvalidInput.worded(
            N_("session_start must carry a time zone"), also={"field": "session_start"}
        )
    unit = devices_service.find_unit(session, unit_id)
    holder_id = (
        current_holders(session, [unit.id], session_start.astimezone(UTC)).get(unit.id)
        if unit
        else None
    )
    holder = network_service.find_org_unit(session, holder_id) if holder_id else None
    if holder is None or not principal.covers(Permission.usage_write, holder.path):
        raise InvalidInput(f"device unit {unit_id} does not exist", field="unit_id")
    return record_usage(
        session,
        unit_id=unit_id,
        patient_id=patient_id,
        session_start=session_start,
        session_end=session_end,
        source="api",
    )


@dataclass(frozen=True)
class ModelFieldUsage:
    """Anonymous use of one device model in the field: counts only, no patient or clinic."""

    model_id: str
    units: int
    countries: int
    sessions: int
    patients: int


def field_usage_by_model(
    session: Session, model_ids: list[str], since: datetime
) -> dict[str, ModelFieldUsage]:
    """What a manufacturer may see of its models: units, countries, sessions and distinct
    patients since ``since`` — aggregates, never who or where exactly."""
    owners = devices_service.owners_by_model(session, model_ids)
    country_of = network_service.country_codes(
        session, {owner for of_model in owners.values() for owner in of_model}
    )
    units = {model_id: len(of_model) for model_id, of_model in owners.items()}
    countries = {
        model_id: len({country_of[o] for o in of_model} - {None})
        for model_id, of_model in owners.items()
    }
    of_models = devices_service.units_of_models(model_ids).subquery()
    used = {
        model_id: (n_sessions, n_patients)
        for model_id, n_sessions, n_patients in session.execute(
            select(
                of_models.c.model_id,
                func.count(UsageEvent.id),
                func.count(distinct(UsageEvent.patient_id)),
            )
            .select_from(UsageEvent)
            .join(of_models, of_models.c.unit_id == UsageEvent.unit_id)
            .where(UsageEvent.session_start >= since)
            .group_by(of_models.c.model_id)
        ).all()
    }
    return {
        model_id: ModelFieldUsage(
            model_id,
            units.get(model_id, 0),
            countries.get(model_id, 0),
            used.get(model_id, (0, 0))[0],
            used.get(model_id, (0, 0))[1],
        )
        for model_id in model_ids
    }
