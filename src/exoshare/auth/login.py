"""Signing in: password, then the second factor when there is one, behind the throttle."""

from __future__ import annotations

from sqlalchemy.orm import Session

from exoshare.auth import service
from exoshare.auth.models import User
from exoshare.auth.secret_box import SecretBox
from exoshare.auth.throttle import LoginThrottler
from exoshare.auth.totp import service as totp
from exoshare.errors import NotAuthenticated, SecondFactorRequired


def sign_in(
    session: Session,
    throttler: LoginThrottler,
    email: str,
    password: str,
    totp_code: str | None,
    client_address: str | None,
    box: SecretBox,
) -> User:
    """The user behind ``email`` once every factor checks out.

    Raises :class:`~exoshare.errors.TooManyAttempts` while the e-mail or the address must
    wait, :class:`SecondFactorRequired` when the password was right but no code came, and
    :class:`~exoshare.errors.NotAuthenticated` otherwise; each failure is counted.
    """
    throttler.check(email, client_address)
    try:
        user = service.authenticate(session, email, password)
        if totp.has_second_factor(session, user.id):
            if not totp_code:
                raise SecondFactorRequired(
                    "this account has a second factor: send the 6-digit code of the "
                    "authenticator app (or a recovery code) as totp_code"
                )
            if not totp.verify(session, user, totp_code, box):
                raise NotAuthenticated("the second-factor code is wrong or was already used")
    except NotAuthenticated:
        throttler.failed(email, client_address)
        raise
    throttler.succeeded(email)
    return user
