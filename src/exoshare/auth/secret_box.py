"""Encryption at rest of secrets the server must read back (TOTP seeds), keyed from
EXOSHARE_SECRET_KEY."""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from exoshare.config import Settings
from exoshare.errors import UndecryptableSecret

UNREADABLE = (
    "the server cannot read a stored second-factor secret: its secret key changed; an "
    "operator must list the former key in EXOSHARE_PREVIOUS_SECRET_KEYS (docs/security.md)"
)
# Each purpose gets its own key, so a key that leaked from one use opens nothing else.
TOTP_PURPOSE = b"exoshare totp-secret v1"


def derive_key(secret_key: str, purpose: bytes) -> bytes:
    """A Fernet key (AES-128-CBC + HMAC-SHA256) derived from the server's secret key by HKDF."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


class SecretBox:
    """Seals with the current key; opens with the current one or any previous one, so a key
    rotation needs no downtime: rows are re-sealed with :meth:`reseal` at leisure."""

    def __init__(
        self, secret_key: str, previous_keys: Sequence[str] = (), purpose: bytes = TOTP_PURPOSE
    ) -> None:
        keys = [secret_key, *(k for k in previous_keys if k and k != secret_key)]
        self._fernet = MultiFernet([Fernet(derive_key(k, purpose)) for k in keys])

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise UndecryptableSecret(UNREADABLE) from exc

    def reseal(self, sealed: str) -> str:
        """The same secret sealed with the current key (whichever key sealed it before)."""
        try:
            return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError) as exc:
            raise UndecryptableSecret(UNREADABLE) from exc


def split_keys(value: str | None) -> list[str]:
    """The comma-separated previous keys of EXOSHARE_PREVIOUS_SECRET_KEYS."""
    return [k.strip() for k in (value or "").split(",") if k.strip()]


def totp_box(settings: Settings) -> SecretBox:
    """Seals and opens stored TOTP secrets with keys derived from the secret key(s)."""
    return SecretBox(settings.resolved_secret_key(), split_keys(settings.previous_secret_keys))
