"""The demo's fleet story: Bangalore's waitlist, its lease and invoice, approvals in use."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.db import session_scope
from exoshare.demo.network import ensure_demo_network
from exoshare.devices.approvals.service import approved_countries
from exoshare.devices.models import DeviceUnit
from exoshare.fleet.custody import current_holders
from exoshare.fleet.models import Invoice
from exoshare.fleet.schemas import InvoiceStatus
from exoshare.network.models import OrgUnit
from exoshare.scheduling.models import WaitlistEntry


def test_demo_bangalore_waits_fifty_and_every_unit_is_usable_where_it_is(
    session_factory: sessionmaker[Session],
) -> None:
    with session_scope(session_factory) as s:
        ensure_demo_network(s)
    with session_factory() as s:
        blr = s.scalar(select(OrgUnit).where(OrgUnit.code == "IN-BLR-01"))
        assert blr is not None
        waiting = s.scalar(
            select(func.count()).select_from(WaitlistEntry).where(WaitlistEntry.clinic_id == blr.id)
        )
        assert waiting == 50
        units = list(s.scalars(select(DeviceUnit)))
        holders = current_holders(s, [u.id for u in units])
        assert sum(holder == blr.id for holder in holders.values()) == 2  # own + leased in
        countries = approved_countries(s)
        clinic_country = dict(s.execute(select(OrgUnit.id, OrgUnit.country_code)).all())
        assert all(clinic_country[holders[u.id]] in countries[u.model_id] for u in units)
        invoice = s.scalar(select(Invoice).where(Invoice.number == "IN-BLR-01-2026-11"))
        assert invoice is not None and invoice.currency == "INR"
        assert invoice.status is InvoiceStatus.draft
        assert invoice.lines[0].amount == Decimal("41500")
        assert invoice.total == sum((line.amount for line in invoice.lines), Decimal(0))
