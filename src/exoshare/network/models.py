"""Tables of the network: the org-unit tree, partner organisations and their agreements."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Enum, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exoshare.db import Base, IdMixin, TimestampMixin
from exoshare.network.schemas import AgreementKind, AgreementStatus, OrgUnitKind, PartnerKind


class OrgUnit(IdMixin, TimestampMixin, Base):
    """A node of the network tree. ``path`` is the materialised path of ids, ``/a/b/c/``.

    Scope checks are prefix tests on ``path``, so a grant on a region covers every clinic in it
    without walking the tree.
    """

    __tablename__ = "org_units"
    __table_args__ = (Index("ix_org_units_path", "path"),)

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrgUnitKind] = mapped_column(Enum(OrgUnitKind, native_enum=False, length=20))
    level: Mapped[int]
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("org_units.id"), default=None)
    path: Mapped[str] = mapped_column(String(400))
    country_code: Mapped[str | None] = mapped_column(String(2), default=None)
    city: Mapped[str | None] = mapped_column(String(120), default=None)
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    # Where patients go and whom they call (their appointments page, reminders): clinics only.
    address_line1: Mapped[str | None] = mapped_column(String(200), default=None)
    address_line2: Mapped[str | None] = mapped_column(String(200), default=None)
    postcode: Mapped[str | None] = mapped_column(String(20), default=None)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    """E.164 (``+41223720000``); shown in the clinic country's own format."""
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    opened_on: Mapped[date | None] = mapped_column(default=None)
    closed_on: Mapped[date | None] = mapped_column(default=None)

    parent: Mapped[OrgUnit | None] = relationship(remote_side="OrgUnit.id")


class Partner(IdMixin, TimestampMixin, Base):
    """An organisation in the network that is not itself a node of the clinic tree."""

    __tablename__ = "partners"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[PartnerKind] = mapped_column(Enum(PartnerKind, native_enum=False, length=20))
    country_code: Mapped[str] = mapped_column(String(2))
    website: Mapped[str | None] = mapped_column(String(200), default=None)
    org_unit_id: Mapped[str | None] = mapped_column(ForeignKey("org_units.id"), default=None)
    """The clinic (or other node) this partner runs, when it is part of the tree."""
    description: Mapped[str | None] = mapped_column(Text, default=None)
    # Short lists read whole with the partner and matched in Python (a network has hundreds of
    # partners, not millions), so JSON columns rather than four link tables.
    countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Where the partner works (ISO 3166-1 alpha-2), besides its home country."""
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Languages its people work in (ISO 639-1)."""
    offers: Mapped[list[str]] = mapped_column(JSON, default=list)
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)


class Agreement(IdMixin, TimestampMixin, Base):
    """A signed arrangement between two partners: a provider gives, a recipient receives."""

    __tablename__ = "partner_agreements"

    kind: Mapped[AgreementKind] = mapped_column(Enum(AgreementKind, native_enum=False, length=30))
    title: Mapped[str] = mapped_column(String(200))
    terms: Mapped[str] = mapped_column(Text, default="")
    provider_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    recipient_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date | None] = mapped_column(default=None)
    status: Mapped[AgreementStatus] = mapped_column(
        Enum(AgreementStatus, native_enum=False, length=20), default=AgreementStatus.draft
    )
    end_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)

    provider: Mapped[Partner] = relationship(foreign_keys=[provider_id])
    recipient: Mapped[Partner] = relationship(foreign_keys=[recipient_id])
    covers: Mapped[list[AgreementCover]] = relationship(
        back_populates="agreement", order_by="AgreementCover.user_id"
    )


class AgreementCover(IdMixin, Base):
    """Tele-supervision: one of the provider's therapists covering the recipient's clinic.

    ``grant_id`` is the therapist grant the agreement made on activation; ending the agreement
    revokes it, so the cover never outlives the agreement.
    """

    __tablename__ = "partner_agreement_covers"

    agreement_id: Mapped[str] = mapped_column(ForeignKey("partner_agreements.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    grant_id: Mapped[str | None] = mapped_column(ForeignKey("role_grants.id"), default=None)

    agreement: Mapped[Agreement] = relationship(back_populates="covers")
