"""A group's index writes on PostgreSQL: exoshare's COPY and one UPDATE against ``executemany``.

Every ingestion group writes one index row per stored batch (``telemetry_batches``) and adds to
each of its sessions' counts. exoshare sends the rows in one COPY and the counts in one UPDATE
joined to arrays (``telemetry/batches.py``); the peer is SQLAlchemy's ``executemany`` of an
INSERT and of an UPDATE, which the storage process ran before. Both write the same rows into
the same schema, in a transaction rolled back after each round, taking turns. It prints the
median wall time and the storage process's own CPU time per group, and their ratios.

    uv run python benchmarks/telemetry_index_writes.py
    uv run python benchmarks/telemetry_index_writes.py --sessions 300 --batches 2

At 250 live sessions (10 batches a second each) a group of 250 ms holds ~600 batches.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: benchmarks.*

from benchmarks.telemetry_ingest import START_S, _network
from benchmarks.telemetry_two_writers import _announce, _database

from exoshare.db import make_engine, make_sessionmaker, upgrade
from exoshare.telemetry.batches import (
    _add_counts,
    _insert_index_rows,
    add_counts_each,
    insert_index_rows_each,
)
from exoshare.telemetry.ingest import Ingestor
from exoshare.telemetry.models import TelemetrySession
from exoshare.telemetry.store import RawStore

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
Writer = Callable[[Session, list[dict[str, Any]], list[tuple[str, int, int]]], None]


def exoshare_writes(
    session: Session, rows: list[dict[str, Any]], counts: list[tuple[str, int, int]]
) -> None:
    _insert_index_rows(session, rows)
    _add_counts(session, counts)


def executemany_writes(
    session: Session, rows: list[dict[str, Any]], counts: list[tuple[str, int, int]]
) -> None:
    # What SQLite still runs, and PostgreSQL ran before.
    insert_index_rows_each(session, rows)
    add_counts_each(session, counts)


def run(url: str, workdir: Path, n_sessions: int, per_session: int, rounds: int) -> None:
    upgrade(url)
    factory = make_sessionmaker(make_engine(url))
    devices, patient_id = _network(factory, n_sessions)
    ingestor = Ingestor(factory, RawStore(str(workdir / "telemetry")), group_files=True)
    _announce(ingestor, [serial for serial, _ in devices], patient_id)
    with factory() as s:
        found = sorted(s.execute(select(TelemetrySession.id, TelemetrySession.device_unit_id)))
    rows = [
        {
            "session_id": sid,
            "device_unit_id": unit,
            "seq": seq,
            "n_samples": 10,
            "first_sample_time_s": START_S + seq / 10,
            "last_sample_time_s": START_S + seq / 10 + 0.09,
            "file": f"BENCH/{sid}/group-{seq}.parquet",
        }
        for sid, unit in found
        for seq in range(per_session)
    ]
    counts = [(sid, per_session, 10 * per_session) for sid, _ in found]
    writers: dict[str, Writer] = {"exoshare": exoshare_writes, "executemany": executemany_writes}
    wall: dict[str, list[float]] = {name: [] for name in writers}
    cpu: dict[str, list[float]] = {name: [] for name in writers}
    for _ in range(rounds):
        for name, write in writers.items():
            with factory() as session:
                session.execute(select(1))  # the connection and its transaction are open
                started, used = time.perf_counter(), time.process_time()
                write(session, rows, counts)
                session.flush()
                wall[name].append(time.perf_counter() - started)
                cpu[name].append(time.process_time() - used)
                session.rollback()
    print(f"{len(rows)} index rows and {len(counts)} session counts per group, {rounds} rounds")
    medians = {
        name: (statistics.median(wall[name][3:]), statistics.median(cpu[name][3:]))
        for name in writers
    }  # the first rounds warm the caches and the prepared statements up
    print("writes | wall ms/group (median) | own CPU ms/group (median)")
    for name, (spent, used) in medians.items():
        print(f"{name} | {1000 * spent:.1f} | {1000 * used:.1f}")
    (ours_wall, ours_cpu), (peer_wall, peer_cpu) = medians["exoshare"], medians["executemany"]
    print(
        f"executemany / exoshare: wall {peer_wall / ours_wall:.1f}x, "
        f"own CPU {peer_cpu / ours_cpu:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL server URL")
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--batches", type=int, default=2, help="index rows per session per group")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="exo-index-writes-") as tmp:
        workdir = Path(tmp)
        with _database(args.database_url, workdir) as url:
            run(url, workdir, args.sessions, args.batches, args.rounds)


if __name__ == "__main__":
    main()
