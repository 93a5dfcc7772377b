"""Ingestion through the transport-independent Ingestor: round trip, exactly-once, validation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.errors import TelemetryRejected
from exoshare.telemetry import batches, credentials, summaries
from exoshare.telemetry.models import DeviceCredential, SessionStatus
from exoshare.telemetry.protocol import (
    CommandAck,
    DeviceEvent,
    Receipt,
    SampleBatch,
    SettingCommand,
    decode,
    decode_receipts,
    encode,
    encode_json,
    parse_message,
    parse_topic,
    receipt_messages,
    topic,
)
from tests.telemetry.helpers import (
    FS_HZ,
    START_S,
    announce,
    batch,
    counts,
    end,
    event_count,
    make_env,
    only_session,
    send,
    walking,
)


def test_batch_round_trips_through_msgpack_exactly_in_float32() -> None:
    values = {"knee_angle_left_deg": np.array([0.1, 45.25, math.nan, -3.0])}
    wire = encode(SampleBatch("s", 7, START_S, 4, values).to_wire())
    parsed = parse_message(decode(wire))
    assert isinstance(parsed, SampleBatch)
    assert parsed.seq == 7 and parsed.first_sample_time_s == START_S and parsed.n_samples == 4
    got = parsed.values["knee_angle_left_deg"]
    assert got[:2].tolist() == [np.float32(0.1).item(), 45.25]
    assert math.isnan(got[2]) and got[3] == -3.0
    # JSON carries the same batch as number lists, with null for a missing sample.
    as_json = SampleBatch("s", 7, START_S, 4, values).to_wire(binary=False)
    parsed_json = parse_message(decode(encode_json(as_json)))
    assert isinstance(parsed_json, SampleBatch)
    assert parsed_json.values["knee_angle_left_deg"][3] == -3.0
    assert math.isnan(parsed_json.values["knee_angle_left_deg"][2])


def test_a_batch_read_from_messagepack_gives_any_channels_as_one_matrix_a_copy() -> None:
    """A MessagePack batch keeps its channels as one block; ``matrix`` takes the named rows of it
    in the asked order, as the same batch built by hand or read from JSON gives them, and the
    result is a copy: whoever changes it changes no channel."""
    rng = np.random.default_rng(2)
    values = {f"channel_{i}": rng.normal(0.0, 10.0, 10).astype(np.float32) for i in range(9)}
    values["channel_4"][3] = math.nan
    names = ["channel_7", "channel_0", "channel_4", "channel_7"]
    batch_ = SampleBatch("s", 1, START_S, 10, {k: v.astype(float) for k, v in values.items()})
    wired = parse_message(decode(encode(batch_.to_wire())))
    as_json = parse_message(decode(encode_json(batch_.to_wire(binary=False))))
    assert isinstance(wired, SampleBatch) and isinstance(as_json, SampleBatch)
    assert wired.block is not None and as_json.block is None
    expected = np.array([batch_.values[name] for name in names])
    for got in (wired.matrix(names), as_json.matrix(names), batch_.matrix(names)):
        assert got.shape == (4, 10) and got.dtype == np.float64
        np.testing.assert_array_equal(got, expected)
    taken = wired.matrix(names)
    taken[:] = 0.0
    np.testing.assert_array_equal(wired.values["channel_7"], batch_.values["channel_7"])
    assert wired.matrix([]).shape == (0, 10)


def test_command_and_ack_shapes_and_topics() -> None:
    command = SettingCommand("c-1", "assistance_pct", 40.0, "%", START_S, "s-1").to_wire()
    assert SettingCommand.from_wire(decode(encode(command))).value == 40.0
    ack = CommandAck("c-1", "rejected", START_S, "outside device limits", "s-1")
    parsed = parse_message(decode(encode(ack.to_wire())))
    assert isinstance(parsed, CommandAck) and parsed.reason == "outside device limits"
    with pytest.raises(TelemetryRejected, match="needs a reason"):
        CommandAck.from_wire({**ack.to_wire(), "reason": None})
    assert topic("ES-MAD-01", "SX2-0001", "acks") == "exoshare/v1/ES-MAD-01/SX2-0001/acks"
    assert parse_topic("exoshare/v1/ES-MAD-01/SX2-0001/samples") == (
        "ES-MAD-01",
        "SX2-0001",
        "samples",
    )


def test_a_group_answers_each_device_in_one_message_in_stored_order() -> None:
    def stored(seq: int) -> Receipt:
        return Receipt("stored", "samples", "s-1", seq=seq)

    rejected = Receipt("rejected", "samples", "s-1", seq=9, code="malformed", detail="why")
    answers = [
        ("ES-MAD-01", "A", stored(3)),
        ("ES-MAD-01", "B", stored(0)),
        ("ES-MAD-01", "A", Receipt("duplicate", "samples", "s-1", seq=2)),
        ("ES-MAD-01", "B", None),  # not stored for a server-side reason: the device resends
        (None, None, stored(5)),  # came over HTTP: answered there
        ("ES-MAD-01", "A", rejected),
    ]
    messages = dict(receipt_messages(answers))
    assert list(messages) == [
        topic("ES-MAD-01", "A", "receipts"),
        topic("ES-MAD-01", "B", "receipts"),
    ]
    a = decode_receipts(messages[topic("ES-MAD-01", "A", "receipts")])
    assert [(r["status"], r["seq"]) for r in a] == [
        ("stored", 3),
        ("duplicate", 2),
        ("rejected", 9),
    ]
    assert a[2]["code"] == "malformed" and a[2]["detail"] == "why"
    assert [r["seq"] for r in decode_receipts(messages[topic("ES-MAD-01", "B", "receipts")])] == [0]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xc1", "not MessagePack"),
        (encode(Receipt("stored", "samples", "s-1", seq=1).to_wire()), "array of maps"),
        (b"\x92\x01\x02", "array of maps"),
    ],
)
def test_a_receipts_message_that_is_not_an_array_of_maps_is_refused(
    payload: bytes, reason: str
) -> None:
    with pytest.raises(TelemetryRejected, match=reason):
        decode_receipts(payload)


def test_batches_round_trip_through_the_store_in_sequence_order(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    assert send(env, announce(env)) == "stored"
    # Out of order: 2, 0, 1.
    for seq in (2, 0, 1):
        assert send(env, batch(seq)) == "stored"
    assert counts(env) == (1, 3, 300, 3)
    record = only_session(env)
    with session_scope(env.factory) as s:
        recording = summaries.read_recording(s, env.store, record)
    assert recording.n_samples == 300 and recording.sampling_rate_hz == FS_HZ
    assert recording.start_time_s == START_S
    expected = walking(300)["knee_angle_left_deg"].astype(np.float32).astype(np.float64)
    assert np.array_equal(recording.channels["knee_angle_left_deg"], expected)


def test_retried_batches_store_every_sample_once(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    send(env, announce(env))
    assert send(env, announce(env)) == "duplicate"
    statuses = [send(env, batch(seq)) for seq in (0, 1, 0, 1, 1, 2)]
    assert statuses == ["stored", "stored", "duplicate", "duplicate", "duplicate", "stored"]
    assert counts(env) == (1, 3, 300, 3)
    assert only_session(env).n_samples == 300
    assert env.ingestor.counts["duplicate"] == 4


def test_end_before_last_batch_waits_and_then_summarises(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    send(env, announce(env))
    for seq in range(0, 30):
        if seq != 17:
            send(env, batch(seq))
    assert send(env, end(30)) == "stored"
    assert only_session(env).status is SessionStatus.ending
    assert only_session(env).summary is None
    assert send(env, batch(17)) == "stored"
    record = only_session(env)
    assert record.status is SessionStatus.ended and record.n_samples == 3000
    assert record.summary is not None and record.analysis_error is None
    # 1 Hz strides on both legs: 120 steps/min, stride time 1 s, symmetric.
    assert record.cadence_steps_per_min == pytest.approx(120.0, abs=0.5)
    assert record.stride_time_s == pytest.approx(1.0, abs=0.01)
    assert record.step_time_symmetry_index_pct == pytest.approx(0.0, abs=1.0)
    assert record.step_count is not None and 50 <= record.step_count <= 60
    assert record.summary["cadence_steps_per_min"] == pytest.approx(120.0, abs=0.5)
    assert send(env, batch(30)) == "rejected:session-ended"
    assert counts(env) == (1, 30, 3000, 30)


def test_events_are_stored_once(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    env = make_env(session_factory, tmp_path)
    send(env, announce(env))
    fall = DeviceEvent("s-1", 1, START_S + 3.0, "fall", {"impact_g": 3.1})
    assert send(env, fall) == "stored"
    assert send(env, fall) == "duplicate"
    assert send(env, CommandAck("c-9", "applied", START_S + 4, None, "s-1")) == "stored"
    assert send(env, CommandAck("c-9", "applied", START_S + 4, None, "s-1")) == "duplicate"
    assert event_count(env) == 2


def _bad(seq: int, **changes: object) -> SampleBatch:
    good = batch(seq)
    for key, value in changes.items():
        setattr(good, key, value)
    return good


def _with(seq: int, name: str, values: np.ndarray) -> SampleBatch:
    bad = batch(seq)
    bad.values[name] = values
    return bad


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: _with(1, "knee_angle_left_deg", np.full(100, 400.0)), "out-of-range"),
        (lambda: _with(1, "hip_angle_left_deg", np.zeros(100)), "unannounced-channel"),
        (lambda: _with(1, "knee_flex_deg", np.zeros(100)), "unknown-channel"),
        (
            lambda: _with(1, "knee_angle_left_deg", np.where(np.arange(100) < 60, np.nan, 10.0)),
            "nan-burst",
        ),
        (
            lambda: _bad(1, timestamps_s=START_S + 1.0 + np.arange(100) / 50.0),
            "wrong-sampling-rate",
        ),
        (
            lambda: _bad(1, timestamps_s=START_S + 1.0 + np.r_[0, 0, np.arange(2, 100)] / 100),
            "duplicate-timestamps",
        ),
        (
            lambda: _bad(1, timestamps_s=START_S + 1.0 + np.r_[0, 2, 1, np.arange(3, 100)] / 100),
            "non-monotonic-timestamps",
        ),
        # Batch 1 re-sent under a new sequence number: its samples are already stored.
        (lambda: _bad(5, first_sample_time_s=START_S + 0.5), "duplicate-timestamps"),
        (lambda: _bad(1, session_id="never-announced"), "unknown-session"),
    ],
)
def test_each_invalid_batch_is_named_and_changes_nothing(
    session_factory: sessionmaker[Session], tmp_path: Path, make: object, code: str
) -> None:
    env = make_env(session_factory, tmp_path)
    send(env, announce(env))
    send(env, batch(0))
    before = counts(env)
    assert send(env, make()) == f"rejected:{code}"  # type: ignore[operator]
    assert counts(env) == before == (1, 1, 100, 1)


def test_validation_messages_name_channel_and_value(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    send(env, announce(env))
    bad = _with(0, "knee_angle_left_deg", np.r_[np.zeros(10), 400.0, np.zeros(89)])
    with session_scope(env.factory) as s, pytest.raises(TelemetryRejected) as caught:
        unit = credentials.authenticate_device(s, env.secret)
        batches.ingest_batch(s, env.store, unit, bad)
    assert caught.value.code == "out-of-range"
    assert "knee_angle_left_deg sample 10" in caught.value.detail
    assert "400 deg" in caught.value.detail


@pytest.mark.parametrize(
    ("channels", "code"),
    [
        ({"knee_angle_left_deg": "rad"}, "wrong-unit"),
        ({"knee_angle_lft_deg": "deg"}, "unknown-channel"),
    ],
)
def test_announce_with_wrong_unit_or_unknown_channel_is_refused(
    session_factory: sessionmaker[Session], tmp_path: Path, channels: dict[str, str], code: str
) -> None:
    env = make_env(session_factory, tmp_path)
    bad = announce(env)
    bad.channels = channels
    assert send(env, bad) == f"rejected:{code}"
    assert counts(env) == (0, 0, 0, 0)


def test_unknown_and_revoked_credentials_are_refused(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    assert send(env, announce(env)) == "stored"
    wire = batch(0).to_wire()
    wire["auth"] = "exodev_made-up"
    assert env.ingestor.handle(encode(wire)).code == "not-authenticated"
    with session_scope(env.factory) as s:
        credential = s.query(DeviceCredential).one()
        credentials.revoke_device_credential(s, SYSTEM_SEEDING, credential.id)
    assert send(env, batch(0)) == "rejected:not-authenticated"
    assert counts(env) == (1, 0, 0, 0)


def test_credential_of_one_device_cannot_publish_for_another(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    assert send(env, announce(env), topic_serial="LT1-0001") == "rejected:not-authenticated"
    other = announce(env)
    other.device_serial = "LT1-0001"
    assert send(env, other) == "rejected:unknown-device"
    assert counts(env) == (0, 0, 0, 0)


def test_store_never_rewrites_a_file(tmp_path: Path) -> None:
    from exoshare.telemetry.store import RawStore

    store = RawStore(f"file://{tmp_path}/raw")
    times = START_S + np.arange(3) / FS_HZ
    first = store.write_batch("SX2-0001", "abc", 0, times, {"x": np.array([1.0, 2.0, 3.0])})
    again = store.write_batch("SX2-0001", "abc", 0, times, {"x": np.array([1.0, 2.0, 3.0])})
    other = store.write_batch("SX2-0001", "abc", 0, times, {"x": np.array([9.0, 9.0, 9.0])})
    assert first == again != other
    assert store.files() == sorted([first, other])
    assert store.read_batch(first).values["x"].tolist() == [1.0, 2.0, 3.0]
    assert not any(".tmp-" in name for name in store.files())


def test_a_group_the_database_aborts_as_a_deadlock_is_stored_whole_on_the_next_try(
    session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    from exoshare.telemetry.ingest import Inbound, Ingestor

    class Deadlock(Exception):
        sqlstate = "40P01"

    env = make_env(session_factory, tmp_path)
    send(env, announce(env))
    group = []
    for seq in range(3):
        wire = batch(seq).to_wire()
        wire["auth"] = env.secret
        group.append(Inbound(encode(wire)))
    real = Ingestor._group
    tries: list[int] = []

    def aborted_once(self: Ingestor, items: list[Inbound]) -> object:
        tries.append(len(items))
        if len(tries) == 1:
            raise OperationalError("UPDATE telemetry_sessions ...", {}, Deadlock())
        return real(self, items)

    monkeypatch.setattr(Ingestor, "_group", aborted_once)
    receipts = env.ingestor.handle_many(group)
    # Once aborted, then the whole group again: not one transaction per message.
    assert tries == [3, 3]
    assert [r.status for r in receipts if r is not None] == ["stored"] * 3
    assert counts(env) == (1, 3, 300, 3)
