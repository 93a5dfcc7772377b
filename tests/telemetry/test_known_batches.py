"""What the grouped batch path remembers of stored batches between groups, and when it forgets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.db import session_scope
from exoshare.errors import TelemetryRejected
from exoshare.telemetry import known_batches
from exoshare.telemetry.ingest import Inbound, Ingestor
from exoshare.telemetry.known_batches import REFRESH_INLINE
from exoshare.telemetry.known_batches import SeqRanges as _SeqRanges
from exoshare.telemetry.models import TelemetryBatch, TelemetrySession
from exoshare.telemetry.protocol import SampleBatch, decode, encode, parse_message
from exoshare.telemetry.store import GroupWriter
from tests.telemetry.helpers import (
    START_S,
    Env,
    announce,
    batch,
    counts,
    make_env,
    only_session,
    walking,
)


def _grouped(env: Env) -> Ingestor:
    return Ingestor(env.factory, env.store, group_files=True)


def _statuses(env: Env, ingestor: Ingestor, *messages: object) -> list[str]:
    items = []
    for message in messages:
        wire = message.to_wire()  # type: ignore[attr-defined]
        wire["auth"] = env.secret
        items.append(Inbound(encode(wire)))
    out = []
    for receipt in ingestor.handle_many(items):
        assert receipt is not None
        out.append(receipt.status if receipt.code is None else f"{receipt.status}:{receipt.code}")
    return out


def test_sequence_ranges_hold_exactly_the_numbers_added_in_any_order() -> None:
    seqs = _SeqRanges()
    for seq in (0, 1, 2, 7, 5, 6, 3, 2, 10):
        seqs.add(seq)
    assert [s for s in range(12) if s in seqs] == [0, 1, 2, 3, 5, 6, 7, 10]
    assert (seqs.starts, seqs.ends) == ([0, 5, 10], [4, 8, 11])
    seqs.add(4)
    seqs.add(8)
    seqs.add(9)
    assert (seqs.starts, seqs.ends) == ([0], [11])


def test_a_batch_stored_by_another_ingestor_is_seen_by_the_next_group(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    first, other = _grouped(env), _grouped(env)
    assert _statuses(env, first, announce(env), batch(0), batch(1)) == ["stored"] * 3
    assert first.known.reads == 1
    # Steady state: the next group reads no stored batches.
    assert _statuses(env, first, batch(2)) == ["stored"]
    assert first.known.reads == 1
    # Another process stores batch 3, and a batch overlapping batch 2's samples under a new seq.
    late = SampleBatch("s-1", 9, START_S + 2.5, 100, walking(100, 250))
    assert _statuses(env, other, batch(3), late) == ["stored", "rejected:duplicate-timestamps"]
    # The first ingestor's memory is out of date (the session's count moved): it reads what it
    # had not seen, not the whole session again.
    overlapping = SampleBatch("s-1", 8, START_S + 3.5, 100, walking(100, 350))
    assert _statuses(env, first, batch(3), overlapping) == [
        "duplicate",
        "rejected:duplicate-timestamps",
    ]
    assert (first.known.reads, first.known.refreshes) == (1, 1)
    assert _statuses(env, first, batch(4)) == ["stored"]
    assert (first.known.reads, first.known.refreshes) == (1, 1)
    assert counts(env)[:3] == (1, 5, 500)


def test_an_out_of_date_memory_reads_from_its_first_missing_batch_and_misses_nothing(
    session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = make_env(session_factory, tmp_path)
    first, other = _grouped(env), _grouped(env)
    # The first ingestor knows 0-9 and 12-13: batches 10 and 11 are missing.
    messages = [announce(env), *(batch(seq) for seq in (*range(10), 12, 13))]
    assert _statuses(env, first, *messages) == ["stored"] * 13
    # Meanwhile another process stores the missing batch 10, a new batch 14 and batch 2 again.
    assert _statuses(env, other, batch(10), batch(14), batch(2)) == [
        "stored",
        "stored",
        "duplicate",
    ]
    lows: list[list[tuple[str, int]]] = []
    read = known_batches._stored_from

    def spied(session: Session, asked: list[tuple[str, int]]) -> object:
        lows.append(asked)
        return read(session, asked)

    monkeypatch.setattr(known_batches, "_stored_from", spied)
    got = _statuses(env, first, batch(10), batch(14), batch(11), batch(5))
    assert got == ["duplicate", "duplicate", "stored", "duplicate"]
    # One refresh, from batch 10 (the first it had not seen) on; no whole read.
    assert (first.known.reads, first.known.refreshes) == (1, 1)
    assert [[low for _, low in asked] for asked in lows] == [[10]]
    assert counts(env)[:3] == (1, 15, 1500)


@pytest.mark.parametrize("stored_elsewhere", [3, REFRESH_INLINE + 5])
def test_batches_stored_elsewhere_are_checked_alike_however_many_they_are(
    session_factory: sessionmaker[Session], tmp_path: Path, stored_elsewhere: int
) -> None:
    env = make_env(session_factory, tmp_path)
    first, other = _grouped(env), _grouped(env)
    assert _statuses(env, first, announce(env), batch(0), batch(1)) == ["stored"] * 3
    remembered = next(iter(first.known._sessions.values()))
    last = 1 + stored_elsewhere
    assert _statuses(env, other, *(batch(seq) for seq in range(2, last + 1))) == (
        ["stored"] * stored_elsewhere
    )
    # A new seq whose samples overlap the last batch the other process stored.
    overlapping = SampleBatch("s-1", 999, START_S + last + 0.5, 100, walking(100, last * 100 + 50))
    got = _statuses(env, first, batch(2), batch(last), overlapping, batch(last + 1))
    assert got == ["duplicate", "duplicate", "rejected:duplicate-timestamps", "stored"]
    assert _statuses(env, first, batch(last + 2), batch(last)) == ["stored", "duplicate"]
    assert (first.known.reads, first.known.refreshes) == (1, 1)
    assert counts(env)[:3] == (1, last + 3, (last + 3) * 100)
    # A few batches read join the remembered entry; many make a new one.
    kept = next(iter(first.known._sessions.values()))
    assert (kept is remembered) == (stored_elsewhere <= REFRESH_INLINE)


def test_a_batch_committed_between_a_group_s_read_and_its_insert_is_a_duplicate(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    ingestor = _grouped(env)
    assert _statuses(env, ingestor, announce(env), batch(0)) == ["stored"] * 2
    # Another writer's batch 1 lands after this ingestor read the session's count: the count
    # has not moved for it, so only the unique (session, seq) index can catch the repeat.
    session_id = only_session(env).id
    with session_scope(env.factory) as s:
        record = s.get(TelemetrySession, session_id)
        assert record is not None
        s.add(
            TelemetryBatch(
                session_id=session_id,
                device_unit_id=record.device_unit_id,
                seq=1,
                n_samples=100,
                first_sample_time_s=START_S + 1.0,
                last_sample_time_s=START_S + 1.99,
                file="elsewhere.parquet",
            )
        )
    assert _statuses(env, ingestor, batch(1), batch(2), batch(3)) == [
        "duplicate",
        "stored",
        "stored",
    ]
    # The failed insert left nothing behind; the batches after it are stored once, counted once.
    with session_scope(env.factory) as s:
        stored = s.execute(
            select(TelemetryBatch.seq, TelemetryBatch.file).order_by(TelemetryBatch.seq)
        ).all()
        record = s.get(TelemetrySession, session_id)
        assert record is not None
        assert (record.n_batches, record.n_samples) == (3, 300)
    assert [seq for seq, _ in stored] == [0, 1, 2, 3]
    assert stored[1].file == "elsewhere.parquet"


def test_a_group_that_fails_to_commit_leaves_nothing_remembered(
    session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = make_env(session_factory, tmp_path)
    ingestor = _grouped(env)
    assert _statuses(env, ingestor, announce(env), batch(0)) == ["stored"] * 2

    def fail(self: GroupWriter) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(GroupWriter, "flush", fail)
        receipts = ingestor.handle_many(
            [Inbound(encode({**batch(seq).to_wire(), "auth": env.secret})) for seq in (1, 2)]
        )
    assert receipts == [None, None]  # no receipts: the device resends
    # The resent batches are stored, not taken for duplicates of what was rolled back.
    assert _statuses(env, ingestor, batch(1), batch(2)) == ["stored", "stored"]
    assert counts(env)[:3] == (1, 3, 300)


def test_a_new_batch_older_than_what_is_kept_is_checked_in_sql(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    env = make_env(session_factory, tmp_path)
    ingestor = _grouped(env)
    # Batches 0-1 at the start, then batch 120 two minutes later: the first two fall out of
    # what is kept for the overlap check.
    assert _statuses(env, ingestor, announce(env), batch(0), batch(1), batch(120)) == ["stored"] * 4
    assert _statuses(env, ingestor, batch(130)) == ["stored"]
    old_overlap = SampleBatch("s-1", 500, START_S + 0.5, 100, walking(100, 50))
    old_gap = batch(5)
    assert _statuses(env, ingestor, old_overlap, old_gap, batch(1)) == [
        "rejected:duplicate-timestamps",
        "stored",
        "duplicate",
    ]
    assert counts(env)[:3] == (1, 5, 500)


def test_a_binary_batch_decodes_every_channel_bit_exact_and_refuses_a_short_one() -> None:
    values = {name: np.arange(10, dtype=np.float32) / 3 for name in ("a", "b", "c")}
    wire = SampleBatch("s", 0, START_S, 10, values).to_wire()
    parsed = parse_message(decode(encode(wire)))
    assert isinstance(parsed, SampleBatch)
    for name, expected in values.items():
        assert parsed.values[name].dtype == np.float64
        assert np.array_equal(parsed.values[name].astype(np.float32), expected)
    assert parsed.matrix(["c", "a"]).tolist() == [
        parsed.values["c"].tolist(),
        parsed.values["a"].tolist(),
    ]
    wire["values"]["b"] = wire["values"]["b"][:-4]
    with pytest.raises(TelemetryRejected) as caught:
        parse_message(decode(encode(wire)))
    assert caught.value.code == "length-mismatch"
    assert "values.b holds 9 values" in str(caught.value.detail)
