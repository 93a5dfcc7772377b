"""Certificates: the one rule of who may run and adjust a device model, and their life cycle.

Scheduling (the solver and manual bookings), telerehab (planning, starting, setting changes)
and the pages all ask :func:`is_certified_on` or :func:`certified_models`; nothing else reads
the certificate table. A certificate is valid on a day from its issue date to its expiry date,
both included, unless revoked.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from exoshare.academy.models import Certificate
from exoshare.academy.schemas import CertificateBasis, CertificateStatus
from exoshare.auth import audit
from exoshare.auth import service as auth_service
from exoshare.auth.scope import Permission, Principal
from exoshare.devices import service as devices_service
from exoshare.errors import N_, CertificateRevoked, InvalidInput, NotFound
from exoshare.network import service as network_service

VERIFICATION_CODE_BYTES = 12
"""96 random bits, written as 24 hex characters: unguessable, short enough to type."""


def _valid_on(day: date) -> ColumnElement[bool]:
    return and_(
        Certificate.revoked_at.is_(None),
        Certificate.issued_on <= day,
        Certificate.expires_on >= day,
    )


# ------------------------------------------------------------------------------------ the rule


def is_certified_on(session: Session, therapist_id: str, model_id: str, day: date) -> bool:
    """Whether the therapist holds an unrevoked certificate for the model valid on ``day``."""
    found = session.scalar(
        select(Certificate.id)
        .where(
            Certificate.therapist_id == therapist_id,
            Certificate.model_id == model_id,
            _valid_on(day),
        )
        .limit(1)
    )
    return found is not None


def certified_models(session: Session, first_day: date, last_day: date) -> dict[str, set[str]]:
    """Therapist id -> the models they hold a certificate for valid on every day from
    ``first_day`` to ``last_day``."""
    out: dict[str, set[str]] = {}
    rows = session.execute(
        select(Certificate.therapist_id, Certificate.model_id).where(
            Certificate.revoked_at.is_(None),
            Certificate.issued_on <= first_day,
            Certificate.expires_on >= last_day,
        )
    )
    for therapist_id, model_id in rows:
        out.setdefault(therapist_id, set()).add(model_id)
    return out


def status_on(certificate: Certificate, day: date) -> CertificateStatus:
    if certificate.revoked_at is not None:
        return CertificateStatus.revoked
    if day < certificate.issued_on:
        return CertificateStatus.not_yet_valid
    if day > certificate.expires_on:
        return CertificateStatus.expired
    return CertificateStatus.valid


# ------------------------------------------------------------------------------------- scope


def holder_in_scope(
    session: Session, principal: Principal, permission: Permission, user_id: str
) -> bool:
    """Whether the user holds a grant where the caller has ``permission`` (a user id that does
    not exist holds no grant, so it answers like a foreign one)."""
    if principal.is_system:
        return True
    paths = network_service.org_unit_paths(session, auth_service.granted_unit_ids(user_id))
    return any(principal.covers(permission, path) for path in paths)


def visible_certificates(principal: Principal) -> ColumnElement[bool]:
    """Certificates the caller may read: their own, and those of people in their academy
    team or certify scope."""
    return or_(
        Certificate.therapist_id == principal.user_id,
        Certificate.therapist_id.in_(
            auth_service.user_ids_granted_in(principal, Permission.academy_team)
        ),
        Certificate.therapist_id.in_(
            auth_service.user_ids_granted_in(principal, Permission.academy_certify)
        ),
    )


def get_certificate(session: Session, principal: Principal, certificate_id: str) -> Certificate:
    stmt = select(Certificate).where(Certificate.id == certificate_id)
    if not principal.is_system:
        stmt = stmt.where(visible_certificates(principal))
    certificate = session.scalar(stmt)
    if certificate is None:
        raise NotFound(f"certificate {certificate_id} not found")
    return certificate


def _certifiable(session: Session, principal: Principal, certificate_id: str) -> Certificate:
    """A certificate the caller may renew or revoke; one they may only read answers 404 too,
    so the two are told apart only by a trainer in scope."""
    certificate = get_certificate(session, principal, certificate_id)
    if not holder_in_scope(
        session, principal, Permission.academy_certify, certificate.therapist_id
    ):
        raise NotFound(f"certificate {certificate_id} not found")
    return certificate


def list_certificates(
    session: Session, principal: Principal, therapist_id: str | None = None
) -> list[Certificate]:
    stmt = select(Certificate).where(visible_certificates(principal))
    if therapist_id is not None:
        stmt = stmt.where(Certificate.therapist_id == therapist_id)
    return list(session.scalars(stmt.order_by(Certificate.issued_on.desc(), Certificate.id)))


def find_by_code(session: Session, verification_code: str) -> Certificate | None:
    """The certificate a public verification code names (anyone may ask, no login)."""
    return session.scalar(
        select(Certificate).where(Certificate.verification_code == verification_code)
    )


# ------------------------------------------------------------------------------ life cycle


def _live_certificate(session: Session, therapist_id: str, model_id: str) -> Certificate | None:
    return session.scalar(
        select(Certificate).where(
            Certificate.therapist_id == therapist_id,
            Certificate.model_id == model_id,
            Certificate.revoked_at.is_(None),
        )
    )


def grant_certificate(
    session: Session,
    principal: Principal,
    therapist_id: str,
    model_id: str,
    issued_on: date,
    expires_on: date,
    basis: CertificateBasis,
    course_id: str | None = None,
    issued_by_id: str | None = None,
) -> Certificate:
    """Write the certificate (the caller checked why it is deserved). An unrevoked one for the
    same model is re-dated rather than duplicated, keeping its verification code.
    ``issued_by_id``: who vouches for it (default: the caller)."""
    if expires_on <= issued_on:
        raise InvalidInput.worded(
            N_("expires_on must be after issued_on"), also={"field": "expires_on"}
        )
    certificate = _live_certificate(session, therapist_id, model_id)
    action = "certificate.issue"
    if certificate is None:
        certificate = Certificate(
            therapist_id=therapist_id,
            model_id=model_id,
            verification_code=secrets.token_hex(VERIFICATION_CODE_BYTES),
        )
        session.add(certificate)
    else:
        action = "certificate.reissue"
        certificate.renewed_on = issued_on
    certificate.issued_on, certificate.expires_on = issued_on, expires_on
    certificate.basis, certificate.course_id = basis, course_id
    certificate.issued_by_id = issued_by_id or principal.user_ref
    session.flush()
    audit.record(
        session,
        principal,
        action,
        "certificate",
        certificate.id,
        detail={
            "therapist_id": therapist_id,
            "model_id": model_id,
            "issued_on": issued_on.isoformat(),
            "expires_on": expires_on.isoformat(),
            "basis": basis.value,
        },
    )
    return certificate


def issue(
    session: Session,
    principal: Principal,
    therapist_id: str,
    model_id: str,
    issued_on: date,
    expires_on: date,
) -> Certificate:
    """A trainer certifies a therapist of their subtree directly (issuing again re-dates it)."""
    # The therapist must hold a grant where the caller certifies: a trainer of one country
    # certifies that country's therapists and cannot tell whether anyone else exists.
    if not holder_in_scope(session, principal, Permission.academy_certify, therapist_id):
        raise InvalidInput(f"user {therapist_id} does not exist", field="therapist_id")
    if devices_service.find_model(session, model_id) is None:
        raise InvalidInput(f"device model {model_id} does not exist", field="model_id")
    return grant_certificate(
        session, principal, therapist_id, model_id, issued_on, expires_on, CertificateBasis.trainer
    )


def renew(
    session: Session, principal: Principal, certificate_id: str, expires_on: date
) -> Certificate:
    """Extend an unrevoked certificate to a later expiry date."""
    certificate = _certifiable(session, principal, certificate_id)
    if certificate.revoked_at is not None:
        raise CertificateRevoked(
            f"certificate {certificate_id} was revoked ({certificate.revocation_reason}); "
            "issue a new one instead of renewing it"
        )
    if expires_on <= certificate.expires_on:
        raise InvalidInput(
            f"a renewal must end after the current expiry date, "
            f"{certificate.expires_on.isoformat()}",
            field="expires_on",
        )
    previous = certificate.expires_on
    certificate.expires_on = expires_on
    certificate.renewed_on = datetime.now(UTC).date()
    session.flush()
    audit.record(
        session,
        principal,
        "certificate.renew",
        "certificate",
        certificate.id,
        detail={"from": previous.isoformat(), "to": expires_on.isoformat()},
    )
    return certificate


def revoke(session: Session, principal: Principal, certificate_id: str, reason: str) -> Certificate:
    """Withdraw a certificate at once, with the reason (kept and audited, never deleted)."""
    if not reason.strip():
        raise InvalidInput.worded(
            N_("say why the certificate is revoked"), also={"field": "reason"}
        )
    certificate = _certifiable(session, principal, certificate_id)
    if certificate.revoked_at is not None:
        raise CertificateRevoked(f"certificate {certificate_id} is already revoked")
    certificate.revoked_at = datetime.now(UTC)
    certificate.revoked_by_id = principal.user_ref
    certificate.revocation_reason = reason.strip()
    session.flush()
    audit.record(
        session,
        principal,
        "certificate.revoke",
        "certificate",
        certificate.id,
        detail={"reason": certificate.revocation_reason},
    )
    return certificate
