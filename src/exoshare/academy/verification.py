"""Proving a certificate to others: the public verification by code, the signed Open Badges
credential of a certificate, the signed revocation list and the issuer's public keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exoshare.academy import badges, certificates
from exoshare.academy.models import Certificate, Course
from exoshare.academy.schemas import CertificateStatus
from exoshare.auth import service as auth_service
from exoshare.auth.scope import Principal
from exoshare.auth.secret_box import split_keys
from exoshare.config import Settings
from exoshare.errors import NotFound


def secret_keys(settings: Settings) -> list[str]:
    """The current secret key first, then the former ones still honoured during a rotation."""
    current = settings.resolved_secret_key()
    return [current, *(k for k in split_keys(settings.previous_secret_keys) if k != current)]


def public_jwks(settings: Settings) -> dict[str, list[dict[str, str]]]:
    return badges.public_jwks(secret_keys(settings))


@dataclass(frozen=True)
class PublicVerification:
    """What a verification code tells anyone: name, model, dates and status, nothing more."""

    verification_code: str
    status: CertificateStatus
    holder_name: str
    device_model: str
    issued_on: date
    expires_on: date
    revoked_on: date | None
    checked_on: date


def verify_code(session: Session, code: str, today: date) -> PublicVerification:
    certificate = certificates.find_by_code(session, code.strip().lower())
    if certificate is None:
        raise NotFound(f"no certificate has the verification code {code}")
    name, _ = auth_service.user_identities(session, [certificate.therapist_id])[
        certificate.therapist_id
    ]
    return PublicVerification(
        verification_code=certificate.verification_code,
        status=certificates.status_on(certificate, today),
        holder_name=name,
        device_model=certificate.model.name,
        issued_on=certificate.issued_on,
        expires_on=certificate.expires_on,
        revoked_on=certificate.revoked_at.date() if certificate.revoked_at else None,
        checked_on=today,
    )


def _facts(session: Session, certificate: Certificate) -> badges.BadgeFacts:
    _, email = auth_service.user_identities(session, [certificate.therapist_id])[
        certificate.therapist_id
    ]
    course_title = None
    if certificate.course_id is not None:
        course = session.get(Course, certificate.course_id)
        if course is not None:
            course_title = course.translations[course.fallback_language]["title"]
    return badges.BadgeFacts(
        certificate_id=certificate.id,
        verification_code=certificate.verification_code,
        holder_email=email,
        device_model=certificate.model.name,
        model_id=certificate.model_id,
        issued_on=certificate.issued_on,
        expires_on=certificate.expires_on,
        course_title=course_title,
    )


def signed_credential(
    session: Session, principal: Principal, certificate_id: str, settings: Settings
) -> tuple[str, dict[str, Any]]:
    """(VC-JWT, credential) of a certificate the caller may read. A revoked certificate has no
    credential to hand out: the one issued before says so through the revocation list."""
    certificate = certificates.get_certificate(session, principal, certificate_id)
    if certificate.revoked_at is not None:
        raise NotFound(f"certificate {certificate_id} was revoked; it has no credential")
    document = badges.credential_document(
        _facts(session, certificate), settings.resolved_public_url()
    )
    key = badges.issuer_key(settings.resolved_secret_key())
    return badges.sign_credential(document, key), document


def signed_revocation_list(session: Session, settings: Settings) -> str:
    revoked = session.scalars(select(Certificate.id).where(Certificate.revoked_at.is_not(None)))
    return badges.sign_revocation_list(
        [f"urn:uuid:{certificate_id}" for certificate_id in revoked],
        f"{settings.resolved_public_url()}/academy",
        badges.issuer_key(settings.resolved_secret_key()),
        datetime.now(UTC),
    )
