"""The clinical-safety rule of a therapy session: may this therapist run this patient on this unit.

One rule, asked wherever a session is planned, booked or started (telerehab planning and start,
a device announcing a recording, manual bookings, and the demo generator's own sessions):

* the therapist holds a certificate for the unit's model valid on that (clinic-local) date;
* the patient's height lies within the model's size range and their weight under its limit;
* the unit is functioning and not under maintenance at that time;
* the clinic holds the unit at that time (custody), and no lease lets it to another clinic;
* the model is approved, directly or by mutual recognition, in the clinic's country.

:func:`refusals` returns every rule that fails, so a page can say all that stands in the way at
once; :func:`require_eligible` raises them as one :class:`SessionNotEligible` (409).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from exoshare.academy.certificates import is_certified_on
from exoshare.db import as_utc
from exoshare.devices import service as devices_service
from exoshare.devices.approvals.service import eligibility as approval_eligibility
from exoshare.devices.schemas import UnitStatus
from exoshare.errors import SessionNotEligible
from exoshare.fleet import custody
from exoshare.fleet.custody import current_holders
from exoshare.fleet.leases import lease_covering
from exoshare.fleet.maintenance import unavailable_intervals
from exoshare.network import service as network_service

if TYPE_CHECKING:
    from exoshare.devices.models import DeviceModel, DeviceUnit
    from exoshare.network.models import OrgUnit
    from exoshare.patients.models import Patient

NOT_CERTIFIED = "not-certified"
TOO_SHORT = "patient-too-short"
TOO_TALL = "patient-too-tall"
TOO_HEAVY = "patient-too-heavy"
UNIT_NOT_FUNCTIONING = "unit-not-functioning"
UNIT_IN_MAINTENANCE = "unit-in-maintenance"
UNIT_NOT_HELD = "unit-not-held"
UNIT_LEASE_ENDED = "unit-lease-ended"
UNIT_LEASED_ELSEWHERE = "unit-leased-elsewhere"
MODEL_NOT_APPROVED = "model-not-approved"

UNIT_AWAY = frozenset(
    {UNIT_NOT_HELD, UNIT_LEASE_ENDED, UNIT_LEASED_ELSEWHERE, UNIT_NOT_FUNCTIONING}
)
"""Refusals that take a unit away from a clinic for a whole day (maintenance is for hours)."""


@dataclass(frozen=True)
class Refusal:
    """One failed rule: the field to fix, a stable code, the words, and the values in them
    (pages translate by code and fill the values in: ``web.labels.ELIGIBILITY``)."""

    field: str
    code: str
    reason: str
    params: dict[str, str] = dataclass_field(default_factory=dict)


def clinic_day(clinic: OrgUnit, at: datetime) -> date:
    """The calendar day at the clinic: a certificate runs out at the clinic's midnight."""
    zone = ZoneInfo(clinic.timezone) if clinic.timezone else UTC
    return as_utc(at).astimezone(zone).date()


def certification_refusal(
    session: Session, therapist_id: str | None, model: DeviceModel, day: date
) -> Refusal | None:
    """The certification rule alone (setting changes and lifecycle actions ask only this)."""
    if therapist_id is not None and is_certified_on(session, therapist_id, model.id, day):
        return None
    return Refusal(
        "therapist_id",
        NOT_CERTIFIED,
        f"the therapist holds no certificate for the {model.name} valid on {day.isoformat()}",
        {"model": model.name, "day": day.isoformat()},
    )


def patient_refusals(patient: Patient, model: DeviceModel) -> list[Refusal]:
    """Height within the model's size range, weight within its limit (both ends inclusive)."""
    found: list[Refusal] = []
    size = {
        "model": model.name,
        "height": f"{patient.height_m:.2f}",
        "min": f"{model.min_patient_height_m:.2f}",
        "max": f"{model.max_patient_height_m:.2f}",
    }
    words = "the patient is {height} m tall; the {model} fits {min}–{max} m"
    if patient.height_m < model.min_patient_height_m:
        found.append(Refusal("patient.height_m", TOO_SHORT, words.format(**size), size))
    elif patient.height_m > model.max_patient_height_m:
        found.append(Refusal("patient.height_m", TOO_TALL, words.format(**size), size))
    if patient.weight_kg > model.max_patient_weight_kg:
        load = {
            "model": model.name,
            "weight": f"{patient.weight_kg:.1f}",
            "max": f"{model.max_patient_weight_kg:.0f}",
        }
        found.append(
            Refusal(
                "patient.weight_kg",
                TOO_HEAVY,
                "the patient weighs {weight} kg; the {model} carries at most {max} kg".format(
                    **load
                ),
                load,
            )
        )
    return found


def unit_refusals(
    session: Session, unit: DeviceUnit, clinic: OrgUnit, at: datetime, duration: timedelta
) -> list[Refusal]:
    """The unit works, is not in maintenance, and is the clinic's to use for the whole slot."""
    found: list[Refusal] = []
    at = as_utc(at)
    if unit.status is not UnitStatus.functioning:
        found.append(
            Refusal(
                "device_unit_id",
                UNIT_NOT_FUNCTIONING,
                f"unit {unit.serial_number} is {unit.status.value.replace('_', ' ')}"
                + (f" ({unit.status_reason})" if unit.status_reason else ""),
                {"serial": unit.serial_number, "status": unit.status.value},
            )
        )
    end = at + max(duration, timedelta(seconds=1))
    blocked = unavailable_intervals(session, [unit.id], at, end)[unit.id]
    if blocked:
        starts, ends = (as_utc(b).isoformat(timespec="minutes") for b in blocked[0])
        found.append(
            Refusal(
                "device_unit_id",
                UNIT_IN_MAINTENANCE,
                f"unit {unit.serial_number} is under maintenance from {starts} to {ends}",
                {"serial": unit.serial_number, "from": starts, "until": ends},
            )
        )
    day = clinic_day(clinic, at)
    lease = lease_covering(session, unit.id, day)
    if lease is not None and lease.clinic_id != clinic.id:
        lessee = network_service.find_org_unit(session, lease.clinic_id)
        leased = {
            "serial": unit.serial_number,
            "clinic": lessee.code if lessee else "?",
            "until": lease.last_day.isoformat(),
        }
        found.append(
            Refusal(
                "device_unit_id",
                UNIT_LEASED_ELSEWHERE,
                "unit {serial} is leased to {clinic} until {until}".format(**leased),
                leased,
            )
        )
        return found
    holder = current_holders(session, [unit.id], at).get(unit.id)
    if holder != clinic.id:
        where = network_service.find_org_unit(session, holder) if holder else None
        held = {
            "serial": unit.serial_number,
            "holder": where.code if where else "?",
            "clinic": clinic.code,
        }
        found.append(
            Refusal(
                "device_unit_id",
                UNIT_NOT_HELD,
                "unit {serial} is held by {holder}, not {clinic}".format(**held),
                held,
            )
        )
    elif (
        holder != unit.org_unit_id
        and lease is None
        and custody.arrived_on_lease(session, unit.id, at)
    ):
        # Custody came here with a lease that has run out: the unit goes back, it is not used.
        # (A plain custody move, without a lease, hands the unit over for good.)
        found.append(
            Refusal(
                "device_unit_id",
                UNIT_LEASE_ENDED,
                f"unit {unit.serial_number} is at {clinic.code} without a lease on "
                f"{day.isoformat()}",
                {"serial": unit.serial_number, "clinic": clinic.code, "day": day.isoformat()},
            )
        )
    return found


def unit_away_on(session: Session, unit: DeviceUnit, clinic: OrgUnit, day: date) -> Refusal | None:
    """Why the clinic may not use the unit at all on ``day`` (a lease to another clinic, custody
    elsewhere, a lease of its own that ended, a unit not functioning), asked at the clinic's
    noon; None when the unit is the clinic's that day.

    The one answer to "is this unit here that day": the schedule run's units over time and the
    desk's choice of units both ask it.
    """
    zone = ZoneInfo(clinic.timezone) if clinic.timezone else UTC
    at = datetime.combine(day, time(12), tzinfo=zone)
    found = unit_refusals(session, unit, clinic, at, timedelta(minutes=1))
    return next((r for r in found if r.code in UNIT_AWAY), None)


def approval_refusal(session: Session, model: DeviceModel, clinic: OrgUnit) -> Refusal | None:
    """The model may be used in the clinic's country (directly or by mutual recognition)."""
    country = (clinic.country_code or "").upper()
    if not country:
        return Refusal(
            "clinic.country_code",
            MODEL_NOT_APPROVED,
            f"{clinic.code} has no country, so no approval of the {model.name} can apply",
            {"model": model.name, "country": "?"},
        )
    answer = approval_eligibility(session, model.id, country)
    if answer.eligible:
        return None
    return Refusal(
        "device_unit.model_id",
        MODEL_NOT_APPROVED,
        f"the {model.name} may not be used in {country}: {answer.explanation}",
        {"model": model.name, "country": country},
    )


def refusals(
    session: Session,
    *,
    therapist_id: str | None,
    patient: Patient,
    unit: DeviceUnit,
    clinic: OrgUnit,
    at: datetime,
    duration: timedelta = timedelta(0),
) -> list[Refusal]:
    """Every rule the session would break (empty when it may go ahead).

    ``clinic`` is where the session takes place (for telerehab the patient's clinic, for a
    booking the clinic holding the unit); ``therapist_id`` None means nobody certified runs it.
    """
    model = devices_service.find_model(session, unit.model_id)
    if model is None:  # a foreign key makes this impossible; say so rather than crash later
        raise LookupError(f"device model {unit.model_id} of unit {unit.serial_number} is missing")
    found: list[Refusal] = []
    certification = certification_refusal(session, therapist_id, model, clinic_day(clinic, at))
    if certification is not None:
        found.append(certification)
    found.extend(patient_refusals(patient, model))
    found.extend(unit_refusals(session, unit, clinic, at, duration))
    approval = approval_refusal(session, model, clinic)
    if approval is not None:
        found.append(approval)
    return found


def require_eligible(
    session: Session,
    *,
    therapist_id: str | None,
    patient: Patient,
    unit: DeviceUnit,
    clinic: OrgUnit,
    at: datetime,
    duration: timedelta = timedelta(0),
) -> None:
    """Raise :class:`SessionNotEligible` with every failed rule, or return."""
    found = refusals(
        session,
        therapist_id=therapist_id,
        patient=patient,
        unit=unit,
        clinic=clinic,
        at=at,
        duration=duration,
    )
    if found:
        raise SessionNotEligible(found)


def candidate_units(session: Session, clinic_id: str) -> list[DeviceUnit]:
    """Units a clinic might think of using: those it owns and those ever moved in to it.

    Which of them it may use at a given time is :func:`refusals`' answer (a unit it owns may be
    leased out; one moved in may have gone back), so pages can say why a unit is not offered.
    """
    return devices_service.units_owned_by_or_among(
        session, clinic_id, custody.moved_in_unit_ids(clinic_id)
    )
