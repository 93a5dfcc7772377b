"""Request and response shapes of the identity API."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema


class Role(enum.StrEnum):
    consortium_operator = "consortium_operator"
    clinic_admin = "clinic_admin"
    therapist = "therapist"
    patient = "patient"
    researcher = "researcher"
    manufacturer = "manufacturer"
    trainer = "trainer"
    translator = "translator"


class CredentialKind(enum.StrEnum):
    api_token = "api_token"
    browser_session = "browser_session"


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
    """Invite a person to a role. The admin never chooses a password: the person does, or
    proves their existing one, when accepting. Unknown fields (such as a former ``password``)
    are refused by name rather than silently dropped."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254)
    role: Role
    org_unit_id: str
    # Not part of the documented schema: only there to tell clients of the former request
    # shape why their password is refused.
    password: SkipJsonSchema[str | None] = None

    @field_validator("password")
    @classmethod
    def _no_password(cls, value: str | None) -> None:
        if value is not None:
            raise ValueError(
                "leave this field out: the invited person chooses their own password when "
                "accepting the invitation"
            )
        return None


class PersonInvitedOut(BaseModel):
    """The answer to inviting a person: the same shape and wording whether the address was new
    or already belongs to someone the caller does not manage."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    role: Role
    org_unit_id: str
    expires_at: datetime
    detail: str = (
        "An invitation to this role is on its way to the address. The account (or, for someone "
        "already registered, the role) exists once they accept it with their own password. "
        "GET /api/v1/invitations lists it while it is pending."
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
