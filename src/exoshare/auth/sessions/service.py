"""A user's own browser sessions and API tokens: listed, and revoked one at a time or all."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from exoshare.auth.models import Credential
from exoshare.errors import NotFound


def active_credentials(session: Session, user_id: str) -> list[Credential]:
    """Unrevoked, unexpired credentials of ``user_id``, newest first."""
    return list(
        session.scalars(
            select(Credential)
            .where(
                Credential.user_id == user_id,
                Credential.revoked_at.is_(None),
                Credential.expires_at > datetime.now(UTC),
            )
            .order_by(Credential.created_at.desc(), Credential.id)
        )
    )


def revoke_own(session: Session, user_id: str, credential_id: str) -> Credential:
    """Revoke one of the user's own credentials; another user's answers like a missing one."""
    credential = session.get(Credential, credential_id)
    if credential is None or credential.user_id != user_id or credential.revoked_at is not None:
        raise NotFound(f"session {credential_id} not found")
    credential.revoked_at = datetime.now(UTC)
    return credential


def revoke_all(session: Session, user_id: str, keep: str | None = None) -> list[str]:
    """Revoke every active credential of the user except ``keep``; returns the revoked ids."""
    revoked = []
    now = datetime.now(UTC)
    for credential in active_credentials(session, user_id):
        if credential.id != keep:
            credential.revoked_at = now
            revoked.append(credential.id)
    return revoked
