"""Login throttling: failed sign-ins per account name and per client address, with back-off.

Every failure is counted for the e-mail that was typed (known or not, so the answer never
tells whether an account exists) and for the client address. After the free failures each
further one doubles the wait, up to a cap; a successful sign-in clears the account's count.
The counts live in the database and are written in their own transaction, because the
request that failed is rolled back and because every server process must see them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.models import LoginThrottle
from exoshare.config import Settings
from exoshare.db import session_scope
from exoshare.errors import TooManyAttempts

# After this long without a failure a key starts from zero again.
FORGET_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class ThrottlePolicy:
    free_failures: int
    first_wait_s: int
    max_wait_s: int

    def wait_s(self, failures: int) -> int:
        """Seconds to wait after ``failures`` consecutive failures.

        >>> policy = ThrottlePolicy(free_failures=5, first_wait_s=30, max_wait_s=900)
        >>> [policy.wait_s(n) for n in (4, 5, 6, 7, 12)]
        [0, 30, 60, 120, 900]
        """
        if failures < self.free_failures:
            return 0
        return min(self.first_wait_s * 2 ** (failures - self.free_failures), self.max_wait_s)


def account_key(email: str) -> str:
    return "account:" + email.strip().lower()[:280]


def address_key(address: str | None) -> str:
    return "address:" + (address or "unknown")


def policies(settings: Settings) -> dict[str, ThrottlePolicy]:
    return {
        "account": ThrottlePolicy(
            settings.login_free_failures_per_account,
            settings.login_backoff_first_s,
            settings.login_backoff_max_s,
        ),
        "address": ThrottlePolicy(
            settings.login_free_failures_per_address,
            settings.login_backoff_first_s,
            settings.login_backoff_max_s,
        ),
    }


class LoginThrottler:
    """Checks and records sign-in attempts for one app (its settings and database)."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self.factory = factory
        self.policies = policies(settings)

    def check(self, email: str, address: str | None) -> None:
        """Raise :class:`TooManyAttempts` while the account name or the address must wait."""
        now = datetime.now(UTC)
        keys = [account_key(email), address_key(address)]
        with session_scope(self.factory) as session:
            rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys))).all()
        waits = [
            (row.blocked_until - now).total_seconds()
            for row in rows
            if row.blocked_until is not None and row.blocked_until > now
        ]
        if waits:
            retry_after_s = max(1, math.ceil(max(waits)))
            raise TooManyAttempts(
                f"too many failed sign-ins: try again in {retry_after_s} seconds",
                retry_after_s=retry_after_s,
            )

    def failed(self, email: str, address: str | None) -> None:
        now = datetime.now(UTC)
        for kind, key in (("account", account_key(email)), ("address", address_key(address))):
            policy = self.policies[kind]
            for _ in range(2):  # a second process may insert the same key first
                try:
                    with session_scope(self.factory) as session:
                        row = session.get(LoginThrottle, key, with_for_update=True)
                        if row is None:
                            row = LoginThrottle(key=key, failures=0, last_failure_at=now)
                            session.add(row)
                        elif now - row.last_failure_at > FORGET_AFTER:
                            row.failures = 0
                        row.failures += 1
                        row.last_failure_at = now
                        wait_s = policy.wait_s(row.failures)
                        row.blocked_until = now + timedelta(seconds=wait_s) if wait_s else None
                    break
                except IntegrityError:
                    continue

    def succeeded(self, email: str) -> None:
        """Clear the account's count. The address's count stays: one good password from an
        address must not buy it a fresh run at every other account."""
        with session_scope(self.factory) as session:
            session.execute(delete(LoginThrottle).where(LoginThrottle.key == account_key(email)))
