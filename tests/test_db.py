"""Storage plumbing: timestamps keep their instant on both databases; migrations round-trip."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import inspect
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.models import AuditEvent
from exoshare.db import downgrade, make_engine, new_id, new_ids, upgrade


def test_local_time_is_stored_as_its_instant_and_read_back_aware(
    session_factory: sessionmaker[Session],
) -> None:
    bangalore_9am = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    with session_factory() as s:
        event = AuditEvent(at=bangalore_9am, action="read", entity="patient", entity_id="x")
        s.add(event)
        s.commit()
        event_id = event.id
    with session_factory() as s:
        stored = s.get(AuditEvent, event_id)
        assert stored is not None
        assert stored.at.tzinfo is not None
        assert stored.at == bangalore_9am
        assert stored.at.astimezone(UTC).hour == 3 and stored.at.astimezone(UTC).minute == 30


def test_migrations_downgrade_to_empty_and_upgrade_again(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        downgrade(database_url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(database_url)
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {
        "patients",
        "audit_events",
        "telemetry_sessions",
        "leases",
        "therapy_sessions",
    } <= tables


def test_ids_made_in_bulk_are_random_version_4_uuids_like_single_ones() -> None:
    bulk = new_ids(2000)
    assert len(set(bulk)) == 2000 and new_ids(0) == []
    for made in (*bulk, new_id()):
        parsed = uuid.UUID(hex=made)
        assert (parsed.hex, parsed.version, parsed.variant) == (made, 4, uuid.RFC_4122)
    # The random bits are not stuck: every hex digit outside the fixed ones varies.
    free = [i for i in range(32) if i not in (12, 16)]
    assert all(len({made[i] for made in bulk}) == 16 for i in free)
