"""Mosquitto password-file hashes (``$7$``: PBKDF2-SHA512, as ``mosquitto_passwd`` writes them).

A device secret is known in clear only when it is issued, so its Mosquitto hash is made then
and kept with the credential; the password file can then be written again at any time from the
database (``exoshare broker sync``) without anyone knowing a secret.

>>> line = password_hash("exodev_example", salt=bytes(12))
>>> line.startswith("$7$101$AAAAAAAAAAAAAAAA$")
True
>>> verify("exodev_example", line), verify("exodev_other", line)
(True, False)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ITERATIONS = 101
"""What Mosquitto 2.0's ``mosquitto_passwd`` uses; the secrets are 256-bit random, so the
iteration count guards nothing a guess could reach, and each connect stays cheap."""
SALT_BYTES = 12


def password_hash(secret: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """``$7$<iterations>$<base64 salt>$<base64 PBKDF2-SHA512>`` of ``secret``."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    derived = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, iterations, dklen=64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(derived).decode()}"


def verify(secret: str, encoded: str) -> bool:
    """Whether ``secret`` matches a ``$7$`` hash (what Mosquitto checks at each connect)."""
    try:
        _, kind, iterations, salt, derived = encoded.split("$")
        if kind != "7":
            return False
        expected = base64.b64decode(derived)
        found = hashlib.pbkdf2_hmac(
            "sha512", secret.encode(), base64.b64decode(salt), int(iterations), dklen=len(expected)
        )
    except ValueError:
        return False
    return hmac.compare_digest(found, expected)
