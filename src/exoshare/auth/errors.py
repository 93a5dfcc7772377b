"""Errors of identity that become their own problem types."""

from __future__ import annotations

from exoshare.errors import ExoshareError, NotAuthenticated, PermissionDenied


class MailUnavailable(ExoshareError):
    """The e-mail an action depends on could not be sent; nothing was kept."""

    status = 503
    slug = "mail-unavailable"
    title = "E-mail could not be sent"


class SecondFactorRequired(NotAuthenticated):
    """The password was right, and this account also needs a TOTP or recovery code."""

    slug = "second-factor-required"
    title = "Second factor required"


class SecondFactorEnrolmentRequired(PermissionDenied):
    """The account's role requires a TOTP second factor, and it has none yet."""

    slug = "second-factor-enrolment-required"
    title = "Second factor enrolment required"
