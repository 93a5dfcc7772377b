"""Tables of the network: the org-unit tree and partner organisations."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Enum, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exoshare.db import Base, IdMixin, TimestampMixin
from exoshare.network.schemas import OrgUnitKind, PartnerKind


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
