"""Single-use secrets sent by e-mail: made random, stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> tuple[str, str]:
    """A URL-safe secret and its hash; only the hash is stored.

    >>> token, digest = new_token()
    >>> digest == token_hash(token) and len(digest) == 64
    True
    """
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
