"""The demo patients' reminder preferences: some by text message, some by e-mail, each in the
patient's own language, so the SMS outbox and the mail sink fill while the demo runs."""

from __future__ import annotations

import phonenumbers
from sqlalchemy.orm import Session

from exoshare.auth import service as auth_service
from exoshare.auth.scope import SYSTEM_DEMO
from exoshare.patients import service as patients_service
from exoshare.reminders import preferences
from exoshare.reminders.schemas import PreferenceIn, ReminderChannel

LEAD_HOURS = (168, 72, 24)
"""A week's lead for a third of each channel's patients: the demo's bookings start next Monday,
so some appointment reminders are due as soon as the demo starts."""
MAX_PATIENTS = 10_000


def demo_phone(country_code: str | None, serial: int) -> str | None:
    """A valid mobile number of the clinic's country: the country's example number with its
    last three digits varied (kept only when still valid)."""
    example = phonenumbers.example_number_for_type(
        country_code or "ES", phonenumbers.PhoneNumberType.MOBILE
    )
    if example is None:
        return None
    national = str(example.national_number)
    varied = phonenumbers.parse(f"+{example.country_code}{national[:-3]}{serial % 1000:03d}", None)
    chosen = varied if phonenumbers.is_valid_number(varied) else example
    return phonenumbers.format_number(chosen, phonenumbers.PhoneNumberFormat.E164)


def seed_reminder_preferences(session: Session) -> tuple[int, int]:
    """Preferences for two patients in three; (by text message, by e-mail)."""
    patients, _ = patients_service.list_patients(session, SYSTEM_DEMO, limit=MAX_PATIENTS)
    by_sms = by_email = 0
    for serial, patient in enumerate(sorted(patients, key=lambda p: p.medical_record_number)):
        account = (
            auth_service.visible_user(session, SYSTEM_DEMO, patient.user_id)
            if patient.user_id
            else None
        )
        # Patients with a login hear by e-mail (the demo's mail sink shows it); of the others,
        # one in three by text message, one in three by e-mail, one in three not at all.
        if account is not None or serial % 3 == 1:
            channel = ReminderChannel.email
        elif serial % 3 == 0:
            channel = ReminderChannel.sms
        else:
            continue
        email = (
            account.email
            if account
            else f"{patient.medical_record_number.lower()}@patients.demo.exoshare.org"
        )
        choice = PreferenceIn(
            channel=channel,
            language=patient.preferred_language,
            lead_hours=LEAD_HOURS[serial // 3 % len(LEAD_HOURS)],
            phone=demo_phone(patient.clinic.country_code, serial),
            email=email,
        )
        preferences.set_preference(session, SYSTEM_DEMO, patient.id, choice)
        by_sms += channel is ReminderChannel.sms
        by_email += channel is ReminderChannel.email
    return by_sms, by_email
