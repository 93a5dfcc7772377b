"""The domain error hierarchy; each error knows the HTTP problem it becomes (RFC 9457)."""

from __future__ import annotations

from typing import Any


class ExoshareError(Exception):
    """Base of every domain error. ``status`` and ``slug`` shape the problem response."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(ExoshareError):
    """The thing does not exist, or the caller may not know that it exists."""

    status = 404
    slug = "not-found"
    title = "Not found"


class PermissionDenied(ExoshareError):
    """The caller may see the thing but not do this to it."""

    status = 403
    slug = "forbidden"
    title = "Forbidden"


class NotAuthenticated(ExoshareError):
    status = 401
    slug = "not-authenticated"
    title = "Authentication required"


class Conflict(ExoshareError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class InvalidInput(ExoshareError):
    """Input that parses but breaks a domain rule; ``field`` names the offending field."""

    status = 422
    slug = "invalid-input"
    title = "Invalid input"

    def __init__(self, detail: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.field = field


class TooManyAttempts(ExoshareError):
    """Too many failed attempts lately; ``retry_after_s`` says when to try again."""

    status = 429
    slug = "too-many-attempts"
    title = "Too many attempts"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail, retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s
