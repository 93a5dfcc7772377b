"""The Madrid desk with units on loan both ways, and another clinic's admin (for the role matrix).

On top of ``madrid_world`` (Madrid open 09–11 on weekdays, one certified therapist, the Strider X2
approved under CE):

* SX2-0001, Madrid's own Strider, is leased to Barcelona from Mon 9 to Fri 20 March 2026;
* SX2-0002, a Strider Barcelona owns, is leased to Madrid for the whole of March 2026;
* admin_barcelona keeps Barcelona's schedule and nothing of Madrid's.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth import service as auth
from exoshare.auth.schemas import Role
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.devices import service as devices
from exoshare.fleet.leases import create_lease
from exoshare.network.models import OrgUnit
from tests.scheduling.test_service import madrid_world
from tests.world import PASSWORD, World

LEASED_OUT = (date(2026, 3, 9), date(2026, 3, 20))
LEASED_IN = (date(2026, 3, 1), date(2026, 3, 31))


def loan_world(session_factory: sessionmaker[Session]) -> World:
    world = madrid_world(session_factory)
    with session_scope(session_factory) as s:
        borrowed = devices.create_unit(
            s, SYSTEM_SEEDING, "SX2-0002", world.ids["model"], world.ids["barcelona"]
        )
        world.ids["unit_borrowed"] = borrowed.id
        create_lease(
            s, SYSTEM_SEEDING, borrowed.id, world.ids["madrid"], Decimal(500), *LEASED_IN,
            currency="EUR",
        )  # fmt: skip
        create_lease(
            s, SYSTEM_SEEDING, world.ids["unit_madrid"], world.ids["barcelona"], Decimal(500),
            *LEASED_OUT, currency="EUR",
        )  # fmt: skip
    add_admin_barcelona(world, session_factory)
    return world


def add_admin_barcelona(world: World, session_factory: sessionmaker[Session]) -> None:
    """Barcelona's clinic admin: keeps Barcelona's schedule, sees nothing of Madrid's."""
    with session_scope(session_factory) as s:
        admin = auth.create_user(s, "admin_barcelona@test.exoshare.org", "Admin Bcn", PASSWORD)
        auth.add_grant(s, admin, Role.clinic_admin, s.get_one(OrgUnit, world.ids["barcelona"]))
        world.ids["admin_barcelona"] = admin.id
        world.emails["admin_barcelona"] = admin.email
