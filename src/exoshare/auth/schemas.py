"""Request and response shapes of the identity API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from exoshare.auth.models import Role


class TokenRequest(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    label: str | None = Field(default=None, max_length=100)
    totp_code: str | None = Field(
        default=None,
        max_length=20,
        description="The authenticator app's 6-digit code, or a recovery code, when the "
        "account has a second factor.",
    )


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class GrantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    role: Role
    org_unit_id: str


class MeOut(BaseModel):
    id: str
    email: str
    display_name: str
    locale: str
    grants: list[GrantOut]


class UserCreate(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    display_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=10, max_length=1024)
    locale: str = Field(default="en", pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    role: Role
    org_unit_id: str


class AccountRequestOut(BaseModel):
    """The answer to an account request: the same whether or not the address was new (an
    address registered to someone the caller does not manage is left alone, not revealed)."""

    email: str
    role: Role
    org_unit_id: str
    detail: str = (
        "The account is open with this role, unless the address already belongs to someone "
        "you do not manage: nothing changes for them, and an invitation reaches them instead. "
        "GET /api/v1/users lists the accounts you manage."
    )


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    display_name: str
    locale: str
    active: bool


class GrantCreate(BaseModel):
    role: Role
    org_unit_id: str


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    user_id: str | None
    action: str
    entity: str
    entity_id: str | None
    patient_id: str | None
    client_address: str | None
    request_path: str | None
    detail: dict[str, Any] | None


class GrantRecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    role: Role
    org_unit_id: str
    granted_by_id: str | None
    granted_at: datetime
    revoked_at: datetime | None


class InvitationCreate(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    role: Role
    org_unit_id: str


class InvitationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    role: Role
    org_unit_id: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    withdrawn_at: datetime | None = None


class InvitationAccept(BaseModel):
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=1, max_length=1024)
    display_name: str | None = Field(
        default=None, max_length=200, description="Needed when the e-mail has no account yet."
    )


class PasswordResetRequest(BaseModel):
    email: str = Field(min_length=3, max_length=254)


class AcceptedOut(BaseModel):
    detail: str


class PasswordResetConfirm(BaseModel):
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class TotpEnrolmentOut(BaseModel):
    secret: str
    otpauth_uri: str


class TotpCode(BaseModel):
    code: str = Field(min_length=6, max_length=20)


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str]


class TotpStatusOut(BaseModel):
    enabled: bool
    required: bool
    unused_recovery_codes: int


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    label: str | None
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    client_address: str | None
    user_agent: str | None
    current: bool = False


class RevokedOut(BaseModel):
    revoked: int
