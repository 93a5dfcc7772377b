"""Rolling gait analyses run elsewhere (a worker process): the hub shows what it would have shown
analysing them itself, one frame later."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exoshare.demo.gait_profiles import healthy_profile
from exoshare.demo.gait_simulator import VirtualExoskeleton
from exoshare.telemetry.protocol import SampleBatch, decode, encode, parse_message
from exoshare.telerehab.alerts import Alert, AlertRules
from exoshare.telerehab.analyst import RollingAnalyst
from exoshare.telerehab.live import LiveHub, LiveSession, RollingWindow

FS = 100.0
# A limit a healthy gait crosses now and then, so asymmetry alerts start and clear.
RULES = AlertRules(asymmetry_limit_pct=2.0)


def _stream(seconds: float, seed: int = 1) -> list[SampleBatch]:
    exo = VirtualExoskeleton(healthy_profile(), seed=seed)
    signals = exo.next_batch(int(seconds * FS))
    out = []
    for seq in range(int(seconds * 10)):
        values = {name: column[seq * 10 : (seq + 1) * 10] for name, column in signals.items()}
        message = parse_message(
            decode(encode(SampleBatch("s", seq, seq / 10, 10, values).to_wire()))
        )
        assert isinstance(message, SampleBatch)
        out.append(message)
    return out


def _shown(
    hub: LiveHub,
    live: LiveSession,
    stream: list[SampleBatch],
    after_each: Callable[[], list[Alert]] | None = None,
) -> tuple[list[dict[str, Any]], list[Alert]]:
    frames: list[dict[str, Any]] = []
    alerts: list[Alert] = []
    for batch in stream:
        shown = hub.on_batch(live, batch, received_wall_s=batch.seq / 10)
        assert shown is not None
        frames.append(shown[0])
        alerts += shown[1]
        if after_each is not None:
            alerts += after_each()
    return frames, alerts


def test_an_analysis_run_elsewhere_shows_from_the_next_frame_what_the_hub_would_have() -> None:
    stream = _stream(40)
    alone = LiveHub()
    frames, alerts = _shown(alone, alone.follow("t", "r", FS, 0.0, RULES), stream)

    hub = LiveHub()
    waiting: list[tuple[LiveSession, RollingWindow]] = []
    hub.analyst = lambda live, window: waiting.append((live, window))
    live = hub.follow("t", "r", FS, 0.0, RULES)

    def run_waiting() -> list[Alert]:
        # As the worker would, the moment the batch's frame is out.
        out = [a for lv, window in waiting for a in hub.analysed(lv, window, window.analyse())]
        waiting.clear()
        return out

    later, later_alerts = _shown(hub, live, stream, run_waiting)
    assert later_alerts == alerts
    assert any(a.kind == "gait_asymmetry" for a in alerts)  # the check has something to check
    changed = 0
    for k, (frame, late) in enumerate(zip(frames, later, strict=True)):
        assert {**late, "metrics": None} == {**frame, "metrics": None}
        if k and frame["metrics"] != frames[k - 1]["metrics"]:
            changed += 1
            assert late["metrics"] == frames[k - 1]["metrics"]  # one frame later...
            assert later[k + 1]["metrics"] == frame["metrics"]  # ...then the same
    assert changed >= 5
    assert live.steps == alone.session("t").steps > 40  # type: ignore[union-attr]


def test_an_analysis_of_a_session_started_afresh_meanwhile_is_not_taken() -> None:
    hub = LiveHub()
    waiting: list[tuple[LiveSession, RollingWindow]] = []
    hub.analyst = lambda live, window: waiting.append((live, window))
    live = hub.follow("t", "r", FS, 0.0, RULES)
    _shown(hub, live, _stream(12))
    assert waiting
    hub.rest("t")  # the process stopped taking the session's samples
    for old, window in waiting:
        assert hub.analysed(old, window, window.analyse()) == []
    fresh = hub.session("t")
    assert fresh is not None and fresh.steps == 0 and fresh.cadence_steps_per_min is None


def test_a_worker_process_analyses_every_session_as_the_hub_would() -> None:
    streams = {f"t{i}": _stream(16, seed=i + 1) for i in range(3)}
    expected = {}
    for therapy_id, stream in streams.items():
        alone = LiveHub()
        live = alone.follow(therapy_id, therapy_id, FS, 0.0, RULES)
        _shown(alone, live, stream)
        expected[therapy_id] = (live.steps, live.cadence_steps_per_min, live.knee_rom_deg)

    async def run() -> dict[str, Any]:
        hub = LiveHub()
        kept: list[Alert] = []
        analyst = RollingAnalyst(hub, asyncio.get_running_loop(), lambda _, a: kept.extend(a))
        hub.analyst = analyst
        lives = {t: hub.follow(t, t, FS, 0.0, RULES) for t in streams}
        try:
            for k in range(len(next(iter(streams.values())))):
                hub.on_batches([(lives[t], streams[t][k]) for t in streams], k / 10)
                await asyncio.sleep(0)
            deadline = time.monotonic() + 60
            while analyst.waiting and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.05)  # the last outcome's hand-over into this loop
        finally:
            analyst.close()
        assert analyst.done > 0
        return {t: (v.steps, v.cadence_steps_per_min, v.knee_rom_deg) for t, v in lives.items()}

    assert asyncio.run(run()) == expected


@dataclass
class _AroundWorker:
    before: int
    """Analyses done when the worker was acted on."""
    after: int
    steps_before: int
    kept: bool
    """Whether the same workers ran the analyses after, and are alive."""


def _around_worker(act: Callable[[Any], None]) -> _AroundWorker:
    """12 s of gait through a hub with a worker process, ``act`` on each worker process after
    the first 12 s, then 12 s more, every analysis waited for."""
    stream = _stream(24)

    async def run() -> _AroundWorker:
        hub = LiveHub()
        analyst = RollingAnalyst(hub, asyncio.get_running_loop(), lambda *_: None)
        hub.analyst = analyst
        live = hub.follow("t", "t", FS, 0.0, RULES)

        async def feed(batches: list[SampleBatch]) -> None:
            for batch in batches:
                hub.on_batches([(live, batch)], batch.seq / 10)
                await asyncio.sleep(0)
            deadline = time.monotonic() + 60
            while analyst.waiting and time.monotonic() < deadline:
                await asyncio.sleep(0.05)

        def workers() -> list[Any]:
            assert analyst._pool is not None
            return list(analyst._pool._processes.values())  # type: ignore[attr-defined]

        try:
            await feed(stream[:120])
            before, steps, acted = analyst.done, live.steps, workers()
            for process in acted:
                act(process)
            await asyncio.sleep(0.5)
            await feed(stream[120:])
            kept = acted == workers() and all(process.is_alive() for process in acted)
        finally:
            analyst.close()
        return _AroundWorker(before, analyst.done, steps, kept)

    return asyncio.run(run())


def _kill(process: Any) -> None:
    process.kill()
    process.join()


def test_a_worker_that_dies_is_replaced_at_the_next_analysis() -> None:
    outcome = _around_worker(_kill)
    assert outcome.before >= 1 and outcome.steps_before > 0
    assert not outcome.kept
    assert outcome.after > outcome.before  # the analyses after the death ran in a new worker


def test_an_interrupt_of_the_process_group_leaves_the_worker_analysing() -> None:
    """Ctrl-C in a terminal reaches the worker too: it goes on (the web process stops it)."""
    outcome = _around_worker(lambda process: os.kill(process.pid, signal.SIGINT))
    assert outcome.kept
    assert outcome.after > outcome.before
