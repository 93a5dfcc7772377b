"""MQTT groups stored by the child process: same receipts, listeners told, a dead child replaced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.config import Settings
from exoshare.db import session_scope
from exoshare.telemetry import credentials
from exoshare.telemetry.history import SessionHistory, history_stream
from exoshare.telemetry.ingest import Accepted, CredentialCache, Inbound, Ingestor, serial_key
from exoshare.telemetry.ingest_process import IngestProcess
from exoshare.telemetry.models import DeviceCredential
from exoshare.telemetry.protocol import Receipt, decode, encode, parse_message
from exoshare.telemetry.store import RawStore
from tests.telemetry.helpers import ORG, SERIAL, Env, announce, batch, counts, make_env


def _inbound(env: Env, message: object, *, tapped: bool = False) -> Inbound:
    # As the MQTT worker hands it over: no secret in the payload, the device named by the
    # topic the broker let it publish on (and, for sample batches, decoded by the live tap).
    payload = encode(message.to_wire())  # type: ignore[attr-defined]
    obj = decode(payload)
    return Inbound(
        payload,
        topic_serial=SERIAL,
        decoded=(obj, parse_message(obj)) if tapped else None,
        topic_org=ORG,
    )


def _statuses(receipts: list) -> list[str]:  # type: ignore[type-arg]
    return [r.status if r.code is None else f"{r.status}:{r.code}" for r in receipts]


def _awaited(wait: Callable[[], list[Receipt | None]], outcome: list[object]) -> None:
    """A group's answer as statuses, or the exception waiting for it raised."""
    try:
        outcome.append([None if r is None else r.status for r in wait()])
    except BaseException as exc:
        outcome.append(exc)


def _env(session_factory: sessionmaker[Session], database_url: str, tmp_path: Path) -> tuple[
    Env, IngestProcess, list[Accepted]
]:  # fmt: skip
    env = make_env(session_factory, tmp_path)
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data")
    env.store = RawStore(settings.resolved_telemetry_url())
    local = Ingestor(session_factory, env.store)
    heard: list[Accepted] = []
    local.add_group_listener(heard.extend)
    return env, IngestProcess(settings, local), heard


def test_the_child_stores_answers_and_the_web_process_listeners_hear_it(
    session_factory: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    env, storage, heard = _env(session_factory, database_url, tmp_path)
    bad = batch(3)
    bad.values = dict(bad.values)
    bad.values["knee_angle_left_deg"] = np.full(100, 400.0)
    try:
        first = storage.handle_many([_inbound(env, announce(env))])
        assert _statuses(first) == ["stored"]
        receipts = storage.handle_many(
            [_inbound(env, batch(seq), tapped=True) for seq in (0, 1, 2, 1)]
            + [_inbound(env, bad, tapped=True)]
        )
        assert _statuses(receipts) == [
            "stored",
            "stored",
            "stored",
            "duplicate",
            "rejected:out-of-range",
        ]
        assert counts(env)[1:3] == (3, 300)
        # Listeners get what was accepted, with the message the worker decoded and the
        # recording it went to; the rejected batch is not among them.
        assert [a.status for a in heard] == ["stored", "stored", "stored", "stored", "duplicate"]
        assert len({a.telemetry_session_id for a in heard}) == 1
        assert heard[1].message.seq == 0  # type: ignore[attr-defined]
        # The device the child verified is known to the live tap without SQL.
        wire = batch(4).to_wire()
        assert storage.known_device(wire, SERIAL) == heard[0].device_unit_id
        assert storage.known_device(wire, "LT1-0001") is None
    finally:
        storage.close()


def test_a_credential_revoked_in_the_web_process_is_refused_by_the_child_at_once(
    session_factory: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    env, storage, _ = _env(session_factory, database_url, tmp_path)
    try:
        assert _statuses(storage.handle_many([_inbound(env, announce(env))])) == ["stored"]
        assert _statuses(storage.handle_many([_inbound(env, batch(0))])) == ["stored"]
        # The child has the credential in its cache (5 s) now; revoke it here, as the API does.
        with session_scope(env.factory) as s:
            credential = s.query(DeviceCredential).one()
            credentials.revoke_device_credential(s, SYSTEM_SEEDING, credential.id)
        assert _statuses(storage.handle_many([_inbound(env, batch(1))])) == [
            "rejected:not-authenticated"
        ]
        assert counts(env)[1:3] == (1, 100)
    finally:
        storage.close()


def test_a_dead_child_is_replaced_and_nothing_is_stored_twice(
    session_factory: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    env, storage, _ = _env(session_factory, database_url, tmp_path)
    try:
        storage.handle_many([_inbound(env, announce(env)), _inbound(env, batch(0))])
        process = storage._process
        assert process is not None
        process.kill()
        process.join(timeout=10)
        # The next group starts a new child; a resend of what the dead one stored is a duplicate.
        receipts = storage.handle_many([_inbound(env, batch(0)), _inbound(env, batch(1))])
        assert _statuses(receipts) == ["duplicate", "stored"]
        assert storage._process is not process
        assert counts(env)[1:3] == (2, 200)
    finally:
        storage.close()


def test_groups_sent_before_the_last_was_answered_are_stored_and_told_in_order(
    session_factory: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    """The MQTT worker sends the next group while the child stores one: each group gets its
    own receipts, whichever thread waits first, and the listeners hear them in order."""
    env, storage, heard = _env(session_factory, database_url, tmp_path)
    try:
        waits = [
            storage.submit([_inbound(env, announce(env))]),
            storage.submit([_inbound(env, batch(0)), _inbound(env, batch(1))]),
            storage.submit([_inbound(env, batch(2)), _inbound(env, batch(0))]),
        ]
        answers: dict[int, list[object]] = {k: [] for k in range(3)}
        # The last group's waiter starts first; it must wait for the others' turn.
        threads = [threading.Thread(target=_awaited, args=(waits[k], answers[k])) for k in (2, 1)]
        for thread in threads:
            thread.start()
        _awaited(waits[0], answers[0])
        for thread in threads:
            thread.join(timeout=30)
        assert answers == {
            0: [["stored"]],
            1: [["stored", "stored"]],
            2: [["stored", "duplicate"]],
        }
        assert [a.status for a in heard] == ["stored", "stored", "stored", "stored", "duplicate"]
        assert [getattr(a.message, "seq", None) for a in heard] == [None, 0, 1, 2, 0]
        assert counts(env)[1:3] == (3, 300)
    finally:
        storage.close()


def test_a_child_that_dies_with_two_groups_in_flight_leaves_no_waiter_hanging(
    session_factory: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    """Both waiters return (a receipt if the child answered before it died, else None: the
    devices resend), the next group starts a new child, and nothing is stored twice."""
    env, storage, _ = _env(session_factory, database_url, tmp_path)
    try:
        storage.handle_many([_inbound(env, announce(env)), _inbound(env, batch(0))])
        process = storage._process
        assert process is not None
        waits = [storage.submit([_inbound(env, batch(seq))]) for seq in (1, 2)]
        process.kill()
        answered: list[object] = []
        waiter = threading.Thread(target=lambda: [_awaited(wait, answered) for wait in waits])
        waiter.start()
        waiter.join(timeout=30)
        assert not waiter.is_alive(), "a waiter hangs on the dead child"
        assert all(statuses in (["stored"], [None]) for statuses in answered)
        receipts = storage.handle_many([_inbound(env, batch(seq)) for seq in (1, 2, 3)])
        resent = _statuses(receipts)
        assert resent[2] == "stored"
        for first, again in zip(answered, resent[:2], strict=True):
            assert again in (["duplicate"] if first == ["stored"] else ["stored", "duplicate"])
        assert storage._process is not process
        assert counts(env)[1:3] == (4, 400)
    finally:
        storage.close()


def test_closing_while_a_group_is_awaited_ends_the_wait_quietly(
    session_factory: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    """The server stopping (Ctrl-C) closes the storage process while the MQTT worker's thread
    waits for a group's answer: the wait ends with the answer or with no receipts, never with an
    error from inside the pipe."""
    env, storage, _ = _env(session_factory, database_url, tmp_path)
    storage.handle_many([_inbound(env, announce(env))])
    for seq in range(3):
        outcome: list[object] = []
        waiter = threading.Thread(
            target=_awaited, args=(storage.submit([_inbound(env, batch(seq))]), outcome)
        )
        waiter.start()
        storage.close()
        waiter.join(timeout=30)
        assert outcome in ([["stored"]], [[None]]), outcome
    assert counts(env)[1] <= 3


def test_an_interrupt_of_the_process_group_leaves_the_child_storing(
    session_factory: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    """Ctrl-C in a terminal reaches the storage process too: it goes on (the web process stops
    it), with no traceback and nothing lost."""
    env, storage, _ = _env(session_factory, database_url, tmp_path)
    try:
        storage.handle_many([_inbound(env, announce(env)), _inbound(env, batch(0))])
        process = storage._process
        assert process is not None and process.pid is not None
        os.kill(process.pid, signal.SIGINT)
        time.sleep(0.5)
        assert process.is_alive()
        receipts = storage.handle_many([_inbound(env, batch(1))])
        assert _statuses(receipts) == ["stored"]
        assert storage._process is process
    finally:
        storage.close()


def test_the_live_tap_keeps_knowing_a_device_while_storage_lags_and_not_once_revoked(
    session_factory: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    """The tap shows a device's batches as they arrive only while its credential was verified
    within the TTL. Storage verifies it with every group, but a lagging storage must not take
    the live view down with it: ``reverify`` checks every known device again in one query. A
    credential revoked elsewhere (another process, the CLI; no epoch change here) is not kept."""
    env, storage, _ = _env(session_factory, database_url, tmp_path)
    now = [1000.0]
    storage.credentials = CredentialCache(5.0, clock=lambda: now[0])
    with session_scope(env.factory) as s:
        unit_id = s.query(DeviceCredential).one().device_unit_id
    wire = batch(0).to_wire()
    storage.credentials.put(serial_key(SERIAL), (unit_id, SERIAL), credentials.revocation_epoch())
    assert storage.known_device(wire, SERIAL) == unit_id
    now[0] += 6.0  # storage has stored no group of this device for longer than the TTL
    assert storage.known_device(wire, SERIAL) is None  # the tap asks...
    assert storage.reverify() == 1  # ...and the next check verifies the device again
    assert storage.known_device(wire, SERIAL) == unit_id
    assert storage.reverify() == 1  # still sending: still checked
    assert storage.reverify() == 0  # no batch since the last check: nothing to check
    with session_scope(env.factory) as s:
        s.execute(
            update(DeviceCredential)
            .where(DeviceCredential.device_unit_id == unit_id)
            .values(revoked_at=datetime.now(UTC))
        )
    storage.known_device(wire, SERIAL)
    assert storage.reverify() == 0  # revoked: not kept
    now[0] += 6.0
    assert storage.known_device(wire, SERIAL) is None
    storage.close()


def test_behind_a_relay_the_child_keeps_each_session_s_history_and_tells_only_resends(
    session_factory: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    """With several processes, the stored batches reach the processes showing their sessions
    from the broker and their history stream (kept here, by storage), so the web process's
    listeners hear of the rest only: the announce and a resend, never a stored batch."""
    from tests.scale.servers import REDIS_URL, require_services

    require_services()
    env = make_env(session_factory, tmp_path)
    channel = f"exoshare-test-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        live_relay_url=REDIS_URL,
        live_relay_channel=channel,
    )
    env.store = RawStore(settings.resolved_telemetry_url())
    local = Ingestor(session_factory, env.store)
    heard: list[Accepted] = []
    local.add_group_listener(heard.extend)
    storage = IngestProcess(settings, local)
    history = SessionHistory(REDIS_URL, channel)
    try:
        assert _statuses(storage.handle_many([_inbound(env, announce(env))])) == ["stored"]
        with_secret = [
            Inbound(encode({**batch(seq).to_wire(), "auth": env.secret}), topic_serial=SERIAL)
            for seq in (0, 1, 2, 1)
        ]
        assert _statuses(storage.handle_many(with_secret)) == [
            "stored",
            "stored",
            "stored",
            "duplicate",
        ]
        assert [(a.status, type(a.message).__name__) for a in heard] == [
            ("stored", "SessionAnnounce"),
            ("duplicate", "SampleBatch"),
        ]
        unit_id, session_id = heard[0].device_unit_id, heard[0].message.session_id
        # Appended once the web process has its answer.
        deadline = time.monotonic() + 10
        while len(kept := history.read((unit_id, session_id))) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [b.seq for b in kept] == [0, 1, 2]
        knee = "knee_angle_left_deg"
        sent = batch(2).values[knee].astype(np.float32)  # as the wire carries samples
        assert np.array_equal(kept[2].values[knee], sent)
        stream = history_stream(channel, (unit_id, session_id))
        for _, fields in history._client.xrange(stream):
            assert "auth" not in decode(fields[b"m"])  # the device's secret stays out of Redis
        # The live tap still knows the device the child verified.
        assert storage.known_device({}, SERIAL) == unit_id
    finally:
        storage.close()
        history.close()


def test_the_storage_process_starts_without_the_gait_engine() -> None:
    """The storage process imports this module to start; SciPy (seconds to load) waits for the
    first session it finishes, so a replaced storage process answers devices sooner."""
    probe = (
        "import sys, exoshare.telemetry.ingest_process; "
        "print(sorted(m for m in ('scipy', 'exoshare.gait.analysis') if m in sys.modules))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == "[]"
