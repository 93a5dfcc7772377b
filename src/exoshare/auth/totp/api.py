"""HTTP routes of the TOTP second factor: status, enrolment, recovery codes, removal."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from exoshare.auth import service
from exoshare.auth.gate import CurrentPrincipal
from exoshare.auth.schemas import RecoveryCodesOut, TotpCode, TotpEnrolmentOut, TotpStatusOut
from exoshare.auth.secret_box import totp_box
from exoshare.auth.totp import service as totp
from exoshare.deps import DbSession
from exoshare.runtime import runtime_of

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.get("/auth/totp", response_model=TotpStatusOut)
def totp_status(request: Request, session: DbSession, principal: CurrentPrincipal) -> TotpStatusOut:
    return TotpStatusOut(
        enabled=totp.has_second_factor(session, principal.user_id),
        required=totp.is_required(principal, runtime_of(request).settings.require_totp_for_admins),
        unused_recovery_codes=totp.unused_recovery_codes(session, principal.user_id),
    )


@router.post("/auth/totp", response_model=TotpEnrolmentOut, status_code=status.HTTP_201_CREATED)
def start_totp(
    request: Request, session: DbSession, principal: CurrentPrincipal
) -> TotpEnrolmentOut:
    """Start enrolment: the secret, shown this once, as text and as an otpauth:// URI."""
    secret, uri = totp.start_enrolment(
        session, service.user_of(session, principal), totp_box(runtime_of(request).settings)
    )
    return TotpEnrolmentOut(secret=secret, otpauth_uri=uri)


@router.post("/auth/totp/confirm", response_model=RecoveryCodesOut)
def confirm_totp(
    body: TotpCode, request: Request, session: DbSession, principal: CurrentPrincipal
) -> RecoveryCodesOut:
    """Activate the second factor with a first code; returns the recovery codes, once."""
    box = totp_box(runtime_of(request).settings)
    codes = totp.confirm_enrolment(session, service.user_of(session, principal), body.code, box)
    return RecoveryCodesOut(recovery_codes=codes)


@router.post("/auth/totp/recovery-codes", response_model=RecoveryCodesOut)
def renew_recovery_codes(
    body: TotpCode, request: Request, session: DbSession, principal: CurrentPrincipal
) -> RecoveryCodesOut:
    """New recovery codes (the old ones stop working); needs a current code."""
    user = service.user_of(session, principal)
    totp.require_code(session, user, body.code, totp_box(runtime_of(request).settings))
    return RecoveryCodesOut(recovery_codes=totp.new_recovery_codes(session, user))


@router.post("/auth/totp/disable", status_code=status.HTTP_204_NO_CONTENT)
def disable_totp(
    body: TotpCode, request: Request, session: DbSession, principal: CurrentPrincipal
) -> None:
    """Remove the second factor; needs a current code or an unused recovery code."""
    totp.disable(
        session,
        service.user_of(session, principal),
        body.code,
        totp_box(runtime_of(request).settings),
    )
