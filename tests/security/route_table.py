"""The expectation table of the route matrix: per route, what each caller's own request answers.

``ok``: past the gate (a 2xx, a redirect to a page, or a business-rule 4xx like 409/422);
``deny``: 403 or 404; ``auth``: not signed in (401, or a page's redirect to /login, or a
WebSocket refused with 401). A route missing here fails the matrix, so a new route needs a row.
"""

from __future__ import annotations

from tests.security.matrix_world import ROLE_CALLERS, TOKEN_CALLERS

CATALOGUE = frozenset({"model", "maker", "exercise", "media", "partner"})
"""Device models, their makers and the partner registry are a public catalogue for every
signed-in caller. The exercise library and its media are shared across the network the same way.
A person's logins (``login``) are theirs alone: nobody else's caller sees them."""

ACADEMY = frozenset({"course", "lesson", "lesson_media"})
"""Published courses are the network's shared knowledge: every learner reads them all."""

VISIBLE_FOREIGN: dict[str, frozenset[str]] = {
    # The operator runs the whole network and fleet, but reads no clinical records.
    "consortium_operator": CATALOGUE
    | {
        "certificate",
        "unit",
        "org_unit",
        "clinic",
        "lease",
        "invoice",
        "user",
        "credential",
        "email",
        "grant",
        "invitation",
        "agreement",
        "federated_run",
        "booking",
        "capacity_run",
    },
    # Agreements are read by whoever sees a party's org unit: network-wide readers see all.
    "researcher": CATALOGUE | {"org_unit", "clinic", "agreement", "federated_run"},
    "trainer": CATALOGUE
    | ACADEMY
    | {"org_unit", "clinic", "certificate", "module", "user", "agreement"},
    "manufacturer": frozenset(
        {"maker", "org_unit", "clinic", "model", "exercise", "media", "partner", "agreement"}
    ),
    "clinic_admin": CATALOGUE | ACADEMY,
    "therapist": CATALOGUE | ACADEMY,
    "patient": CATALOGUE,
}


def visible(caller: str, kind: str) -> bool:
    """Whether the caller may know that the foreign object of this kind exists."""
    return kind in VISIBLE_FOREIGN.get(caller, frozenset())


def row(
    *ok: str, signed_out: str = "auth", device: str = "auth", roles: str = "deny", **others: str
) -> dict[str, str]:
    """Callers in ``ok`` pass, other roles get ``roles`` (denied), signed-out callers must sign
    in, and so must a device credential used where a person signs in."""
    expected = {caller: "ok" if caller in ok else roles for caller in ROLE_CALLERS}
    expected.update({caller: signed_out for caller in TOKEN_CALLERS})
    expected["device_madrid"] = device
    expected.update(others)
    return expected


EVERYONE = ROLE_CALLERS
PUBLIC = row(*EVERYONE, signed_out="ok", device="ok")

CLINIC_STAFF = ("clinic_admin", "therapist")
LEARNERS = ("clinic_admin", "therapist", "trainer")
CARE = (*CLINIC_STAFF, "patient")
"""Who reads a patient's care: the clinic's staff and the patient (their own record)."""
NETWORK_READERS = tuple(caller for caller in EVERYONE if caller != "patient")
"""Everyone who reads the network (a patient reads only their own care)."""

EXPECTED: dict[str, dict[str, str]] = {
    "GET /": row(*EVERYONE),
    "GET /api/docs": row(*EVERYONE, signed_out="ok", device="ok"),
    "DELETE /api/v1/auth/token": row(*EVERYONE),
    "POST /api/v1/auth/token": row(*EVERYONE, signed_out="ok", device="ok"),
    # A booking and a usage report name a patient: only callers who read the patient's record
    # may name one; the operator reads no clinical records (its schedule runs book for it).
    "POST /api/v1/booked-sessions": row("clinic_admin"),
    # Whoever keeps the clinic's schedule cancels and moves its bookings; a held session stays.
    "POST /api/v1/booked-sessions/{booking_id}/cancel": row("consortium_operator", "clinic_admin"),
    # Moving one books anew, naming the patient: the operator, who reads no records, may not.
    "POST /api/v1/booked-sessions/{booking_id}/reschedule": row("clinic_admin"),
    "GET /api/v1/clinics/{clinic_id}/calendar": row(
        "consortium_operator", "clinic_admin", "therapist"
    ),
    "GET /api/v1/clinics/{clinic_id}/waitlist": row(*CLINIC_STAFF),
    "GET /api/v1/device-models": row(*EVERYONE),
    "POST /api/v1/device-models": row("consortium_operator", "manufacturer"),
    "GET /api/v1/device-models/{model_id}": row(*EVERYONE),
    "GET /api/v1/device-models/{model_id}/approvals": row(*EVERYONE),
    "PUT /api/v1/device-models/{model_id}/approvals": row("consortium_operator", "manufacturer"),
    "GET /api/v1/device-models/{model_id}/eligibility": row(*EVERYONE),
    "GET /api/v1/device-units": row(*EVERYONE),
    "POST /api/v1/device-units": row("consortium_operator", "clinic_admin"),
    "GET /api/v1/device-units/{unit_id}": row(
        "consortium_operator", "clinic_admin", "therapist", "manufacturer"
    ),
    "GET /api/v1/device-units/{unit_id}/custody": row(
        "consortium_operator", "clinic_admin", "therapist"
    ),
    "GET /api/v1/device-units/{unit_id}/maintenance": row(
        "consortium_operator", "clinic_admin", "therapist"
    ),
    "POST /api/v1/device-units/{unit_id}/maintenance": row("consortium_operator", "clinic_admin"),
    "PUT /api/v1/device-units/{unit_id}/status": row("consortium_operator", "clinic_admin"),
    "POST /api/v1/device-units/{unit_id}/transfers": row("consortium_operator"),
    "GET /api/v1/fleet": row(*EVERYONE),
    "GET /api/v1/health": row(*EVERYONE, signed_out="ok", device="ok"),
    "GET /api/v1/invoices": row(*EVERYONE),
    "POST /api/v1/invoices": row("consortium_operator"),
    "GET /api/v1/invoices/{invoice_id}": row("consortium_operator", "clinic_admin"),
    "PATCH /api/v1/invoices/{invoice_id}": row("consortium_operator"),
    "POST /api/v1/invoices/{invoice_id}/credit-notes": row("consortium_operator"),
    "POST /api/v1/invoices/{invoice_id}/issue": row("consortium_operator"),
    "GET /api/v1/jurisdictions": row(*EVERYONE),
    "GET /api/v1/leases": row(*EVERYONE),
    "POST /api/v1/leases": row("consortium_operator"),
    "GET /api/v1/leases/{lease_id}": row("consortium_operator", "clinic_admin", "therapist"),
    "POST /api/v1/leases/{lease_id}/renewals": row("consortium_operator"),
    "POST /api/v1/leases/{lease_id}/return": row("consortium_operator"),
    "GET /api/v1/me": row(*EVERYONE),
    "GET /api/v1/network/tree": row(*EVERYONE),
    "GET /api/v1/openapi.json": row(*EVERYONE, signed_out="ok", device="ok"),
    "GET /api/v1/org-units": row(*EVERYONE),
    "POST /api/v1/org-units": row("consortium_operator"),
    "GET /api/v1/org-units/{org_unit_id}": row(
        "consortium_operator", "clinic_admin", "therapist", "researcher", "manufacturer", "trainer"
    ),
    "PATCH /api/v1/org-units/{org_unit_id}": row("consortium_operator"),
    "GET /api/v1/outcomes/instruments": row(*EVERYONE),
    "POST /api/v1/outcomes/goals/{goal_id}/void": row(*CLINIC_STAFF),
    "POST /api/v1/outcomes/measurements/{measurement_id}/void": row(*CLINIC_STAFF),
    "GET /api/v1/outcomes/patients/{patient_id}/goals": row(*CARE),
    "POST /api/v1/outcomes/patients/{patient_id}/goals": row(*CLINIC_STAFF),
    "GET /api/v1/outcomes/patients/{patient_id}/measurements": row(*CARE),
    "POST /api/v1/outcomes/patients/{patient_id}/measurements": row(*CLINIC_STAFF),
    "GET /api/v1/outcomes/patients/{patient_id}/prediction": row(*CARE),
    "GET /api/v1/outcomes/patients/{patient_id}/timeline": row(*CARE),
    "GET /api/v1/partners": row(*EVERYONE),
    "POST /api/v1/partners": row("consortium_operator", "clinic_admin"),
    "GET /api/v1/partners/{partner_id}": row(*EVERYONE),
    "PATCH /api/v1/partners/{partner_id}": row("consortium_operator", "clinic_admin"),
    "GET /api/v1/partners/{partner_id}/matches": row(*NETWORK_READERS),
    # An agreement is signed for both parties (the operator, for a maker outside the tree);
    # either party may end it.
    "GET /api/v1/agreements": row(*EVERYONE),
    "POST /api/v1/agreements": row("consortium_operator"),
    "GET /api/v1/agreements/{agreement_id}": row(*NETWORK_READERS),
    "POST /api/v1/agreements/{agreement_id}/activate": row("consortium_operator"),
    "POST /api/v1/agreements/{agreement_id}/end": row("consortium_operator", "clinic_admin"),
    # Only a translator edits the interface's words; none of the matrix's callers is one.
    "GET /translations": row(),
    "GET /translations/{code}": row(),
    "POST /translations/{code}": row(),
    "GET /partners": row(*NETWORK_READERS),
    "GET /partners/{partner_id}": row(*NETWORK_READERS),
    "GET /clinics/{clinic_id}/contact": row(*NETWORK_READERS),
    # A clinic's address and phone change with the clinic: network:write, the operator's.
    "POST /clinics/{clinic_id}/contact": row("consortium_operator"),
    "POST /partners/{partner_id}": row("consortium_operator", "clinic_admin"),
    "GET /partners/{partner_id}/matches": row(*NETWORK_READERS),
    "GET /agreements": row(*NETWORK_READERS),
    "GET /agreements/{agreement_id}": row(*NETWORK_READERS),
    "POST /agreements/{agreement_id}/activate": row("consortium_operator"),
    "POST /agreements/{agreement_id}/end": row("consortium_operator", "clinic_admin"),
    "GET /api/v1/patients": row(*EVERYONE),
    "POST /api/v1/patients": row(*CLINIC_STAFF),
    "GET /api/v1/patients/{patient_id}": row(*CARE),
    "PATCH /api/v1/patients/{patient_id}": row(*CLINIC_STAFF),
    "GET /api/v1/patients/{patient_id}/audit-events": row("clinic_admin"),
    "POST /api/v1/patients/{patient_id}/void": row(*CLINIC_STAFF),
    "POST /api/v1/price-plans": row("consortium_operator"),
    "GET /api/v1/recognition-agreements": row(*EVERYONE),
    "POST /api/v1/recognition-agreements": row("consortium_operator"),
    "POST /api/v1/schedule-runs": row("consortium_operator"),
    # Capacity advice (what-if runs) is the operator's: network-wide, no clinic's rows apart.
    "GET /api/v1/capacity-runs": row("consortium_operator"),
    "POST /api/v1/capacity-runs": row("consortium_operator"),
    "GET /api/v1/capacity-runs/{capacity_run_id}": row("consortium_operator"),
    "POST /api/v1/telemetry/credentials": row("consortium_operator", "clinic_admin"),
    "POST /api/v1/telemetry/credentials/{credential_id}/revoke": row(
        "consortium_operator", "clinic_admin"
    ),
    "POST /api/v1/telemetry/recordings": row(device="ok", roles="auth"),
    "GET /api/v1/telemetry/sessions": row(*CARE),
    "GET /api/v1/telemetry/sessions/{session_id}": row(*CARE),
    "GET /api/v1/telemetry/sessions/{session_id}/samples": row(*CARE),
    "WS /api/v1/telemetry/ws": row(device="ok", roles="auth"),
    "POST /api/v1/telerehab/alerts/{alert_id}/acknowledge": row(*CLINIC_STAFF),
    "GET /api/v1/telerehab/patients/{patient_id}/progress": row(*CARE),
    "GET /api/v1/telerehab/sessions": row(*EVERYONE),
    "POST /api/v1/telerehab/sessions": row(*CLINIC_STAFF),
    # Only the booking's own therapist starts it (the matrix's is next year: 409 not due).
    "POST /api/v1/telerehab/booked-sessions/{booking_id}/start": row("therapist"),
    "GET /api/v1/telerehab/sessions/{session_id}": row(*CARE),
    "GET /api/v1/telerehab/sessions/{session_id}/alerts": row(*CARE),
    "WS /api/v1/telerehab/sessions/{session_id}/live": row(*CARE),
    "GET /api/v1/telerehab/sessions/{session_id}/settings": row(*CARE),
    # Only a therapist certified for the unit's model changes its settings; anyone else (the
    # clinic admin holds no certificate) is refused before anything is stored.
    "POST /api/v1/telerehab/sessions/{session_id}/settings": row("therapist"),
    "POST /api/v1/telerehab/sessions/{session_id}/{action}": row(*CLINIC_STAFF),
    # Assist-as-needed advice: its readers read it; only a certified therapist decides on it.
    "GET /api/v1/telerehab/sessions/{session_id}/advice": row(*CARE),
    "POST /api/v1/telerehab/sessions/{session_id}/advice": row("therapist"),
    "POST /api/v1/usage-events": row(*CLINIC_STAFF),
    "GET /api/v1/users": row(*EVERYONE),
    "POST /api/v1/users": row("consortium_operator", "clinic_admin"),
    "POST /api/v1/users/{user_id}/grants": row("consortium_operator", "clinic_admin"),
    "POST /api/v1/waitlist": row("clinic_admin"),
    # A referral's session length and preferences: changed by its clinic's desk, like a referral.
    "PATCH /api/v1/waitlist/{entry_id}": row("clinic_admin"),
    "POST /api/v1/clinics/{clinic_id}/therapist-leave": row("consortium_operator", "clinic_admin"),
    "GET /calendar": row("consortium_operator", "clinic_admin", "therapist"),
    # The desk: referring and booking name patients, so only a clinic's admin; changing a booking
    # is for whoever keeps the schedule (the operator too, as through the API).
    "GET /calendar/book": row("clinic_admin"),
    "POST /calendar/book": row("clinic_admin"),
    # The booking's page: its clinic's therapists see it too (and start it when it is due).
    "GET /calendar/bookings/{booking_id}": row("consortium_operator", "clinic_admin", "therapist"),
    "POST /calendar/bookings/{booking_id}/cancel": row("consortium_operator", "clinic_admin"),
    "POST /calendar/bookings/{booking_id}/reschedule": row("clinic_admin"),
    "GET /waitlist/refer": row("clinic_admin"),
    "POST /waitlist/refer": row("clinic_admin"),
    "GET /waitlist/entries/{entry_id}": row("clinic_admin"),
    "POST /waitlist/entries/{entry_id}": row("clinic_admin"),
    "GET /therapist/day": row("therapist"),
    "GET /my/appointments": row("patient"),
    "GET /device-models/{model_id}": row(*EVERYONE),
    "GET /device-models/{model_id}/approvals": row(*EVERYONE),
    "GET /devices/{unit_id}": row(
        "consortium_operator", "clinic_admin", "therapist", "manufacturer"
    ),
    "GET /docs/oauth2-redirect": row(*EVERYONE, signed_out="ok", device="ok"),
    "GET /fleet": row("consortium_operator", "clinic_admin", "therapist"),
    "GET /fleet/units/{unit_id}": row("consortium_operator", "clinic_admin", "therapist"),
    "POST /fleet/units/{unit_id}/move": row("consortium_operator"),
    "GET /invoices": row("consortium_operator", "clinic_admin"),
    "GET /invoices/{invoice_id}": row("consortium_operator", "clinic_admin"),
    "GET /lang/{code}": row(*EVERYONE, signed_out="ok", device="ok"),
    "GET /login": row(*EVERYONE, anonymous="ok"),
    "POST /login": row(*EVERYONE, signed_out="ok", device="ok"),
    "POST /logout": row(*EVERYONE),
    "GET /my/outcomes": row("patient"),
    "GET /my/progress": row("patient"),
    "GET /patients/search": row(*EVERYONE),
    "GET /patients/{patient_id}": row(*CARE),
    "GET /patients/{patient_id}/outcomes": row(*CARE),
    "POST /patients/{patient_id}/outcomes/goals": row(*CLINIC_STAFF),
    "GET /patients/{patient_id}/outcomes/prediction": row(*CARE),
    "GET /patients/{patient_id}/outcomes/record/{instrument}": row(*CLINIC_STAFF),
    "POST /patients/{patient_id}/outcomes/record/{instrument}": row(*CLINIC_STAFF),
    "GET /patients/{patient_id}/progress": row(*CARE),
    "GET /patients/{patient_id}/sessions": row(*CARE),
    "GET /sessions/{session_id}": row(*CARE),
    "GET /static/{path}": row(*EVERYONE, signed_out="ok", device="ok"),
    "GET /telerehab": row(*EVERYONE),
    "POST /telerehab/sessions": row(*CLINIC_STAFF),
    "POST /telerehab/bookings/{booking_id}/start": row("therapist"),
    "GET /telerehab/sessions/{session_id}": row(*CARE),
    "POST /telerehab/sessions/{session_id}/advice": row("therapist"),
    "GET /utilisation": row("consortium_operator", "clinic_admin", "therapist"),
    "GET /capacity": row("consortium_operator"),
    "POST /capacity": row("consortium_operator"),
    "GET /waitlist": row(*CLINIC_STAFF),
    # Accounts: grants are managed like users; logins, TOTP and sessions are each caller's own;
    # invitations and password resets are reached by token or e-mail, signed in or not.
    "GET /api/v1/users/{user_id}/grants": row("consortium_operator", "clinic_admin"),
    "DELETE /api/v1/users/{user_id}/grants/{grant_id}": row("consortium_operator", "clinic_admin"),
    "POST /api/v1/invitations": row("consortium_operator", "clinic_admin"),
    "GET /api/v1/invitations": row("consortium_operator", "clinic_admin"),
    "DELETE /api/v1/invitations/{invitation_id}": row("consortium_operator", "clinic_admin"),
    "POST /api/v1/invitations/{invitation_id}/resend": row("consortium_operator", "clinic_admin"),
    "POST /api/v1/invitations/accept": row(roles="deny", signed_out="deny", device="deny"),
    "POST /api/v1/auth/password-reset": PUBLIC,
    "POST /api/v1/auth/password-reset/confirm": row(roles="deny", signed_out="deny", device="deny"),
    "GET /api/v1/auth/totp": row(*EVERYONE),
    "POST /api/v1/auth/totp": row(*EVERYONE),
    # Without an enrolment, a code has nothing to match: 404 for everyone signed in.
    "POST /api/v1/auth/totp/confirm": row(),
    "POST /api/v1/auth/totp/recovery-codes": row(),
    "POST /api/v1/auth/totp/disable": row(),
    "GET /api/v1/auth/sessions": row(*EVERYONE),
    "DELETE /api/v1/auth/sessions/{credential_id}": row(*EVERYONE),
    "POST /api/v1/auth/sessions/revoke-others": row(*EVERYONE),
    "GET /invitation": row(roles="deny", signed_out="deny", device="deny"),
    "POST /invitation": row(roles="deny", signed_out="deny", device="deny"),
    "GET /forgot-password": PUBLIC,
    "POST /forgot-password": PUBLIC,
    "GET /reset-password": row(roles="deny", signed_out="deny", device="deny"),
    "POST /reset-password": row(roles="deny", signed_out="deny", device="deny"),
    "GET /account/security": row(*EVERYONE),
    # The care plan: plans and notes are the care team's; home programmes are the patient's
    # too; the exercise library is everyone's. Only the note's author (the therapist) signs it.
    "POST /api/v1/careplan/plans": row(*CLINIC_STAFF),
    "GET /api/v1/careplan/patients/{patient_id}/plans": row(*CLINIC_STAFF),
    "GET /api/v1/careplan/plans/{plan_id}": row(*CLINIC_STAFF),
    "POST /api/v1/careplan/plans/{plan_id}/versions": row(*CLINIC_STAFF),
    "GET /api/v1/careplan/plans/{plan_id}/diff": row(*CLINIC_STAFF),
    "POST /api/v1/careplan/notes": row(*CLINIC_STAFF),
    "GET /api/v1/careplan/patients/{patient_id}/notes": row(*CLINIC_STAFF),
    "GET /api/v1/careplan/notes/{note_id}": row(*CLINIC_STAFF),
    "PATCH /api/v1/careplan/notes/{note_id}": row(*CLINIC_STAFF),
    "POST /api/v1/careplan/notes/{note_id}/sign": row("therapist"),
    "POST /api/v1/careplan/notes/{note_id}/amendments": row(*CLINIC_STAFF),
    "GET /api/v1/careplan/exercises": row(*EVERYONE),
    "POST /api/v1/careplan/exercises": row(*CLINIC_STAFF),
    "GET /api/v1/careplan/exercises/{exercise_id}": row(*EVERYONE),
    "POST /api/v1/careplan/exercises/{exercise_id}/media": row(*CLINIC_STAFF),
    "GET /api/v1/careplan/media/{media_id}": row(*EVERYONE),
    "POST /api/v1/careplan/programmes": row(*CLINIC_STAFF),
    "GET /api/v1/careplan/patients/{patient_id}/programmes": row(*CARE),
    "GET /api/v1/careplan/my/exercises-today": row("patient"),
    "GET /api/v1/careplan/programmes/{programme_id}": row(*CARE),
    "POST /api/v1/careplan/programmes/{programme_id}/adherence": row(*CARE),
    "GET /api/v1/careplan/programmes/{programme_id}/adherence": row(*CARE),
    "GET /patients/{patient_id}/careplan": row(*CLINIC_STAFF),
    "POST /patients/{patient_id}/careplan/plans": row(*CLINIC_STAFF),
    "POST /patients/{patient_id}/careplan/programmes": row(*CLINIC_STAFF),
    "GET /careplan/plans/{plan_id}": row(*CLINIC_STAFF),
    "POST /careplan/plans/{plan_id}/versions": row(*CLINIC_STAFF),
    "POST /careplan/notes": row(*CLINIC_STAFF),
    "GET /careplan/notes/{note_id}": row(*CLINIC_STAFF),
    "POST /careplan/notes/{note_id}": row(*CLINIC_STAFF),
    "GET /careplan/exercises": row(*EVERYONE),
    "POST /careplan/exercises": row(*CLINIC_STAFF),
    "GET /my/exercises": row("patient"),
    "POST /my/exercises": row("patient"),
    # Reminder preferences: the care team reads them; the patient and their clinic admin set
    # them (a therapist may not); the patient's own page exists for patients only.
    "GET /api/v1/reminders/patients/{patient_id}/preference": row(*CARE),
    "PUT /api/v1/reminders/patients/{patient_id}/preference": row("clinic_admin", "patient"),
    "GET /patients/{patient_id}/reminders": row(*CARE),
    "POST /patients/{patient_id}/reminders": row("clinic_admin", "patient"),
    "GET /my/reminders": row("patient"),
    "POST /my/reminders": row("patient"),
    "POST /account/security/totp": row(*EVERYONE),
    "POST /account/security/totp/confirm": row(),
    "POST /account/security/totp/disable": row(),
    "POST /account/security/sessions/{credential_id}/revoke": row(*EVERYONE),
    "POST /account/security/sessions/revoke-others": row(*EVERYONE),
    # Academy: learners read published courses; trainers author them, sign off practicals and
    # certify people of their subtree; certificates are read by their holder and by those who
    # see the team; anyone checks a verification code, the keys and the revocation list.
    **{
        key: row(*LEARNERS)
        for key in (
            "GET /api/v1/academy/courses/{course_id}",
            "GET /api/v1/academy/courses/{course_id}/quiz",
            "GET /api/v1/academy/courses/{course_id}/offline",
            "GET /api/v1/academy/media/{media_id}",
            "POST /api/v1/academy/lessons/{lesson_id}/completion",
            "POST /api/v1/academy/courses/{course_id}/quiz-attempts",
            "GET /academy",
            "GET /academy/courses/{course_id}",
            "GET /academy/lessons/{lesson_id}",
            "POST /academy/lessons/{lesson_id}/complete",
            "GET /academy/courses/{course_id}/quiz",
            "POST /academy/courses/{course_id}/quiz",
        )
    },
    **{
        key: row("trainer")
        for key in (
            "POST /api/v1/academy/courses",
            "POST /api/v1/academy/courses/{course_id}/publication",
            "POST /api/v1/academy/courses/{course_id}/modules",
            "POST /api/v1/academy/courses/{course_id}/lessons",
            "PUT /api/v1/academy/lessons/{lesson_id}/translations/{language}",
            "POST /api/v1/academy/lessons/{lesson_id}/media",
            "POST /api/v1/academy/courses/{course_id}/questions",
            "POST /api/v1/academy/courses/{course_id}/signoffs",
            "POST /api/v1/academy/certificates",
            "POST /api/v1/academy/certificates/{certificate_id}/renewal",
            "POST /api/v1/academy/certificates/{certificate_id}/revocation",
            "POST /academy/courses",
            "GET /academy/courses/{course_id}/edit",
            "POST /academy/courses/{course_id}/publish",
            "POST /academy/courses/{course_id}/modules",
            "POST /academy/courses/{course_id}/lessons",
            "POST /academy/lessons/{lesson_id}/translations",
            "POST /academy/lessons/{lesson_id}/media",
            "POST /academy/courses/{course_id}/questions",
            "POST /academy/courses/{course_id}/signoffs",
            "POST /academy/certificates",
            "POST /academy/certificates/{certificate_id}/renew",
            "POST /academy/certificates/{certificate_id}/revoke",
        )
    },
    "GET /api/v1/academy/courses": row(*EVERYONE),
    "GET /api/v1/academy/certificates": row(*EVERYONE),
    "GET /api/v1/academy/certificates/{certificate_id}/credential": row(
        "consortium_operator", "clinic_admin", "therapist", "trainer"
    ),
    "GET /academy/team": row("consortium_operator", "clinic_admin", "trainer"),
    # The matrix sends no real code: every caller is told it names no certificate.
    "GET /api/v1/academy/verifications/{verification_code}": row(
        roles="deny", signed_out="deny", device="deny"
    ),
    "GET /verify/{verification_code}": row(roles="deny", signed_out="deny", device="deny"),
    "GET /api/v1/academy/revocations": PUBLIC,
    "GET /.well-known/jwks.json": PUBLIC,
    # Sharing: consents are the patient's and their clinic's; research requests are their
    # researcher's and the stewards' (clinic admins) of the clinics asked; rows of an export
    # reach only its researcher. A decision for a clinic the caller does not steward names it
    # as one that does not exist (the page shows that refusal on the request's page).
    "GET /api/v1/patients/{patient_id}/consents": row(*CARE),
    "POST /api/v1/patients/{patient_id}/consents": row(*CARE),
    "POST /api/v1/patients/{patient_id}/consents/{consent_id}/withdraw": row(*CARE),
    "GET /api/v1/patients/{patient_id}/research-exports": row(*CARE),
    "GET /api/v1/research/variables": row(*EVERYONE),
    "GET /api/v1/research/requests": row(*EVERYONE),
    "POST /api/v1/research/requests": row("researcher"),
    "GET /api/v1/research/requests/{request_id}": row("researcher", "clinic_admin"),
    "POST /api/v1/research/requests/{request_id}/decisions": row("clinic_admin"),
    "GET /api/v1/research/requests/{request_id}/exports": row("researcher", "clinic_admin"),
    "POST /api/v1/research/requests/{request_id}/exports": row("researcher"),
    "GET /api/v1/research/exports/{export_id}/files/{name}": row("researcher"),
    # Federated runs are network-wide aggregates: the operator and researchers start and read
    # them (researchers without a clinic's counts under five); nobody else sees one.
    "GET /api/v1/research/federated-runs": row("consortium_operator", "researcher"),
    "POST /api/v1/research/federated-runs": row("consortium_operator", "researcher"),
    "GET /api/v1/research/federated-runs/{run_id}": row("consortium_operator", "researcher"),
    "GET /research/federated": row("consortium_operator", "researcher"),
    "POST /research/federated": row("consortium_operator", "researcher"),
    "GET /research/federated/{run_id}": row("consortium_operator", "researcher"),
    "GET /fhir/R4/Patient/{patient_id}": row(*CARE),
    "GET /fhir/R4/Patient/{patient_id}/$everything": row(*CARE),
    "GET /fhir/R4/Observation": row(*CARE),
    "GET /fhir/R4/Encounter": row(*CARE),
    "GET /fhir/R4/Consent": row(*CARE),
    "POST /api/v1/clinics/{clinic_id}/fhir-import": row(*CLINIC_STAFF),
    "GET /patients/{patient_id}/consents": row(*CARE),
    "POST /patients/{patient_id}/consents": row(*CARE),
    "POST /patients/{patient_id}/consents/{consent_id}/withdraw": row(*CARE),
    "GET /my/consents": row("patient"),
    "POST /my/consents": row("patient"),
    "GET /research": row("researcher", "clinic_admin"),
    "POST /research/requests": row("researcher"),
    "GET /research/requests/{request_id}": row("researcher", "clinic_admin"),
    "POST /research/requests/{request_id}/decisions": row("researcher", "clinic_admin"),
    "POST /research/requests/{request_id}/exports": row("researcher"),
}
