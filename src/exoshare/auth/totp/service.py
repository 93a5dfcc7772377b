"""The optional TOTP second factor: enrolment, verification without replay, recovery codes.

The shared secret is stored sealed (``secret_box``): a copy of the database alone does not let
anyone compute a user's codes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

import pyotp
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from exoshare.auth.models import RecoveryCode, TotpEnrolment, User
from exoshare.auth.schemas import Role
from exoshare.auth.scope import Principal
from exoshare.auth.secret_box import SecretBox
from exoshare.errors import Conflict, InvalidInput, NotFound

ISSUER = "exoshare"
RECOVERY_CODES = 10
# One step either side absorbs a phone clock a little off and a code typed as it rolled over.
VALID_WINDOW_STEPS = 1
ADMIN_ROLES = frozenset({Role.consortium_operator, Role.clinic_admin})


def _sha256(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _normalise(code: str) -> str:
    return code.replace(" ", "").replace("-", "").strip().lower()


def enrolment_of(session: Session, user_id: str, lock: bool = False) -> TotpEnrolment | None:
    # Locked while a code is checked, so two requests with one code cannot both pass.
    return session.get(TotpEnrolment, user_id, with_for_update=lock)


def has_second_factor(session: Session, user_id: str) -> bool:
    enrolment = enrolment_of(session, user_id)
    return enrolment is not None and enrolment.confirmed_at is not None


def is_required(principal: Principal, required_for_admins: bool) -> bool:
    """Whether the setting obliges this caller to have a second factor."""
    return required_for_admins and bool(principal.roles & ADMIN_ROLES)


def needs_enrolment(session: Session, principal: Principal, required_for_admins: bool) -> bool:
    """Whether the caller must enrol before reaching anything else."""
    return is_required(principal, required_for_admins) and not has_second_factor(
        session, principal.user_id
    )


def start_enrolment(session: Session, user: User, box: SecretBox) -> tuple[str, str]:
    """A new secret for ``user``; returns it and its otpauth:// URI (shown once, never again).

    Starting again before confirming replaces the unconfirmed secret.
    """
    enrolment = enrolment_of(session, user.id)
    if enrolment is not None and enrolment.confirmed_at is not None:
        raise Conflict("a second factor is already active; disable it first to enrol anew")
    secret = pyotp.random_base32()
    if enrolment is None:
        session.add(TotpEnrolment(user_id=user.id, secret=box.seal(secret)))
    else:
        enrolment.secret = box.seal(secret)
        enrolment.created_at = datetime.now(UTC)
        enrolment.last_used_step = None
    session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return secret, uri


def _accept_code(
    enrolment: TotpEnrolment, code: str, box: SecretBox, now: datetime | None = None
) -> bool:
    """Whether ``code`` is the code of a step in the window newer than the last one used.

    Remembering the step makes each code good once: a code seen over a shoulder or replayed
    from a captured request is refused even within its 30 seconds.
    """
    code = _normalise(code)
    if not (code.isdigit() and len(code) == 6):
        return False
    totp = pyotp.TOTP(box.open(enrolment.secret))
    current = totp.timecode(now or datetime.now(UTC))
    for step in range(current - VALID_WINDOW_STEPS, current + VALID_WINDOW_STEPS + 1):
        if enrolment.last_used_step is not None and step <= enrolment.last_used_step:
            continue
        if secrets.compare_digest(totp.generate_otp(step), code):
            enrolment.last_used_step = step
            return True
    return False


def confirm_enrolment(session: Session, user: User, code: str, box: SecretBox) -> list[str]:
    """Activate the factor with a first code; returns fresh recovery codes (shown once)."""
    enrolment = enrolment_of(session, user.id, lock=True)
    if enrolment is None:
        raise NotFound("no second-factor enrolment was started; start one first")
    if enrolment.confirmed_at is not None:
        raise Conflict("the second factor is already active")
    if not _accept_code(enrolment, code, box):
        raise InvalidInput(
            "the code does not match: type the 6 digits your authenticator app shows now",
            field="code",
        )
    enrolment.confirmed_at = datetime.now(UTC)
    return new_recovery_codes(session, user)


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Replace the user's recovery codes with ``RECOVERY_CODES`` new ones (stored hashed)."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "-".join(secrets.token_hex(5)[i : i + 5] for i in (0, 5)) for _ in range(RECOVERY_CODES)
    ]
    session.add_all(RecoveryCode(user_id=user.id, code_sha256=_sha256(c)) for c in codes)
    session.flush()
    return codes


def verify(session: Session, user: User, code: str, box: SecretBox) -> bool:
    """A TOTP code or an unused recovery code of a confirmed enrolment (a recovery code is
    spent by this). False when there is no active second factor."""
    enrolment = enrolment_of(session, user.id, lock=True)
    if enrolment is None or enrolment.confirmed_at is None or not code:
        return False
    if _accept_code(enrolment, code, box):
        return True
    recovery = session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_sha256 == _sha256(_normalise(code)[:5] + "-" + _normalise(code)[5:]),
            RecoveryCode.used_at.is_(None),
        )
    )
    if recovery is None:
        return False
    recovery.used_at = datetime.now(UTC)
    return True


def require_code(session: Session, user: User, code: str, box: SecretBox) -> TotpEnrolment:
    """The active enrolment, once ``code`` (TOTP or recovery) proves the caller holds it."""
    enrolment = enrolment_of(session, user.id)
    if enrolment is None or enrolment.confirmed_at is None:
        raise NotFound("no second factor is active")
    if not verify(session, user, code, box):
        raise InvalidInput(
            "the code does not match: type a current code or an unused recovery code",
            field="code",
        )
    return enrolment


def disable(session: Session, user: User, code: str, box: SecretBox) -> None:
    """Remove the second factor and its recovery codes; needs a current code to prove it."""
    enrolment = require_code(session, user, code, box)
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.delete(enrolment)
    session.flush()


def unused_recovery_codes(session: Session, user_id: str) -> int:
    return len(
        session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def reseal_all(session: Session, box: SecretBox) -> int:
    """Re-seal every stored secret with the current key (after a key rotation); returns how
    many. Raises ``UndecryptableSecret`` (and changes nothing) if any opens with no key."""
    enrolments = session.scalars(select(TotpEnrolment).with_for_update()).all()
    for enrolment in enrolments:
        enrolment.secret = box.reseal(enrolment.secret)
    session.flush()
    return len(enrolments)
