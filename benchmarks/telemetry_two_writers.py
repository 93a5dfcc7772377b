"""Two storage processes taking a session's batches in turn: the cost of a group as sessions grow.

With several processes in one shared MQTT subscription, Mosquitto hands a session's batches to
the processes in turn, so every group of every process finds every live session's batch count
moved by the others, and brings what it remembers of those sessions up to date
(``telemetry/known_batches.py``). This runs two ingestors on one database, storing one batch of
each of ``--sessions`` sessions per group, in turn, at several session lengths, twice: as
exoshare does (reading only the batches it had not seen) and reading every session whole, as
it did before (its memory forced out of date before each group). It prints the milliseconds per
group of each and their ratio.

    uv run python benchmarks/telemetry_two_writers.py
    uv run python benchmarks/telemetry_two_writers.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

A session of 45 minutes at 10 batches a second holds 27,000 batches.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: benchmarks.*

from benchmarks.telemetry_ingest import FS_HZ, ORG, START_S, _network

from exoshare.db import make_engine, make_sessionmaker, upgrade
from exoshare.telemetry.ingest import Inbound, Ingestor
from exoshare.telemetry.protocol import SampleBatch, SessionAnnounce, encode
from exoshare.telemetry.store import RawStore

CHANNELS = {"knee_angle_left_deg": "deg", "knee_angle_right_deg": "deg"}


@contextlib.contextmanager
def _database(url: str | None, workdir: Path) -> Iterator[str]:
    if url is None:
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    name = f"exo_two_writers_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _batch(serial: str, seq: int) -> Inbound:
    values = {name: np.full(1, 10.0 + seq % 7) for name in CHANNELS}
    message = SampleBatch("s1", seq, START_S + seq / FS_HZ, 1, values)
    return Inbound(encode(message.to_wire()), topic_serial=serial)


def _announce(ingestor: Ingestor, serials: list[str], patient_id: str) -> None:
    """Each device announces its session "s1" (at START_S, FS_HZ, CHANNELS)."""
    ingestor.handle_many(
        [
            Inbound(
                encode(SessionAnnounce("s1", s, patient_id, START_S, FS_HZ, CHANNELS).to_wire()),
                topic_serial=s,
            )
            for s in serials
        ]
    )


def _forget_counts(ingestor: Ingestor) -> None:
    """What a group found before: every remembered session out of date, so read whole."""
    with ingestor.known.lock:
        for entry in ingestor.known._sessions.values():
            entry.n_batches = -1


def _group(ingestor: Ingestor, serials: list[str], seq: int) -> None:
    receipts = ingestor.handle_many([_batch(serial, seq) for serial in serials])
    assert all(r is not None and r.status == "stored" for r in receipts), receipts


def run(url: str, workdir: Path, n_sessions: int, lengths: list[int], groups: int) -> None:
    upgrade(url)
    factory = make_sessionmaker(make_engine(url))
    devices, patient_id = _network(factory, n_sessions)
    serials = [serial for serial, _ in devices]
    store = RawStore(str(workdir / "telemetry"))
    first, second = (Ingestor(factory, store, group_files=True) for _ in range(2))
    _announce(first, serials, patient_id)
    print(f"{n_sessions} sessions, one batch of each per group, two ingestors in turn ({ORG})")
    print("batches per session | exoshare ms/group | whole read ms/group | ratio")
    seq = 0
    for length in lengths:
        while seq < length:
            # Grow the sessions in large groups, one writer: not measured.
            upto = min(seq + max(1, 4000 // n_sessions), length)
            first.handle_many([_batch(s, k) for k in range(seq, upto) for s in serials])
            seq = upto
        # Each ingestor stores a group first, untimed: one that has not met the sessions yet
        # reads them whole once, in either mode.
        for writer in (first, second):
            _group(writer, serials, seq)
            seq += 1
        timings = {}
        for mode in ("exoshare", "whole"):
            started = time.perf_counter()
            for k in range(groups):
                writer = (first, second)[k % 2]
                if mode == "whole":
                    _forget_counts(writer)
                _group(writer, serials, seq)
                seq += 1
            timings[mode] = 1000 * (time.perf_counter() - started) / groups
        print(
            f"{length:>19,} | {timings['exoshare']:>17.1f} | {timings['whole']:>18.1f} | "
            f"{timings['whole'] / timings['exoshare']:.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL server URL (default: a SQLite file)")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument(
        "--lengths", type=int, nargs="+", default=[100, 3000, 9000, 27000],
        help="batches per session at which groups are timed",
    )  # fmt: skip
    parser.add_argument("--groups", type=int, default=20, help="groups timed per length and mode")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="exo-two-writers-") as tmp:
        workdir = Path(tmp)
        with _database(args.database_url, workdir) as url:
            run(url, workdir, args.sessions, args.lengths, args.groups)


if __name__ == "__main__":
    main()
