"""Group commit: many messages in one transaction keep every per-message guarantee."""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.telemetry import credentials, summaries
from exoshare.telemetry.ingest import Accepted, Inbound, Ingestor
from exoshare.telemetry.models import DeviceCredential, SessionStatus, TelemetrySession
from exoshare.telemetry.protocol import DeviceEvent, encode
from exoshare.telemetry.sessions import session_keys_in
from tests.telemetry.helpers import (
    CHANNELS,
    SERIAL,
    START_S,
    Env,
    announce,
    batch,
    counts,
    end,
    make_env,
    only_session,
    send,
    walking,
)


def _grouped(env: Env, ttl_s: float = 5.0) -> Env:
    env.ingestor = Ingestor(env.factory, env.store, group_files=True, credential_ttl_s=ttl_s)
    return env


def _wire(env: Env, message: object) -> Inbound:
    wire = message.to_wire()  # type: ignore[attr-defined]
    wire["auth"] = env.secret
    return Inbound(encode(wire))


def _statuses(env: Env, *messages: object) -> list[str]:
    receipts = env.ingestor.handle_many([_wire(env, m) for m in messages])
    out = []
    for r in receipts:
        assert r is not None
        out.append(r.status if r.code is None else f"{r.status}:{r.code}")
    return out


def _out_of_range(seq: int) -> object:
    bad = batch(seq)
    bad.values = dict(bad.values)
    bad.values["knee_angle_left_deg"] = np.full(100, 400.0)
    return bad


def test_a_group_commits_once_rejects_alone_and_dedups_inside_and_across(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = _grouped(make_env(session_factory, tmp_path))
    told: list[list[Accepted]] = []
    env.ingestor.add_group_listener(told.append)
    group = [announce(env), batch(0), batch(1), batch(1), _out_of_range(2), batch(3)]
    assert _statuses(env, *group) == [
        "stored", "stored", "stored", "duplicate", "rejected:out-of-range", "stored",
    ]  # fmt: skip
    # One transaction, one file for the three stored batches; the rejected one left nothing.
    assert env.ingestor.groups == 1
    assert counts(env) == (1, 3, 300, 1)
    assert [a.status for a in told[0]] == ["stored", "stored", "stored", "duplicate", "stored"]

    # The same group again (a device resending everything): all duplicates, nothing written;
    # the corrected batch 2 is stored in a file of its own.
    again = [announce(env), batch(0), batch(1), batch(3), batch(2)]
    assert _statuses(env, *again) == ["duplicate"] * 4 + ["stored"]
    assert counts(env) == (1, 4, 400, 2)

    # Every sample reads back exactly, in order, from the group files.
    with session_scope(env.factory) as s:
        record = s.get(type(only_session(env)), only_session(env).id)
        assert record is not None
        recording = summaries.read_recording(s, env.store, record)
    expected = walking(400)
    for name in CHANNELS:
        np.testing.assert_array_equal(
            recording.channels[name], expected[name].astype(np.float32).astype(np.float64)
        )


def test_overlapping_batches_inside_one_group_are_caught(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = _grouped(make_env(session_factory, tmp_path))
    shifted = batch(1)
    shifted.seq = 7  # batch 1's samples under another sequence number
    assert _statuses(env, announce(env), batch(1), shifted) == [
        "stored", "stored", "rejected:duplicate-timestamps",
    ]  # fmt: skip
    assert counts(env) == (1, 1, 100, 1)


def test_a_session_that_ends_inside_its_group_is_summarised_from_the_group_file(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = _grouped(make_env(session_factory, tmp_path))
    messages = [announce(env), *(batch(k) for k in range(12)), end(12)]
    assert _statuses(env, *messages) == ["stored"] * 14
    record = only_session(env)
    assert record.status is SessionStatus.ended
    assert (record.n_batches, record.n_samples) == (12, 1200)
    assert record.summary is not None and record.step_count and record.step_count > 10


def test_per_batch_files_without_group_files(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)  # the default Ingestor: one file per batch
    assert _statuses(env, announce(env), batch(0), batch(1), batch(0)) == [
        "stored", "stored", "stored", "duplicate",
    ]  # fmt: skip
    assert counts(env) == (1, 2, 200, 2)


def test_revocation_here_is_immediate_and_elsewhere_within_the_ttl(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = _grouped(make_env(session_factory, tmp_path), ttl_s=0.3)
    # The cache's clock is the test's: a slow first message on a busy machine must not age the
    # cached credential out before the second one is checked.
    clock = [1000.0]
    env.ingestor.credentials.clock = lambda: clock[0]
    assert send(env, announce(env)) == "stored"
    assert send(env, batch(0)) == "stored"
    assert env.ingestor.credentials.hits >= 1  # the second message skipped the SQL check

    # Revoked by another process (straight in the database): honoured once the TTL is over.
    with session_scope(env.factory) as s:
        s.execute(update(DeviceCredential).values(revoked_at=datetime.now(UTC)))
    assert send(env, batch(1)) == "stored"  # still cached
    clock[0] += 0.35
    assert send(env, batch(2)) == "rejected:not-authenticated"

    # Revoked in this process: the very next message is refused, however fresh the cache.
    env.ingestor.credentials.ttl_s = 60.0
    env.secret = _new_secret(env)
    assert send(env, batch(3)) == "stored"
    assert send(env, batch(4)) == "stored"  # from the cache
    with session_scope(env.factory) as s:
        credential = s.query(DeviceCredential).filter(DeviceCredential.revoked_at.is_(None)).one()
        credentials.revoke_device_credential(s, SYSTEM_SEEDING, credential.id)
    assert send(env, batch(5)) == "rejected:not-authenticated"
    assert counts(env)[:3] == (1, 4, 400)


def _new_secret(env: Env) -> str:
    with session_scope(env.factory) as s:
        secret, _ = credentials.issue_device_credential(
            s, SYSTEM_SEEDING, env.world.ids["unit_madrid"]
        )
    return secret


def test_a_group_verifies_its_mqtt_devices_in_one_query(
    session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _grouped(make_env(session_factory, tmp_path))
    with session_scope(env.factory) as s:
        credentials.issue_device_credential(s, SYSTEM_SEEDING, env.world.ids["unit_barcelona"])
        barcelona = credentials.device_by_id(s, env.world.ids["unit_barcelona"])
    assert barcelona is not None
    asked: list[list[str]] = []
    real = credentials.serial_units

    def counted(session: Session, serials: Collection[str]) -> dict[str, tuple[str, str]]:
        asked.append(sorted(serials))
        return real(session, serials)

    monkeypatch.setattr(credentials, "serial_units", counted)

    def over_mqtt(serial: str, message: object) -> Inbound:
        return Inbound(encode(message.to_wire()), topic_serial=serial)  # type: ignore[attr-defined]

    receipts = env.ingestor.handle_many(
        [
            over_mqtt(SERIAL, announce(env)),
            over_mqtt(SERIAL, batch(0)),
            over_mqtt(barcelona.serial_number, announce(env, "s-2")),
            over_mqtt("SX2-NOBODY", batch(0)),
        ]
    )
    codes = [(r.status, r.code) for r in receipts if r is not None]
    assert codes[:2] == [("stored", None), ("stored", None)]
    # Barcelona's device is verified (its announce names another device: refused for that).
    assert codes[2] == ("rejected", "unknown-device")
    assert codes[3] == ("rejected", "not-authenticated")
    # Both devices and the stranger in one query; the stranger, refused, once more on its own.
    assert asked[0] == sorted([SERIAL, barcelona.serial_number, "SX2-NOBODY"])
    assert asked[1:] == [["SX2-NOBODY"]]
    # The next group finds every verified device in the cache: no query.
    asked.clear()
    assert env.ingestor.handle_many([over_mqtt(SERIAL, batch(1))])[0].status == "stored"  # type: ignore[union-attr]
    assert asked == []


def test_two_processes_storing_the_same_sessions_in_opposite_orders_never_deadlock(
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if session_factory.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: no two groups hold rows at once")
    env = _grouped(make_env(session_factory, tmp_path))
    assert _statuses(env, announce(env, "s-1"), announce(env, "s-2")) == ["stored"] * 2
    with session_scope(env.factory) as s:
        # By row id: the order the first UPDATE of a run of batches takes them in.
        low, high = s.scalars(
            select(TelemetrySession.device_session_id).order_by(TelemetrySession.id)
        ).all()
    first, second = (Ingestor(env.factory, env.store, group_files=True) for _ in range(2))
    # Each group stores a batch, then an event, then a batch of the other session; both
    # groups wait for each other at the event, so that each holds its first session's row.
    met = threading.Barrier(2)
    apply = Ingestor._apply

    def meeting(self: Ingestor, *args: Any) -> Any:
        if isinstance(args[2], DeviceEvent):
            with contextlib.suppress(threading.BrokenBarrierError):
                met.wait(timeout=3.0)  # broken once one group waits for the other's rows
        return apply(self, *args)

    monkeypatch.setattr(Ingestor, "_apply", meeting)

    def group(ingestor: Ingestor, one: str, other: str, seq: int) -> list[str]:
        event = DeviceEvent(one, seq, START_S + seq, "note", {})
        messages = (batch(seq, session_id=one), event, batch(seq, session_id=other))
        receipts = ingestor.handle_many([_wire(env, m) for m in messages])
        return [r.status if r is not None else "none" for r in receipts]

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        outcomes = [
            pool.submit(group, first, low, high, 0),
            pool.submit(group, second, high, low, 1),
        ]
        assert [f.result(timeout=60) for f in outcomes] == [["stored"] * 3] * 2
    assert "aborted by the database" not in caplog.text
    assert counts(env)[1] == 4


def test_a_group_s_sessions_are_found_by_their_exact_pairs_only(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    for session_id in ("s-1", "s-2"):
        assert send(env, announce(env, session_id)) == "stored"
    unit = env.world.ids["unit_madrid"]
    with session_scope(session_factory) as session:
        # (unit, "s-2") is stored and made of the keys' parts, but is not one of the keys.
        keys = {(unit, "s-1"), ("another-unit", "s-2")}
        found = session.execute(
            select(TelemetrySession.device_session_id).where(session_keys_in(session, keys))
        ).scalars()
        assert list(found) == ["s-1"]
