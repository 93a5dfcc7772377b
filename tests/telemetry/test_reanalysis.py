"""Re-analysis on a Dask LocalCluster of two worker processes: the same summaries, value by
value, as the analysis made at ingestion; idempotent; a failing session reported, others kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from exoshare import __version__
from exoshare.db import session_scope
from exoshare.telemetry import reanalysis
from exoshare.telemetry.models import TelemetryBatch, TelemetrySession
from tests.telemetry.helpers import announce, batch, end, make_env, send

COLUMNS = (
    "duration_s",
    "step_count",
    "cadence_steps_per_min",
    "stride_time_s",
    "step_time_symmetry_index_pct",
    "distance_m",
)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """One cluster for the module (both databases): starting worker processes is the slow part."""
    with reanalysis.cluster_client(None, workers=2) as dask_client:
        yield dask_client


def _kept(factory: sessionmaker[Session]) -> dict[str, tuple[Any, ...]]:
    """Every session's summary, error and key columns, by its device session id."""
    with session_scope(factory) as s:
        return {
            r.device_session_id: (
                r.summary,
                r.analysis_error,
                *(getattr(r, name) for name in COLUMNS),
            )
            for r in s.scalars(select(TelemetrySession))
        }


def test_reanalysis_on_a_cluster_keeps_the_summaries_the_ingestion_made(
    session_factory: sessionmaker[Session], tmp_path: Path, client: Any
) -> None:
    env = make_env(session_factory, tmp_path)
    # Three complete sessions of 1 Hz walking (30, 25 and 20 s).
    for session_id, n_batches in (("walk-30", 30), ("walk-25", 25), ("walk-20", 20)):
        send(env, announce(env, session_id))
        for seq in range(n_batches):
            assert send(env, batch(seq, session_id=session_id)) == "stored"
        assert send(env, end(n_batches, session_id=session_id)) == "stored"
    at_ingestion = _kept(session_factory)
    assert at_ingestion["walk-30"][0]["engine_version"] == __version__
    assert at_ingestion["walk-30"][4] == pytest.approx(120.0, abs=0.5)  # cadence
    # Forget the summaries of two sessions: re-analysis must make them again.
    with session_scope(session_factory) as s:
        s.execute(
            update(TelemetrySession)
            .where(TelemetrySession.device_session_id.in_(["walk-30", "walk-20"]))
            .values(summary=None, **dict.fromkeys(COLUMNS))
        )

    work = reanalysis.jobs(session_factory, env.store.url)
    assert len(work) == 3
    outcomes = reanalysis.reanalyse(session_factory, client, work)
    assert sorted(o.status for o in outcomes) == ["analysed"] * 3
    assert _kept(session_factory) == at_ingestion  # value by value

    # Run again: the same; then a session whose batch file is gone fails alone.
    with session_scope(session_factory) as s:
        lost = s.scalars(
            select(TelemetryBatch.file)
            .join(TelemetrySession)
            .where(TelemetrySession.device_session_id == "walk-25", TelemetryBatch.seq == 3)
        ).one()
    env.store.fs.rm(f"{env.store.root}/{lost}")
    outcomes = reanalysis.reanalyse(
        session_factory, client, reanalysis.jobs(session_factory, env.store.url)
    )
    by_status = {o.status: o for o in outcomes}
    assert sorted(o.status for o in outcomes) == ["analysed", "analysed", "failed"]
    failed = by_status["failed"]
    with session_scope(session_factory) as s:
        assert s.get(TelemetrySession, failed.telemetry_session_id).device_session_id == "walk-25"  # type: ignore[union-attr]
    assert failed.error is not None and "FileNotFoundError" in failed.error
    assert _kept(session_factory) == at_ingestion  # walk-25 keeps its summary
