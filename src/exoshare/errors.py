"""Every domain error of exoshare, as one tree; each error knows the HTTP problem it becomes.

Services raise these; ``problems.py`` turns any of them into an RFC 9457 problem document (or an
HTML error page) in one place, using the class's ``status``, ``slug`` and ``title``. Catch a
branch to handle a family: ``except Conflict`` catches a lease clash and a taken slot alike.

    ExoshareError                      400  bad-request
    ├── NotAuthenticated               401  not-authenticated
    │   ├── SecondFactorRequired
    │   └── DeviceNotAuthenticated
    ├── PermissionDenied               403  forbidden
    │   ├── SecondFactorEnrolmentRequired
    │   └── NotCertified
    ├── NotFound                       404  not-found
    │   └── ApprovalNotFound
    ├── Conflict                       409  conflict
    │   ├── LeaseConflict, UnitOnLease, CustodyConflict        (fleet)
    │   ├── InvoiceIssued                                       (fleet billing)
    │   ├── SlotTaken, BookingRefused, BookingClosed,           (scheduling)
    │   │   BookingNotDue,
    │   │   CapacityRunBusy                                     (capacity advice)
    │   ├── SessionNotEligible                                  (clinical safety)
    │   ├── InvalidTransition, SessionNotLive, UnitBusy,
    │   │   CommandPending, AlreadyAcknowledged,                (tele-rehabilitation)
    │   │   AdviceNotReady, AdviceDecided                       (assist-as-needed advice)
    │   ├── NoteSigned, PlanVersionStale                        (care plan)
    │   ├── CertificateRevoked, CourseNotReady                  (academy)
    │   └── ResearchRequestNotReady                             (data sharing)
    ├── TooLarge                       413  too-large
    │   └── UploadTooLarge, MediaTooLarge
    ├── InvalidInput                   422  invalid-input
    │   ├── TelemetryRejected
    │   │   └── FileImportError
    │   ├── SettingOutsideEnvelope, UnknownSetting
    │   ├── NoteRequired, ReasonRequired
    │   ├── MediaRejected                                       (care plan, academy)
    │   ├── TranslationRejected                                 (translations)
    │   ├── PrivacyModelUnreachable, FhirResourceInvalid        (data sharing)
    │   └── InvalidPhoneNumber                                  (reminders, clinics)
    ├── TooManyAttempts                429  too-many-attempts
    └── Unavailable                    503  unavailable
        ├── MailUnavailable
        ├── UndecryptableSecret
        └── FederationUnavailable                               (federated training)

    >>> raise LeaseConflict("unit EXO-7 is leased to Lagos until 2027-01-31")
    Traceback (most recent call last):
    exoshare.errors.LeaseConflict: unit EXO-7 is leased to Lagos until 2027-01-31
    >>> LeaseConflict.status, LeaseConflict.slug
    (409, 'lease-conflict')

Internal exceptions that never reach a caller (a refused C3D child, a dropped command channel)
stay beside the code that raises and catches them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, Self


def N_(message: str) -> str:
    """Mark a string for extraction; pages translate it where they show it."""
    return message


class ExoshareError(Exception):
    """Base of every domain error. ``status`` and ``slug`` shape the problem response.

    ``title`` (and ``message``, when the raiser gave one) are marked for translation: the API
    answers with the English ``detail``, a page shows the words in the reader's language.
    """

    status: int = 400
    slug: str = "bad-request"
    title: str = N_("Bad request")
    message: str | None = None
    params: Mapping[str, str] = {}

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    @classmethod
    def worded(
        cls, message: str, /, *, also: Mapping[str, Any] | None = None, **params: object
    ) -> Self:
        """The error said as a message marked ``N_`` with the values it names (``also``: the
        class's own keyword arguments, e.g. ``field``, and extra members of the problem).

        ``detail`` is the English sentence; pages render ``message`` through gettext at display
        time with ``params`` in the reader's number and date formats, so a refusal is never
        English on a translated page. Values are kept as text (numbers as Python writes them,
        days as ISO dates), which is also how they travel in a page's address; a value named
        ``*_label`` is an interface string (marked ``N_`` where it is defined), translated too.
        """
        error = cls(message % params, **(also or {}))
        error.message = message
        error.params = {key: str(value) for key, value in params.items()}
        return error


# -- 401 ------------------------------------------------------------------------------------


class NotAuthenticated(ExoshareError):
    status = 401
    slug = "not-authenticated"
    title = N_("Authentication required")


class SecondFactorRequired(NotAuthenticated):
    """The password was right, and this account also needs a TOTP or recovery code."""

    slug = "second-factor-required"
    title = N_("Second factor required")


class DeviceNotAuthenticated(NotAuthenticated):
    """The device credential is missing, unknown or revoked, or belongs to another device."""

    slug = "device-not-authenticated"
    title = N_("Device not authenticated")


# -- 403 ------------------------------------------------------------------------------------


class PermissionDenied(ExoshareError):
    """The caller may see the thing but not do this to it."""

    status = 403
    slug = "forbidden"
    title = N_("Forbidden")


class SecondFactorEnrolmentRequired(PermissionDenied):
    """The account's role requires a TOTP second factor, and it has none yet."""

    slug = "second-factor-enrolment-required"
    title = N_("Second factor enrolment required")


class NotCertified(PermissionDenied):
    """The therapist holds no valid certificate for the device model."""

    slug = "not-certified"
    title = N_("Not certified for this device model")


# -- 404 ------------------------------------------------------------------------------------


class NotFound(ExoshareError):
    """The thing does not exist, or the caller may not know that it exists."""

    status = 404
    slug = "not-found"
    title = N_("Not found")


class ApprovalNotFound(NotFound):
    slug = "approval-not-found"


# -- 409 ------------------------------------------------------------------------------------


class Conflict(ExoshareError):
    status = 409
    slug = "conflict"
    title = N_("Conflict")


class LeaseConflict(Conflict):
    """The unit is already leased for part of the period asked for."""

    slug = "lease-conflict"
    title = N_("Lease conflict")


class UnitOnLease(Conflict):
    """A move or change that the unit's current lease forbids."""

    slug = "unit-on-lease"
    title = N_("Unit is out on lease")


class CustodyConflict(Conflict):
    slug = "custody-conflict"
    title = N_("Custody conflict")


class InvoiceIssued(Conflict):
    """An issued invoice is immutable; corrections are credit notes."""

    slug = "invoice-issued"
    title = N_("Invoice already issued")


class CertificateRevoked(Conflict):
    """A revoked certificate stays revoked: it is not renewed; a new one is issued instead."""

    slug = "certificate-revoked"
    title = N_("Certificate revoked")


class CourseNotReady(Conflict):
    """The course lacks what the step needs (a quiz without questions, an unpublished course)."""

    slug = "course-not-ready"
    title = N_("Course not ready")


class SlotTaken(Conflict):
    """The unit, therapist or patient already has a session at that start."""

    slug = "slot-taken"
    title = N_("Slot already booked")


class BookingRefused(Conflict):
    """A session booked by hand breaks a scheduling rule (hours, holiday, overlap, dose, travel);
    ``errors`` lists every one, each with the field to change. ``refusals`` keep each rule's code
    and values, for pages that say it in the reader's language."""

    slug = "booking-refused"
    title = N_("Booking breaks a scheduling rule")

    def __init__(self, found: Sequence[Refusal]) -> None:
        super().__init__(
            "; ".join(r.reason for r in found),
            errors=[{"field": r.field, "reason": r.reason} for r in found],
        )
        self.refusals = list(found)


class BookingClosed(Conflict):
    """The booking can no longer be cancelled or moved: a therapy session was held on it, or it
    was already cancelled or rescheduled."""

    slug = "booking-closed"
    title = N_("Booking can no longer change")


class BookingNotDue(Conflict):
    """A booked session started as a therapy session before its time comes or after it ended."""

    slug = "booking-not-due"
    title = N_("Booked session is not due")


class CapacityRunBusy(Conflict):
    """A what-if run is already under way: runs share the machine's cores, one at a time."""

    slug = "capacity-run-busy"
    title = N_("A capacity run is already under way")


class Refusal(Protocol):
    """One failed clinical-safety rule, as ``SessionNotEligible`` reports it."""

    @property
    def field(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def params(self) -> dict[str, str]: ...


class SessionNotEligible(Conflict):
    """The session would break a clinical-safety rule; ``errors`` lists every one."""

    slug = "session-not-eligible"
    title = N_("Session breaks a clinical-safety rule")

    def __init__(self, found: Sequence[Refusal]) -> None:
        super().__init__(
            "; ".join(r.reason for r in found),
            errors=[
                {"field": r.field, "code": r.code, "reason": r.reason, "params": r.params}
                for r in found
            ],
        )
        self.refusals = list(found)


class InvalidTransition(Conflict):
    """The session cannot go from its current state to the one asked for."""

    slug = "invalid-session-transition"
    title = N_("Invalid session transition")


class SessionNotLive(Conflict):
    slug = "session-not-live"
    title = N_("Session not live")


class UnitBusy(Conflict):
    slug = "unit-busy"
    title = N_("Device unit busy")


class CommandPending(Conflict):
    slug = "command-pending"
    title = N_("A change of this setting is still waiting for the device")


class AlreadyAcknowledged(Conflict):
    slug = "alert-already-acknowledged"
    title = N_("Alert already acknowledged")


class AdviceNotReady(Conflict):
    """No assist-as-needed advice yet: the session is not complete or not analysed."""

    slug = "advice-not-ready"
    title = N_("No advice for this session yet")


class AdviceDecided(Conflict):
    """The therapist already accepted, edited or declined this session's advice."""

    slug = "advice-already-decided"
    title = N_("Advice already decided")


class NoteSigned(Conflict):
    """A signed SOAP note is never edited; it is amended, with a reason."""

    slug = "note-signed"
    title = N_("Note already signed")


class PlanVersionStale(Conflict):
    """A plan change based on a version that is no longer the newest one."""

    slug = "plan-version-stale"
    title = N_("Plan changed meanwhile")


class ResearchRequestNotReady(Conflict):
    """A research data set asked for in a state that does not allow it (an export before every
    contributing clinic approved, a decision on a request already decided)."""

    slug = "research-request-not-ready"
    title = N_("Research request not ready")


# -- 413 ------------------------------------------------------------------------------------


class TooLarge(ExoshareError):
    status = 413
    slug = "too-large"
    title = N_("Too large")


class UploadTooLarge(TooLarge):
    """A recording upload larger than ``telemetry_max_upload_mb``; nothing of it is stored."""

    slug = "upload-too-large"
    title = N_("Upload too large")


class MediaTooLarge(TooLarge):
    """An exercise or lesson picture or video larger than its limit; nothing of it is stored."""

    slug = "media-too-large"
    title = N_("Media file too large")


# -- 422 ------------------------------------------------------------------------------------


class InvalidInput(ExoshareError):
    """Input that parses but breaks a domain rule; ``field`` names the offending field."""

    status = 422
    slug = "invalid-input"
    title = N_("Invalid input")

    def __init__(self, detail: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.field = field


class TelemetryRejected(InvalidInput):
    """A message or file that is refused as a whole; nothing of it is stored.

    ``code`` is a stable machine name of the problem (``unknown-channel``, ``wrong-unit``,
    ``non-monotonic-timestamps``, ``duplicate-timestamps``, ``nan-burst``, ``out-of-range``,
    ``wrong-sampling-rate``, ``unknown-device``, ``unknown-session``, ``unknown-patient``,
    ``malformed``, ``overlapping-batch``, ``session-conflict``, ``session-ended``, ...).
    """

    slug = "telemetry-rejected"
    title = N_("Telemetry rejected")

    def __init__(self, code: str, detail: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail, field=field, code=code, **extra)
        self.code = code


class FileImportError(TelemetryRejected):
    """A recording file that cannot be imported; nothing of it is stored."""

    slug = "bad-recording-file"
    title = N_("Bad recording file")


class SettingOutsideEnvelope(InvalidInput):
    """A proposed value lies outside the model's absolute bounds, or changes too much at once."""

    slug = "setting-outside-envelope"
    title = N_("Setting outside the safety envelope")


class UnknownSetting(InvalidInput):
    slug = "unknown-setting"
    title = N_("Unknown setting")


class NoteRequired(InvalidInput):
    slug = "note-required"
    title = N_("A note is required")


class ReasonRequired(InvalidInput):
    """Aborting a session needs a reason, kept in the record and the audit log."""

    slug = "reason-required"
    title = N_("A reason is required")


class MediaRejected(InvalidInput):
    """An exercise or lesson media file of a type exoshare does not serve, or whose bytes are
    not what its declared type says; nothing of it is stored."""

    slug = "media-rejected"
    title = N_("Media file rejected")


class TranslationRejected(InvalidInput):
    """A translation that would break the page it appears on (an empty one, one that drops a
    placeholder, one of a string the interface does not have); the catalog is unchanged."""

    slug = "translation-rejected"
    title = N_("Translation rejected")


class PrivacyModelUnreachable(InvalidInput):
    """No generalisation of the cohort meets the asked k, l and suppression limit."""

    slug = "privacy-model-unreachable"
    title = N_("Privacy model cannot be met")


class FhirResourceInvalid(InvalidInput):
    """A FHIR resource offered for import is not valid R4 or names what exoshare cannot hold."""

    slug = "fhir-resource-invalid"
    title = N_("Invalid FHIR resource")


class InvalidPhoneNumber(InvalidInput):
    """A phone number (a patient's for text reminders, a clinic's) that is not a real number of
    any country."""

    slug = "invalid-phone-number"
    title = "Invalid phone number"


# -- 429 ------------------------------------------------------------------------------------


class TooManyAttempts(ExoshareError):
    """Too many failed attempts lately; ``retry_after_s`` says when to try again."""

    status = 429
    slug = "too-many-attempts"
    title = N_("Too many attempts")

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail, retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s


# -- 503 ------------------------------------------------------------------------------------


class Unavailable(ExoshareError):
    """Something exoshare depends on is not available; the caller may try again later."""

    status = 503
    slug = "unavailable"
    title = N_("Service unavailable")


class MailUnavailable(Unavailable):
    """The e-mail an action depends on could not be sent; nothing was kept."""

    slug = "mail-unavailable"
    title = N_("E-mail could not be sent")


class UndecryptableSecret(Unavailable):
    """A stored secret that no configured key opens: the secret key changed without its
    predecessor being listed in EXOSHARE_PREVIOUS_SECRET_KEYS. The server's fault, not the
    caller's, hence 503 until an operator restores the key."""

    slug = "stored-secret-unreadable"
    title = N_("Stored secret unreadable")


class FederationUnavailable(Unavailable):
    """The federation's own environment (Flower) cannot be created or run on this machine."""

    slug = "federation-unavailable"
    title = N_("Federated training unavailable")
