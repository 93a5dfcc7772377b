"""The live hub's rolling gait analyses, run in a worker process instead of the event loop.

Every followed session is analysed once per ``analyse_every_s`` (5 s): ~1.5 ms of CPU for its
last 10 s. In the event loop that read MQTT and wrote to every browser, this was 13 % of the
web process at 350 live sessions (py-spy), and every frame of the network waited behind each
analysis. A worker process runs them on the other core; the outcome comes back into the event
loop, where the hub takes it (steps, cadence, symmetry, knee range of motion, the asymmetry
alert) and shows it from the session's next frame on, ~100 ms later than when the analysis
held that frame back.

A worker that dies is started again at the next analysis; the analyses it held are lost, and
their sessions' metrics are updated by their next one, 5 s later.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from exoshare.gait.analysis import RollingSummary
from exoshare.telerehab.alerts import Alert
from exoshare.telerehab.live import LiveHub, LiveSession, RollingWindow

log = logging.getLogger(__name__)

MAX_WAITING = 2000
"""Analyses waiting for the worker, at most (one per session per period: 10,000 sessions'
worth). Beyond it, a session's analysis is skipped for this period: a worker that fell behind
must not gather windows (64 kB each) without bound."""


class RollingAnalyst:
    """A :attr:`LiveHub.analyst`: each window to a worker process, each outcome back to the
    hub in ``loop``; ``on_alerts`` gets the alerts an outcome changed (in the loop)."""

    def __init__(
        self,
        hub: LiveHub,
        loop: asyncio.AbstractEventLoop,
        on_alerts: Callable[[LiveSession, list[Alert]], None],
    ) -> None:
        self.hub = hub
        self.loop = loop
        self.on_alerts = on_alerts
        self.done = 0
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._waiting = 0

    def __call__(self, live: LiveSession, window: RollingWindow) -> None:
        """Called by the hub (event loop, or the ingesting thread) under the session's lock."""
        with self._lock:
            if self._waiting >= MAX_WAITING:
                return
            try:
                future = self._executor().submit(window.analyse)
            except BrokenProcessPool:
                log.warning("the rolling analysis worker died; starting a new one")
                self._shutdown()
                future = self._executor().submit(window.analyse)
            self._waiting += 1
        future.add_done_callback(lambda done: self._back(live, window, done))

    @property
    def waiting(self) -> int:
        """Analyses sent to the worker whose outcome the hub has not taken yet."""
        return self._waiting

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the web process has threads and an event loop a fork would copy.
            self._pool = ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("spawn"),
                # Ctrl-C reaches the whole process group; the web process stops the worker.
                initializer=functools.partial(signal.signal, signal.SIGINT, signal.SIG_IGN),
            )
        return self._pool

    def _back(
        self, live: LiveSession, window: RollingWindow, done: Future[RollingSummary | None]
    ) -> None:
        # In the pool's management thread: the hub takes the outcome in the event loop.
        with contextlib.suppress(RuntimeError):  # the event loop has closed (shutting down)
            self.loop.call_soon_threadsafe(self._take, live, window, done)

    def _take(
        self, live: LiveSession, window: RollingWindow, done: Future[RollingSummary | None]
    ) -> None:
        with self._lock:
            self._waiting -= 1
        if done.cancelled():
            return
        error = done.exception()
        if error is not None:
            log.error(
                "rolling analysis of therapy session %s failed: %r", live.therapy_session_id, error
            )
            return
        self.done += 1
        alerts = self.hub.analysed(live, window, done.result())
        if alerts:
            self.on_alerts(live, alerts)

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        with self._lock:
            self._shutdown()
