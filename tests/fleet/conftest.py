"""The test world with currencies on its clinics, which billing needs."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from exoshare.db import session_scope
from exoshare.network.models import OrgUnit
from tests.world import World, build_world


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    world = build_world(session_factory)
    with session_scope(session_factory) as s:
        for key, currency, zone in (
            ("madrid", "EUR", "Europe/Madrid"),
            ("barcelona", "EUR", "Europe/Madrid"),
            ("nairobi", "KES", "Africa/Nairobi"),
        ):
            clinic = s.get(OrgUnit, world.ids[key])
            assert clinic is not None
            clinic.currency, clinic.timezone = currency, zone
    return world
