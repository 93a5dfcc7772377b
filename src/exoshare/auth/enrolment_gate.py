"""Where a caller who must enrol a second factor first may still go."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from exoshare.auth.scope import Principal
from exoshare.auth.totp import service as totp
from exoshare.errors import SecondFactorEnrolmentRequired
from exoshare.runtime import runtime_of

ENROLMENT_PAGE = "/account/security"
# Enrolment itself, the caller's own identity and sessions, and the ways out.
OPEN_PATHS = (
    "/api/v1/auth/totp",
    "/api/v1/auth/token",
    "/api/v1/auth/sessions",
    "/api/v1/me",
    ENROLMENT_PAGE,
    "/logout",
)


def require_enrolment_if_due(request: Request, session: Session, principal: Principal) -> None:
    """Refuse every other path to an operator or clinic admin without a second factor while
    ``require_totp_for_admins`` is on (pages redirect to the enrolment page)."""
    if not runtime_of(request).settings.require_totp_for_admins:
        return
    if request.url.path.startswith(OPEN_PATHS):
        return
    if totp.needs_enrolment(session, principal, required_for_admins=True):
        raise SecondFactorEnrolmentRequired(
            "your role requires a second factor: enrol one at "
            f"{ENROLMENT_PAGE} (or POST /api/v1/auth/totp) before anything else"
        )
