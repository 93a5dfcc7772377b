"""Each patient's reminder preference: read and set by the patient or their clinic admin, audited.

The patient reaches their own record through their login; a clinic admin (who keeps the
clinic's schedule and writes its patients' records) sets it for a patient of the clinic. The
care team reads it. Anyone else gets the answer a missing patient gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from babel import Locale, UnknownLocaleError
from sqlalchemy import select
from sqlalchemy.orm import Session

from exoshare.auth import audit
from exoshare.auth.scope import Permission, Principal
from exoshare.errors import InvalidInput, NotFound, PermissionDenied
from exoshare.patients import service as patients_service
from exoshare.reminders.models import ReminderPreference
from exoshare.reminders.phones import to_e164
from exoshare.reminders.schemas import PreferenceIn, ReminderChannel

if TYPE_CHECKING:
    from exoshare.patients.models import Patient

DEFAULT_LEAD_HOURS = 24
MAX_LANGUAGE_CODE = 12
"""The column's width: a locale Babel writes longer (aliases expand) is refused, not cut."""


@dataclass(frozen=True)
class Preference:
    """A patient's preference, or the default (no reminders) when none was chosen yet."""

    patient_id: str
    channel: ReminderChannel
    language: str
    lead_hours: int
    phone_e164: str | None
    email: str | None
    updated_at: datetime | None


def is_own(principal: Principal, patient: Patient) -> bool:
    return patient.user_id is not None and patient.user_id == principal.user_id


def may_set_for(principal: Principal, patient: Patient) -> bool:
    """The clinic admin's right: keeps the schedule and writes records of the patient's clinic."""
    path = patient.clinic.path
    return principal.covers(Permission.scheduling_manage, path) and principal.covers(
        Permission.patients_write, path
    )


def _patient(session: Session, principal: Principal, patient_id: str) -> Patient:
    """A patient the caller may read the preference of; NotFound for anyone else's."""
    patient = patients_service.find_patient(session, patient_id)
    if patient is None or patient.voided:
        raise NotFound(f"patient {patient_id} not found")
    if not (
        is_own(principal, patient)
        or principal.covers(Permission.patients_read, patient.clinic.path)
    ):
        raise NotFound(f"patient {patient_id} not found")
    return patient


def own_patient_id(session: Session, principal: Principal) -> str:
    own = patients_service.patient_of_user(session, principal.user_id or None)
    if own is None or own.voided:
        raise NotFound("no patient record is linked to your account")
    return own.id


def _as_preference(patient: Patient, row: ReminderPreference | None) -> Preference:
    if row is None:
        return Preference(
            patient.id, ReminderChannel.none, patient.preferred_language, DEFAULT_LEAD_HOURS,
            None, None, None,
        )  # fmt: skip
    return Preference(
        patient.id, row.channel, row.language, row.lead_hours, row.phone_e164, row.email,
        row.updated_at,
    )  # fmt: skip


def get_preference(session: Session, principal: Principal, patient_id: str) -> Preference:
    patient = _patient(session, principal, patient_id)
    row = session.scalar(
        select(ReminderPreference).where(ReminderPreference.patient_id == patient.id)
    )
    audit.record(
        session, principal, "read", "reminder_preference", row.id if row else None,
        patient_id=patient.id,
    )  # fmt: skip
    return _as_preference(patient, row)


def _language(code: str) -> str:
    try:
        parsed = str(Locale.parse(code.strip().replace("-", "_")))
    except (ValueError, UnknownLocaleError):
        parsed = ""
    if not parsed or len(parsed) > MAX_LANGUAGE_CODE:
        raise InvalidInput(
            f"{code!r} is not a language code; use one like es, en or pt_BR", field="language"
        )
    return parsed


def _email(address: str | None) -> str | None:
    # One '@' with text on both sides and no spaces: deliverability is the mail server's to
    # judge (exoshare has no e-mail validation library, and pydantic's needs one).
    if address is None or not address.strip():
        return None
    text = address.strip()
    local, at, domain = text.partition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in text):
        raise InvalidInput(f"{text!r} is not an e-mail address (name@example.org)", field="email")
    return text


def set_preference(
    session: Session, principal: Principal, patient_id: str, choice: PreferenceIn
) -> Preference:
    """Store the patient's choice (audited); bad input changes nothing."""
    patient = _patient(session, principal, patient_id)
    if not (is_own(principal, patient) or may_set_for(principal, patient)):
        raise PermissionDenied(
            "only the patient or their clinic admin may change how the patient is reminded"
        )
    language = _language(choice.language)
    phone = to_e164(choice.phone, patient.clinic.country_code) if choice.phone else None
    email = _email(choice.email)
    if choice.channel is ReminderChannel.sms and phone is None:
        raise InvalidInput("text-message reminders need a phone number", field="phone")
    if choice.channel is ReminderChannel.email and email is None:
        raise InvalidInput("e-mail reminders need an e-mail address", field="email")
    row = session.scalar(
        select(ReminderPreference).where(ReminderPreference.patient_id == patient.id)
    )
    if row is None:
        row = ReminderPreference(patient_id=patient.id)
        session.add(row)
    row.channel = choice.channel
    row.language = language
    row.lead_hours = choice.lead_hours
    row.phone_e164 = phone
    row.email = email
    row.updated_by_id = principal.user_ref
    session.flush()
    audit.record(
        session, principal, "update", "reminder_preference", row.id, patient_id=patient.id,
        detail={"channel": choice.channel.value, "language": language,
                "lead_hours": choice.lead_hours},
    )  # fmt: skip
    return _as_preference(patient, row)
