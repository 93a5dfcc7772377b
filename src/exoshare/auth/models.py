"""Tables of identity and access: users, scoped role grants, tokens and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exoshare.auth.schemas import CredentialKind, Role
from exoshare.db import Base, IdMixin, TimestampMixin, utcnow

if TYPE_CHECKING:
    # network owns org units and sits above auth: the relationship is named, not imported.
    from exoshare.network.models import OrgUnit


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(12), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    # A manufacturer's staff act for one partner organisation.
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"), default=None)

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user",
        primaryjoin="and_(User.id == RoleGrant.user_id, RoleGrant.revoked_at.is_(None))",
        viewonly=True,
    )


class RoleGrant(IdMixin, Base):
    """A role held on an org-unit subtree. Revoked grants stay for the record."""

    __tablename__ = "role_grants"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=30))
    org_unit_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"))
    granted_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship(back_populates="grants", foreign_keys=[user_id])
    org_unit: Mapped[OrgUnit] = relationship("OrgUnit", viewonly=True)


class Credential(IdMixin, Base):
    """A bearer secret (API token or browser session). Only its SHA-256 is stored."""

    __tablename__ = "credentials"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[CredentialKind] = mapped_column(Enum(CredentialKind, native_enum=False, length=20))
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str | None] = mapped_column(String(64), default=None)
    label: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # Shown to the owner in their list of sessions, so they can tell which one to revoke.
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    client_address: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(300), default=None)

    user: Mapped[User] = relationship()


class Invitation(IdMixin, Base):
    """An e-mailed offer of a role on an org unit; its single-use token is stored hashed."""

    __tablename__ = "invitations"

    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=30))
    org_unit_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"))
    invited_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    accepted_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    # Withdrawn invitations stay for the record; their token no longer opens anything.
    withdrawn_at: Mapped[datetime | None] = mapped_column(default=None)

    org_unit: Mapped[OrgUnit] = relationship("OrgUnit", viewonly=True)


class PasswordReset(IdMixin, Base):
    """A single-use, expiring token that lets the owner of an e-mail address set a new password."""

    __tablename__ = "password_resets"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class LoginThrottle(Base):
    """Failed sign-ins of one account name or one client address, and until when they wait.

    Keyed by what was typed, not by user id, so an unknown e-mail is throttled exactly like a
    known one. Kept in the database so every server process sees the same count.
    """

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(default=None)


class TotpEnrolment(Base):
    """A user's TOTP second factor; usable once confirmed with a first code."""

    __tablename__ = "totp_enrolments"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    # Sealed with a key derived from EXOSHARE_SECRET_KEY (auth/secret_box.py), never plain.
    secret: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    # The newest 30-second step a code was accepted for: a code is good once, not for its window.
    last_used_step: Mapped[int | None] = mapped_column(BigInteger, default=None)


class RecoveryCode(IdMixin, Base):
    """A one-time code that stands in for a TOTP code when the phone is lost. Stored hashed."""

    __tablename__ = "totp_recovery_codes"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditEvent(Base):
    """One read or write of patient data; never updated or deleted (a trigger enforces it)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_patient_at", "patient_id", "at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[str | None] = mapped_column(String(32))
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    request_path: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[dict[str, object] | None] = mapped_column(JSON, default=None)
