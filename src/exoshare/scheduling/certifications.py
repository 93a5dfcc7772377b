"""Therapist certifications: which device models a therapist may run, and until when.

(The academy will own certificates later; until then the operator records them here.)
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from exoshare.auth import service as auth_service
from exoshare.auth.schemas import Role
from exoshare.auth.scope import Permission, Principal
from exoshare.devices import service as devices_service
from exoshare.errors import InvalidInput, PermissionDenied
from exoshare.network import service as network_service
from exoshare.scheduling.models import TherapistCertification


def certify(
    session: Session,
    principal: Principal,
    therapist_id: str,
    model_id: str,
    certified_on: date,
    expires_on: date,
) -> TherapistCertification:
    """Record that a therapist may run a model until ``expires_on`` (renewal overwrites)."""
    if not principal.has_role(Role.consortium_operator):
        raise PermissionDenied("certifications are recorded by the operator (later: the academy)")
    # The therapist must hold a grant where the caller manages users: an operator of one
    # country certifies that country's therapists, and cannot tell anyone else exists (a user id
    # that does not exist holds no grant).
    grant_paths = network_service.org_unit_paths(
        session, auth_service.granted_unit_ids(therapist_id)
    )
    if not any(principal.covers(Permission.users_manage, path) for path in grant_paths):
        raise InvalidInput(f"user {therapist_id} does not exist", field="therapist_id")
    if devices_service.find_model(session, model_id) is None:
        raise InvalidInput(f"device model {model_id} does not exist", field="model_id")
    if expires_on <= certified_on:
        raise InvalidInput("expires_on must be after certified_on", field="expires_on")
    cert = session.scalar(
        select(TherapistCertification).where(
            TherapistCertification.therapist_id == therapist_id,
            TherapistCertification.model_id == model_id,
        )
    )
    if cert is None:
        cert = TherapistCertification(therapist_id=therapist_id, model_id=model_id)
        session.add(cert)
    cert.certified_on, cert.expires_on = certified_on, expires_on
    session.flush()
    return cert


def is_certified_on(session: Session, therapist_id: str, model_id: str, day: date) -> bool:
    """Whether the therapist holds a certificate for the model valid on ``day``."""
    found = session.scalar(
        select(TherapistCertification.id).where(
            TherapistCertification.therapist_id == therapist_id,
            TherapistCertification.model_id == model_id,
            TherapistCertification.certified_on <= day,
            TherapistCertification.expires_on >= day,
        )
    )
    return found is not None


def certified_models(session: Session, first_day: date, last_day: date) -> dict[str, set[str]]:
    """Therapist id -> the models they hold a certificate for valid on every day from
    ``first_day`` to ``last_day``."""
    out: dict[str, set[str]] = {}
    for cert in session.scalars(
        select(TherapistCertification).where(
            TherapistCertification.certified_on <= first_day,
            TherapistCertification.expires_on >= last_day,
        )
    ):
        out.setdefault(cert.therapist_id, set()).add(cert.model_id)
    return out
