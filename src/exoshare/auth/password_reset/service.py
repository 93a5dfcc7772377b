"""Password reset by e-mail: a single-use, expiring token; using it sets a new password and
signs the account out everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from exoshare.auth import service
from exoshare.auth.models import PasswordReset, User
from exoshare.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from exoshare.auth.sessions.service import revoke_all
from exoshare.auth.tokens import new_token, token_hash
from exoshare.errors import InvalidInput, NotFound

MAX_OPEN_LINKS = 3
"""Unused, unexpired reset links an account may have at once; further requests send nothing."""

INVALID_TOKEN = "this reset link is unknown, already used or expired: ask for a new one"


def request_reset(session: Session, email: str, ttl: timedelta) -> tuple[User, str] | None:
    """A token for the active account of ``email``, or None when there is none.

    The caller answers the same either way and mails only when there is a token.
    """
    user = session.scalar(select(User).where(User.email == service.normalise_email(email)))
    if user is None or not user.active:
        return None
    now = datetime.now(UTC)
    open_links = session.scalar(
        select(func.count())
        .select_from(PasswordReset)
        .where(
            PasswordReset.user_id == user.id,
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
        )
    )
    if (open_links or 0) >= MAX_OPEN_LINKS:
        # Enough links are waiting in the inbox; more would only let anyone flood it.
        return None
    token, digest = new_token()
    session.add(
        PasswordReset(user_id=user.id, token_sha256=digest, expires_at=datetime.now(UTC) + ttl)
    )
    session.flush()
    return user, token


def check_token(session: Session, token: str) -> PasswordReset:
    reset = session.scalar(
        select(PasswordReset)
        .where(PasswordReset.token_sha256 == token_hash(token))
        .with_for_update()
    )
    if reset is None or reset.used_at is not None or reset.expires_at <= datetime.now(UTC):
        raise NotFound(INVALID_TOKEN, field="token")
    return reset


def reset_password(session: Session, token: str, password: str) -> tuple[User, list[str]]:
    """Set the new password; spends every open reset token of the account and revokes all of
    its sessions and API tokens (whoever held them may be why the password is reset).
    Returns the user and the revoked credential ids."""
    reset = check_token(session, token)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    user = session.get(User, reset.user_id)
    assert user is not None  # a foreign key holds it
    user.password_hash = hash_password(password)
    now = datetime.now(UTC)
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    return user, revoke_all(session, user.id)


def reset_mail(base_url: str, token: str, ttl: timedelta) -> tuple[str, str]:
    link = f"{base_url}/reset-password?token={quote(token)}"
    minutes = int(ttl.total_seconds() // 60)
    return (
        "Reset your exoshare password",
        "Someone (hopefully you) asked to reset the password of this exoshare account.\n\n"
        f"Choose a new password here:\n{link}\n\n"
        f"The link works once, for {minutes} minutes. Setting a new password signs the "
        "account out everywhere. If you did not ask, ignore this message: your password "
        "stays as it is.\n",
    )
