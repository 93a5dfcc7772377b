"""Re-analysis of stored sessions on a Dask cluster: after a gait engine update, every summary
made again, by the same functions that made it at ingestion.

The driver (``exoshare reanalyse``) reads from the database what each session needs (its batch
files in order, rate, start, channels, the engine's meta) and submits one task per session to a
Dask ``distributed`` cluster: a :class:`~distributed.LocalCluster` of worker processes by
default, or a running scheduler's address for a real cluster. A task reads the session's batches
from the raw store (any fsspec URL the workers reach, e.g. S3) and analyses them; it touches no
database. The driver keeps each result as it comes: the analysis is deterministic, so running
again gives the same summaries (idempotent), each marked with the engine version that made it. A
session the engine refuses keeps its error (as at ingestion); a session that cannot be read is
reported with its error and keeps its previous summary; neither stops the others.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.db import session_scope
from exoshare.gait.analysis import analyse
from exoshare.gait.errors import GaitDataError
from exoshare.telemetry.models import SessionStatus, TelemetrySession
from exoshare.telemetry.store import RawStore
from exoshare.telemetry.summaries import (
    assemble,
    batch_files,
    keep_summary,
    recording_meta,
    summary_columns,
    summary_data,
)


@dataclass(frozen=True)
class Job:
    """What a worker needs to analyse one stored session (no database access)."""

    telemetry_session_id: str
    store_url: str
    files: list[str]
    sampling_rate_hz: float
    start_time_s: float
    channels: list[str]
    meta: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    telemetry_session_id: str
    status: str
    """``analysed``, ``refused`` (the engine's error, kept on the session) or ``failed``
    (the session could not be read; its previous summary stays)."""
    error: str | None = None


def analyse_job(job: Job) -> dict[str, Any]:
    """A worker's task: the session's summary as it is kept, or the engine's refusal."""
    store = RawStore(job.store_url)
    loaded = [store.read_batch(name) for name in job.files]
    recording = assemble(
        job.sampling_rate_hz, job.start_time_s, job.channels, loaded, dict(job.meta)
    )
    try:
        summary = analyse(recording)
    except GaitDataError as exc:
        return {"refused": str(exc)}
    return {"summary": summary_data(summary), "columns": summary_columns(summary)}


def jobs(
    factory: sessionmaker[Session], store_url: str, session_ids: list[str] | None = None
) -> list[Job]:
    """One job per ended session (or per listed session), oldest first."""
    query = select(TelemetrySession).order_by(TelemetrySession.start_time_s, TelemetrySession.id)
    if session_ids:
        query = query.where(TelemetrySession.id.in_(session_ids))
    else:
        query = query.where(TelemetrySession.status == SessionStatus.ended)
    with session_scope(factory) as session:
        return [
            Job(
                record.id,
                store_url,
                batch_files(session, record.id),
                record.sampling_rate_hz,
                record.start_time_s,
                list(record.channels),
                recording_meta(session, record),
            )
            for record in session.scalars(query)
        ]


def keep(factory: sessionmaker[Session], job: Job, result: dict[str, Any]) -> Outcome:
    """Write one task's result onto its session (the same columns as at ingestion)."""
    with session_scope(factory) as session:
        record = session.get(TelemetrySession, job.telemetry_session_id)
        if record is None:
            return Outcome(job.telemetry_session_id, "failed", "the session no longer exists")
        if "refused" in result:
            record.analysis_error = result["refused"]
            return Outcome(record.id, "refused", result["refused"])
        keep_summary(record, result["summary"], result["columns"])
    return Outcome(job.telemetry_session_id, "analysed")


@contextmanager
def cluster_client(scheduler: str | None, workers: int | None = None) -> Iterator[Any]:
    """A Dask client: of the scheduler at ``scheduler``, or of a local cluster of ``workers``
    processes (one per core by default), closed at the end."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    n = workers or os.cpu_count() or 1
    # Processes, one thread each: the analysis is NumPy and Python, which a thread pool would
    # serialise on the GIL. No dashboard: a command, not a service.
    with (
        LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def reanalyse(
    factory: sessionmaker[Session],
    client: Any,
    work: list[Job],
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run every job on the cluster, keeping each result as it completes; one outcome a job."""
    from distributed import as_completed

    futures = {client.submit(analyse_job, job, pure=False): job for job in work}
    outcomes: list[Outcome] = []
    for future in as_completed(futures):
        job = futures[future]
        try:
            outcome = keep(factory, job, future.result())
        except Exception as exc:  # a task's failure is reported; the others go on
            outcome = Outcome(job.telemetry_session_id, "failed", f"{type(exc).__name__}: {exc}")
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes
