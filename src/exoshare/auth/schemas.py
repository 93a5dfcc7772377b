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
