"""How the route matrix calls each route: which kind of id each parameter holds, and a valid body.

A value ``"@kind"`` is an id slot: the matrix fills it with the caller's own id of that kind, a
foreign one or a missing one. Bodies are valid, so a refusal comes from the rules and the scope
checks, not from request validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from tests.world import PASSWORD

PATH_PARAM_KINDS = {
    "patient_id": "patient",
    "unit_id": "unit",
    "model_id": "model",
    "org_unit_id": "org_unit",
    "clinic_id": "clinic",
    "lease_id": "lease",
    "invoice_id": "invoice",
    "user_id": "user",
    "credential_id": "credential",
    "alert_id": "alert",
    "grant_id": "grant",
    "invitation_id": "invitation",
    "plan_id": "plan",
    "note_id": "note",
    "exercise_id": "exercise",
    "media_id": "media",
    "programme_id": "programme",
    "measurement_id": "measurement",
    "goal_id": "goal",
    "course_id": "course",
    "lesson_id": "lesson",
    "certificate_id": "certificate",
    "partner_id": "partner",
    "agreement_id": "agreement",
    "consent_id": "consent",
    "request_id": "research_request",
    "export_id": "export",
    "run_id": "federated_run",
    "booking_id": "booking",
    "capacity_run_id": "capacity_run",
    "entry_id": "waitlist_entry",
}
FIXED_PATH_VALUES = {
    "code": "es",
    "action": "start",
    "instrument": "tug",
    "language": "sw",
    "name": "data.csv",
}


def path_param_kind(path: str, name: str) -> str | None:
    """Which kind of object a path parameter names (a session id depends on the capability)."""
    if name == "session_id":
        telemetry = path.startswith(("/api/v1/telemetry/", "/sessions/"))
        return "recording" if telemetry else "therapy"
    if name == "media_id" and path.startswith("/api/v1/academy/"):
        return "lesson_media"  # a lesson's picture or video, not an exercise's
    if name == "credential_id" and not path.startswith("/api/v1/telemetry/"):
        return "login"  # a person's own browser session or API token, not a device's

    return PATH_PARAM_KINDS.get(name)


@dataclass(frozen=True)
class Call:
    """The parts of a request beyond its path: query, body and how the body is encoded."""

    query: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    form: dict[str, Any] | None = None
    upload: bool = False


TODAY = date.today()
NEXT_YEAR = TODAY.replace(year=TODAY.year + 1, day=1)
NEXT_MONDAY = TODAY + timedelta(days=7 - TODAY.weekday())
NEW_PERSON = {"email": "@email", "role": "therapist", "org_unit_id": "@org_unit"}

PLAN = {
    "sessions_per_week": 3,
    "minutes_per_session": 45,
    "device_model_id": "@model",
    "device_unit_id": "@unit",
    "starts_on": str(TODAY),
    "ends_on": str(TODAY + timedelta(days=27)),
    "goals": ["Walk 10 m with a cane"],
    "progression": [{"week": 1, "settings": {"guidance_force_pct": 70}}],
}
PLAN_FORM = {
    "title": "Gait training",
    "sessions_per_week": "3",
    "minutes_per_session": "45",
    "device_model_id": "@model",
    "starts_on": str(TODAY),
    "ends_on": str(TODAY + timedelta(days=27)),
    "w1_guidance_force_pct": "70",
}
CAREPLAN_CALLS: dict[str, Call] = {
    "POST /api/v1/careplan/plans": Call(json={**PLAN, "patient_id": "@patient", "title": "Gait"}),
    "POST /api/v1/careplan/plans/{plan_id}/versions": Call(
        json={**PLAN, "sessions_per_week": 4, "based_on_version": 1, "reason": "tolerates more"}
    ),
    "POST /api/v1/careplan/notes": Call(json={"therapy_session_id": "@therapy"}),
    "PATCH /api/v1/careplan/notes/{note_id}": Call(json={"subjective": "tired"}),
    "POST /api/v1/careplan/notes/{note_id}/amendments": Call(
        json={"section": "plan", "text": "two sessions", "reason": "typo"}
    ),
    "POST /api/v1/careplan/exercises": Call(
        json={
            "code": "new-walk",
            "category": "gait",
            "default_language": "en",
            "texts": [{"language": "en", "title": "Walk", "instructions": "Walk slowly."}],
        }
    ),
    "POST /api/v1/careplan/programmes": Call(
        json={
            "patient_id": "@patient",
            "starts_on": str(TODAY),
            "ends_on": str(TODAY + timedelta(days=27)),
            "items": [{"exercise_id": "@exercise", "sets": 2, "reps": 10, "days_per_week": 3}],
        }
    ),
    "POST /api/v1/careplan/programmes/{programme_id}/adherence": Call(
        json={
            "item_id": "@item",
            "performed_on": str(TODAY),
            "status": "done",
            "pain_0_10": 2,
            "difficulty": "right",
        }
    ),
    "POST /patients/{patient_id}/careplan/plans": Call(form=PLAN_FORM),
    "POST /careplan/plans/{plan_id}/versions": Call(
        form={**PLAN_FORM, "based_on_version": "1", "reason": "tolerates more"}
    ),
    "POST /careplan/notes": Call(form={"therapy_session_id": "@therapy"}),
    "POST /careplan/notes/{note_id}": Call(form={"action": "save", "subjective": "tired"}),
    "POST /careplan/exercises": Call(
        form={"code": "new-walk", "category": "gait", "title": "Walk", "instructions": "Slowly."}
    ),
    "POST /patients/{patient_id}/careplan/programmes": Call(
        form={
            "starts_on": str(TODAY),
            "ends_on": str(TODAY + timedelta(days=27)),
            "exercise_id": "@exercise",
        }
    ),
    "POST /my/exercises": Call(
        form={"programme_id": "@programme", "item_id": "@item", "status": "done"}
    ),
}
"""The care plan's calls (plans, notes, library, programmes), kept together."""

REMINDER_CHOICE = {
    "channel": "sms",
    "language": "es",
    "phone": "+34 612 34 56 78",
    "lead_hours": 24,
}
REMINDER_CALLS: dict[str, Call] = {
    "PUT /api/v1/reminders/patients/{patient_id}/preference": Call(json=REMINDER_CHOICE),
    "POST /my/reminders": Call(form={**REMINDER_CHOICE, "lead_hours": "24"}),
    "POST /patients/{patient_id}/reminders": Call(form={**REMINDER_CHOICE, "lead_hours": "24"}),
}
"""Reminder preferences: a valid choice by text message."""

CALLS: dict[str, Call] = {
    "POST /api/v1/auth/token": Call(
        json={"email": "therapist_madrid@test.exoshare.org", "password": PASSWORD}
    ),
    "POST /api/v1/users": Call(json=NEW_PERSON),
    "POST /api/v1/users/{user_id}/grants": Call(
        json={"role": "therapist", "org_unit_id": "@org_unit"}
    ),
    "GET /api/v1/patients": Call(query={"clinic_id": "@clinic"}),
    "GET /api/v1/device-units": Call(query={"org_unit_id": "@org_unit", "model_id": "@model"}),
    "GET /api/v1/leases": Call(query={"unit_id": "@unit"}),
    "GET /api/v1/invoices": Call(query={"clinic_id": "@clinic"}),
    "GET /api/v1/telemetry/sessions": Call(query={"patient_id": "@patient"}),
    "POST /api/v1/patients/{patient_id}/consents": Call(
        json={"purpose": "research", "decision": "permit"}
    ),
    "POST /api/v1/patients/{patient_id}/consents/{consent_id}/withdraw": Call(
        json={"reason": "changed my mind"}
    ),
    "POST /api/v1/research/requests": Call(
        json={
            "title": "Matrix request",
            "purpose": "A purpose long enough",
            "cohort": {"clinic_ids": ["@clinic"]},
            "variables": ["sex"],
        }
    ),
    "POST /api/v1/research/requests/{request_id}/decisions": Call(
        json={"clinic_id": "@clinic", "decision": "approved"}
    ),
    # One clinic is refused (a run needs two), so the matrix starts no training.
    "POST /api/v1/research/federated-runs": Call(json={"rounds": 1, "clinic_ids": ["@clinic"]}),
    "POST /research/federated": Call(form={"rounds": "1", "clinic_ids": "@clinic"}),
    "GET /fhir/R4/Observation": Call(query={"patient": "@patient"}),
    "GET /fhir/R4/Encounter": Call(query={"patient": "@patient"}),
    "GET /fhir/R4/Consent": Call(query={"patient": "@patient"}),
    "POST /api/v1/clinics/{clinic_id}/fhir-import": Call(
        json={"resourceType": "Bundle", "type": "collection"}
    ),
    "POST /my/consents": Call(form={"purpose": "research", "decision": "permit"}),
    "POST /patients/{patient_id}/consents": Call(
        form={"purpose": "research", "decision": "permit"}
    ),
    "POST /patients/{patient_id}/consents/{consent_id}/withdraw": Call(form={"reason": "form"}),
    "POST /research/requests": Call(
        form={
            "title": "Matrix request",
            "purpose": "A purpose long enough",
            "clinic_ids": "@clinic",
            "variables": "sex",
        }
    ),
    "POST /research/requests/{request_id}/decisions": Call(
        form={"clinic_id": "@clinic", "decision": "approved"}
    ),
    "GET /api/v1/device-models/{model_id}/eligibility": Call(query={"country": "ES"}),
    "GET /api/v1/clinics/{clinic_id}/calendar": Call(query={"start": str(TODAY)}),
    "POST /api/v1/org-units": Call(
        json={
            "parent_id": "@org_unit",
            "code": "ES-MAD-02",
            "name": "Madrid Annex",
            "kind": "clinic",
            "country_code": "ES",
        }
    ),
    "PATCH /api/v1/org-units/{org_unit_id}": Call(json={"name": "Renamed Clinic"}),
    "POST /api/v1/patients": Call(
        json={
            "clinic_id": "@clinic",
            "medical_record_number": "MRN-new",
            "given_name": "Ana",
            "family_name": "Test",
            "sex": "female",
            "birth_date": "1980-01-01",
            "height_m": 1.7,
            "weight_kg": 70,
            "diagnosis": "stroke",
        }
    ),
    "PATCH /api/v1/patients/{patient_id}": Call(json={"weight_kg": 80}),
    "POST /api/v1/patients/{patient_id}/void": Call(json={"reason": "entered twice"}),
    "POST /api/v1/outcomes/patients/{patient_id}/measurements": Call(
        json={"instrument": "tug", "items": {"time_s": 14.5}, "measured_on": str(TODAY)}
    ),
    "POST /api/v1/outcomes/measurements/{measurement_id}/void": Call(
        json={"reason": "entered twice"}
    ),
    "POST /api/v1/outcomes/patients/{patient_id}/goals": Call(
        json={"measure": "tug_s", "target_value": 10, "target_date": str(NEXT_YEAR)}
    ),
    "POST /api/v1/outcomes/goals/{goal_id}/void": Call(json={"reason": "goal changed"}),
    "POST /patients/{patient_id}/outcomes/record/{instrument}": Call(
        form={"measured_on": str(TODAY), "time_s": "14.5"}
    ),
    "POST /patients/{patient_id}/outcomes/goals": Call(
        form={"measure": "tug_s", "target_value": "10", "target_date": str(NEXT_YEAR)}
    ),
    "POST /api/v1/device-models": Call(
        json={
            "name": "Strider X3",
            "maker_id": "@maker",
            "device_type": "overground_exoskeleton",
            "min_patient_height_m": 1.5,
            "max_patient_height_m": 1.9,
            "max_patient_weight_kg": 100,
            "power_requirements": "battery 4 h",
            "envelope": [
                {
                    "setting": "guidance_force_pct",
                    "unit": "%",
                    "min_value": 0,
                    "max_value": 100,
                    "max_step": 10,
                    "default_value": 50,
                }
            ],
        }
    ),
    "POST /api/v1/device-units": Call(
        json={"serial_number": "SX2-0099", "model_id": "@model", "org_unit_id": "@org_unit"}
    ),
    "PUT /api/v1/device-units/{unit_id}/status": Call(
        json={"status": "awaiting_repair", "reason": "motor noise"}
    ),
    "PUT /api/v1/device-models/{model_id}/approvals": Call(
        json={
            "jurisdiction": "FDA",
            "status": "approved",
            "status_date": "2024-03-01",
            "indications": "gait rehabilitation after stroke",
        }
    ),
    "POST /api/v1/recognition-agreements": Call(
        json={"name": "Test pact", "kind": "approval", "members": ["CE", "UKCA"]}
    ),
    "POST /api/v1/device-units/{unit_id}/transfers": Call(
        json={"to_org_unit_id": "@org_unit", "reason": "rebalancing"}
    ),
    "POST /api/v1/leases": Call(
        json={
            "unit_id": "@unit",
            "clinic_id": "@clinic",
            "monthly_fee": 450,
            "starts_on": str(NEXT_YEAR.replace(year=NEXT_YEAR.year + 1)),
            "ends_on": str(NEXT_YEAR.replace(year=NEXT_YEAR.year + 2)),
        }
    ),
    "POST /api/v1/leases/{lease_id}/renewals": Call(
        json={"ends_on": str(NEXT_YEAR.replace(year=NEXT_YEAR.year + 1))}
    ),
    "POST /api/v1/leases/{lease_id}/return": Call(json={"returned_on": str(TODAY)}),
    "POST /api/v1/device-units/{unit_id}/maintenance": Call(
        json={
            "kind": "calibration",
            "starts_at": f"{NEXT_YEAR}T09:00:00Z",
            "ends_at": f"{NEXT_YEAR}T11:00:00Z",
        }
    ),
    "POST /api/v1/usage-events": Call(
        json={
            "unit_id": "@unit",
            "patient_id": "@patient",
            "session_start": f"{TODAY - timedelta(days=1)}T10:00:00Z",
        }
    ),
    "POST /api/v1/price-plans": Call(
        json={
            "clinic_id": "@clinic",
            "kind": "per_patient_treated",
            "amount": 40,
            "valid_from": str(NEXT_YEAR),
        }
    ),
    "POST /api/v1/invoices": Call(json={"clinic_id": "@clinic", "month": "2025-01-01"}),
    "PATCH /api/v1/invoices/{invoice_id}": Call(json={"note": "checked"}),
    "POST /api/v1/invoices/{invoice_id}/credit-notes": Call(
        json={"amount": 1, "reason": "goodwill"}
    ),
    "POST /api/v1/waitlist": Call(
        json={
            "patient_id": "@patient",
            "referral_date": str(TODAY),
            "priority_reason": "recent stroke",
            "sessions_per_week": 2,
            "course_sessions": 10,
            "home_latitude": 40.42,
            "home_longitude": -3.70,
        }
    ),
    "POST /api/v1/schedule-runs": Call(
        json={"start": str(NEXT_MONDAY), "weeks": 1, "time_limit_s": 2}
    ),
    "POST /api/v1/capacity-runs": Call(json={"start": str(NEXT_MONDAY), "weeks": 2, "seeds": 1}),
    "POST /capacity": Call(form={"start": str(NEXT_MONDAY), "weeks": 2, "seeds": 1}),
    "POST /api/v1/booked-sessions": Call(
        json={
            "patient_id": "@patient",
            "unit_id": "@unit",
            "therapist_id": "@user",
            "starts_at": f"{NEXT_YEAR}T10:00:00Z",
            "duration_min": 60,
        }
    ),
    "POST /api/v1/booked-sessions/{booking_id}/cancel": Call(json={"reason": "patient unwell"}),
    "POST /api/v1/booked-sessions/{booking_id}/reschedule": Call(
        json={"starts_at": f"{NEXT_YEAR}T10:00:00Z"}
    ),
    "PATCH /api/v1/waitlist/{entry_id}": Call(json={"session_slots": 2}),
    "POST /waitlist/entries/{entry_id}": Call(form={"session_slots": "2"}),
    "GET /waitlist/refer": Call(query={"clinic_id": "@clinic"}),
    "POST /waitlist/refer": Call(
        form={
            "clinic_id": "@clinic",
            "patient_id": "@patient",
            "referral_date": str(TODAY),
            "priority": "routine",
            "priority_reason": "recent stroke",
            "sessions_per_week": "2",
            "course_sessions": "10",
        }
    ),
    "GET /calendar/book": Call(query={"clinic_id": "@clinic"}),
    "POST /calendar/book": Call(
        form={
            "clinic_id": "@clinic",
            "patient_id": "@patient",
            "unit_id": "@unit",
            "therapist_id": "@user",
            "day": str(NEXT_YEAR),
            "at": "10:00",
        }
    ),
    "POST /calendar/bookings/{booking_id}/reschedule": Call(
        form={"unit_id": "@unit", "therapist_id": "@user", "day": str(NEXT_YEAR), "at": "10:00"}
    ),
    "POST /calendar/bookings/{booking_id}/cancel": Call(form={"reason": "patient unwell"}),
    "POST /api/v1/clinics/{clinic_id}/therapist-leave": Call(
        json={
            "therapist_id": "@user",
            "first_day": str(NEXT_YEAR),
            "last_day": str(NEXT_YEAR.replace(day=12)),
            "reason": "summer holiday",
        }
    ),
    "POST /api/v1/telemetry/credentials": Call(json={"device_unit_id": "@unit"}),
    "POST /api/v1/telemetry/recordings": Call(
        form={
            "patient_id": "@patient",
            "mapping": "Knee L=knee_angle_left_deg\nKnee R=knee_angle_right_deg",
        },
        upload=True,
    ),
    "POST /api/v1/telerehab/sessions": Call(
        json={"patient_id": "@patient", "device_unit_id": "@unit"}
    ),
    "POST /api/v1/telerehab/sessions/{session_id}/settings": Call(
        json={"setting": "guidance_force_pct", "value": 40}
    ),
    "POST /api/v1/telerehab/sessions/{session_id}/{action}": Call(json={"reason": None}),
    "POST /api/v1/telerehab/sessions/{session_id}/advice": Call(json={"decision": "accepted"}),
    "POST /api/v1/telerehab/alerts/{alert_id}/acknowledge": Call(json={"note": "seen"}),
    "POST /api/v1/invitations": Call(
        json={"email": "@email", "role": "therapist", "org_unit_id": "@org_unit"}
    ),
    "POST /api/v1/invitations/accept": Call(
        json={"token": "not-a-token", "password": "a-long-enough-password"}
    ),
    "POST /api/v1/auth/password-reset": Call(json={"email": "@email"}),
    "POST /api/v1/auth/password-reset/confirm": Call(
        json={"token": "not-a-token", "password": "a-long-enough-password"}
    ),
    "POST /api/v1/auth/totp/confirm": Call(json={"code": "000000"}),
    "POST /api/v1/auth/totp/recovery-codes": Call(json={"code": "000000"}),
    "POST /api/v1/auth/totp/disable": Call(json={"code": "000000"}),
    "POST /invitation": Call(form={"token": "not-a-token", "password": "a-long-enough-password"}),
    "POST /forgot-password": Call(form={"email": "@email"}),
    "POST /reset-password": Call(
        form={"token": "not-a-token", "password": "a-long-enough-password"}
    ),
    "POST /account/security/totp/confirm": Call(form={"code": "000000"}),
    "POST /account/security/totp/disable": Call(form={"code": "000000"}),
    "POST /login": Call(form={"email": "therapist_madrid@test.exoshare.org", "password": PASSWORD}),
    "POST /api/v1/partners": Call(
        json={
            "name": "Madrid Gait Lab",
            "kind": "university",
            "country_code": "ES",
            "org_unit_id": "@org_unit",
            "offers": ["data"],
        }
    ),
    "PATCH /api/v1/partners/{partner_id}": Call(json={"languages": ["es", "en"]}),
    "POST /api/v1/agreements": Call(
        json={
            "kind": "training",
            "title": "Training on the Strider X2",
            "provider_id": "@maker",
            "recipient_id": "@partner",
            "starts_on": str(TODAY),
        }
    ),
    "POST /api/v1/agreements/{agreement_id}/end": Call(json={"reason": "course delivered"}),
    "GET /api/v1/partners/{partner_id}/matches": Call(query={"need": "devices"}),
    "GET /partners/{partner_id}/matches": Call(query={"need": "devices"}),
    "POST /partners/{partner_id}": Call(form={"name": "Madrid Clinic", "languages": "es, en"}),
    "POST /clinics/{clinic_id}/contact": Call(
        form={"address_line1": "Calle de Alcalá 402", "postcode": "28027", "phone": "913204500"}
    ),
    "POST /agreements/{agreement_id}/end": Call(form={"reason": "course delivered"}),
    "POST /translations/{code}": Call(form={"source": "Sign in", "translation": "Entrar"}),
    "POST /fleet/units/{unit_id}/move": Call(form={"to_org_unit_id": "@org_unit", "reason": "x"}),
    "POST /api/v1/academy/courses": Call(
        json={
            "model_id": "@model",
            "org_unit_id": "@org_unit",
            "topic": "alarms",
            "fallback_language": "en",
            "texts": {"en": {"title": "Alarms"}},
        }
    ),
    "POST /api/v1/academy/courses/{course_id}/modules": Call(json={"titles": {"en": "Two"}}),
    "POST /api/v1/academy/courses/{course_id}/lessons": Call(
        json={"module_id": "@module", "texts": {"en": {"title": "Stop"}}}
    ),
    "PUT /api/v1/academy/lessons/{lesson_id}/translations/{language}": Call(
        json={"title": "Anza", "body": "Nenda."}
    ),
    "POST /api/v1/academy/lessons/{lesson_id}/media": Call(form={}, upload=True),
    "POST /api/v1/academy/courses/{course_id}/questions": Call(
        json={
            "prompts": {"en": "Go?"},
            "options": [{"texts": {"en": "yes"}, "correct": True}, {"texts": {"en": "no"}}],
        }
    ),
    "POST /api/v1/academy/courses/{course_id}/quiz-attempts": Call(json={"answers": {}}),
    "POST /api/v1/academy/courses/{course_id}/signoffs": Call(json={"learner_id": "@user"}),
    "GET /api/v1/academy/certificates": Call(query={"therapist_id": "@user"}),
    "POST /api/v1/academy/certificates": Call(
        json={
            "therapist_id": "@user",
            "model_id": "@model",
            "issued_on": str(TODAY),
            "expires_on": str(NEXT_YEAR),
        }
    ),
    "POST /api/v1/academy/certificates/{certificate_id}/renewal": Call(
        json={"expires_on": "2099-12-31"}
    ),
    "POST /api/v1/academy/certificates/{certificate_id}/revocation": Call(
        json={"reason": "left the programme"}
    ),
    "POST /academy/courses": Call(
        form={
            "model_id": "@model",
            "org_unit_id": "@org_unit",
            "topic": "alarms",
            "language": "en",
            "title": "Alarms",
        }
    ),
    "POST /academy/courses/{course_id}/modules": Call(form={"language": "en", "title": "Two"}),
    "POST /academy/courses/{course_id}/lessons": Call(
        form={"module_id": "@module", "language": "en", "title": "Stop"}
    ),
    "POST /academy/lessons/{lesson_id}/translations": Call(
        form={"language": "sw", "title": "Anza"}
    ),
    "POST /academy/lessons/{lesson_id}/media": Call(form={}, upload=True),
    "POST /academy/courses/{course_id}/questions": Call(
        form={
            "language": "en",
            "prompt": "Go?",
            "option_1": "yes",
            "option_2": "no",
            "correct": "1",
        }
    ),
    "POST /academy/courses/{course_id}/quiz": Call(form={}),
    "POST /academy/courses/{course_id}/signoffs": Call(form={"learner_id": "@user"}),
    "POST /academy/certificates": Call(
        form={
            "therapist_id": "@user",
            "model_id": "@model",
            "issued_on": str(TODAY),
            "expires_on": str(NEXT_YEAR),
        }
    ),
    "POST /academy/certificates/{certificate_id}/renew": Call(form={"expires_on": "2099-12-31"}),
    "POST /academy/certificates/{certificate_id}/revoke": Call(form={"reason": "left"}),
    "POST /telerehab/sessions": Call(form={"patient_id": "@patient", "device_unit_id": "@unit"}),
    "POST /telerehab/sessions/{session_id}/advice": Call(form={"decision": "accepted"}),
    **CAREPLAN_CALLS,
    **REMINDER_CALLS,
}


def slots(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Every (location, kind) of an id slot inside a query, JSON or form value (lists too)."""
    found: list[tuple[str, str]] = []
    if isinstance(value, str) and value.startswith("@"):
        found.append((prefix, value[1:]))
    elif isinstance(value, dict):
        for key, inner in value.items():
            found += slots(inner, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += slots(inner, f"{prefix}.{index}")
    return found


def fill(value: Any, pick: Any, location: str = "") -> Any:
    """``value`` with each slot replaced by ``pick(location, kind)``."""
    if isinstance(value, str) and value.startswith("@"):
        return pick(location, value[1:])
    if isinstance(value, dict):
        return {
            key: fill(inner, pick, f"{location}.{key}" if location else key)
            for key, inner in value.items()
        }
    if isinstance(value, list):
        return [fill(inner, pick, f"{location}.{index}") for index, inner in enumerate(value)]
    return value
