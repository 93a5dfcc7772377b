"""Tele-rehabilitation inside the web process: the live hub fed by ingestion, alerts, commands.

:class:`TelerehabRuntime` listens to telemetry ingestion (every accepted message, after commit),
links announced recordings to therapy sessions, feeds the live hub, keeps raised alerts in the
database and hands device acks to waiting setting changes. After a restart it follows the
running sessions again from the database, so the devices' resent batches find their session.

Behind a live relay (several processes, :mod:`exoshare.telerehab.relay`), every process follows
every running session (cheap: who it is, its settings and status), but feeds a session's samples
through its hub only while it needs them: one of its browsers watches the session, or it keeps the
session's alerts (the holder of the session's lease, one process per session). It then hears the
device's batches on the broker (:mod:`exoshare.telerehab.feed`), after the session's history
(what storage kept of its last 30 s), whichever process stores them. What a process decides (a
setting change, a status, an alert kept or acknowledged) reaches the other processes' viewers as a
frame, and database writes that follow from ingestion (alerts, late acks, a session's end) are
made by one process only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import redis
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import Principal
from exoshare.db import session_scope
from exoshare.runtime import runtime_of
from exoshare.telemetry.ingest import Accepted, Ingestor
from exoshare.telemetry.mqtt import BrokerAddress
from exoshare.telemetry.protocol import (
    CommandAck,
    DeviceEvent,
    Message,
    SampleBatch,
    SessionAnnounce,
    SessionEnd,
)
from exoshare.telemetry.runtime import ingestor, telemetry_lifespan
from exoshare.telerehab import alert_log, sessions, settings
from exoshare.telerehab.alerts import Alert
from exoshare.telerehab.analyst import RollingAnalyst
from exoshare.telerehab.commands import (
    DEFAULT_ACK_TIMEOUT_S,
    AckWaiters,
    CommandChannel,
    change_setting,
    record_late_ack,
)
from exoshare.telerehab.feed import DeviceFeed
from exoshare.telerehab.live import LiveConfig, LiveHub, LiveSession
from exoshare.telerehab.models import SessionAlert, SettingChange, TherapySession
from exoshare.telerehab.relay import ALERT_LEASE_MS, LiveRelay
from exoshare.telerehab.schemas import TherapyStatus

log = logging.getLogger(__name__)

TICK_S = 0.5
LEASE_RENEW_S = ALERT_LEASE_MS / 1000 / 5
"""How often a process renews its alert leases (and takes those nobody holds): well within the
lease, so a busy moment does not lose one."""
HOLD_MAX = 3000
"""Batches held per session while its history is read, at most (5 min of a 100 Hz device's):
a bound on memory should Redis not answer for long."""
FILL_WAIT_S = 3.0
"""How long a process that starts showing a session waits, at most, for the session's history to
reach the batches it heard since it subscribed (storage's lag); then it shows what there is."""
FILL_RETRY_S = 0.2
UNKNOWN_RECHECK_S = 5.0
"""How long a recording that belongs to no therapy session is not looked up again."""


def alert_frame(row: SessionAlert) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "severity": row.severity,
        "message": row.message,
        "value": row.value,
        "limit": row.limit,
        "raised_at": row.raised_at.isoformat(),
        "cleared": row.cleared_at is not None,
        "acknowledged": row.acknowledged_at is not None,
        "note": row.note,
    }


def change_frame(change: SettingChange) -> dict[str, Any]:
    return {
        "id": change.id,
        "setting": change.setting,
        "value": change.proposed_value,
        "unit": change.unit,
        "previous": change.previous_value,
        "status": change.status.value,
        "check": change.check_result,
        "reason": change.reason,
        "late": change.late_ack,
    }


class TelerehabRuntime:
    def __init__(
        self,
        factory: sessionmaker[Session],
        broker: BrokerAddress | None = None,
        config: LiveConfig | None = None,
        ack_timeout_s: float = DEFAULT_ACK_TIMEOUT_S,
    ) -> None:
        self.factory = factory
        self.hub = LiveHub(config)
        self.waiters = AckWaiters()
        self.broker = broker
        self.channel: CommandChannel | None = CommandChannel(broker) if broker else None
        self.ack_timeout_s = ack_timeout_s
        self.relay: LiveRelay | None = None
        self.feed: DeviceFeed | None = None
        """Behind a relay: this process's subscriptions to the devices it shows."""
        self._fills: set[asyncio.Task[None]] = set()
        self._keeps: set[str] = set()
        """Sessions whose alerts this process keeps (behind a relay: the leases it holds)."""
        self.hub.on_watched = self._watched
        self._unknown: dict[str, float] = {}
        self._discover_lock = threading.Lock()
        self._filling: dict[str, list[SampleBatch]] = {}
        """Sessions this process began to listen to whose history (the relay's stream) is not
        shown yet: the batches heard meanwhile, held so the hub takes everything in order."""
        self._fill_lock = threading.Lock()
        self._turn: list[tuple[LiveSession, SampleBatch]] = []
        """Batches tapped in this turn of the event loop, shown at its end."""

    def attach(self, source: Ingestor) -> None:
        source.add_group_listener(self.on_group)

    def on_group(self, accepted: list[Accepted], relayed: bool = False) -> None:
        """One committed ingestion group: every frame it makes reaches each event loop at once.

        ``relayed``: another process stored it (and made the writes that follow from it)."""
        with self.hub.batch():
            for done in accepted:
                try:
                    self.on_accepted(done, relayed)
                except Exception:
                    log.exception("live hub failed on %s", type(done.message).__name__)

    def needs_samples(self, therapy_session_id: str) -> bool:
        """Whether this process feeds the session's samples through its hub: always alone;
        behind a relay while a browser here watches it or this process keeps its alerts."""
        return (
            self.relay is None
            or therapy_session_id in self._keeps
            or self.hub.viewers(therapy_session_id) > 0
        )

    def _hear(self, live: LiveSession) -> None:
        """Behind a relay: subscribe to the session's device on the broker exactly while this
        process needs its samples (the batches before come from the session's history); when it
        stops, drop what its hub computed from them."""
        feed = self.feed
        if self.relay is None or feed is None or live.device_serial is None:
            return
        therapy_id = live.therapy_session_id
        serial = live.device_serial
        with self._fill_lock:
            following = feed.following(serial, therapy_id)
            if self.needs_samples(therapy_id):
                if following:
                    return
                # Held from before the subscription, so no batch slips in ahead of the history.
                self._filling[therapy_id] = []
                if not feed.follow(serial, therapy_id, ready=lambda: self._fill_soon(live)):
                    self._filling.pop(therapy_id, None)
                return
            if not following:
                return
            feed.unfollow(serial, therapy_id)
            self._filling.pop(therapy_id, None)
        self.hub.rest(therapy_id)

    def _fill_soon(self, live: LiveSession) -> None:
        """In the event loop, once the broker confirmed the subscription to the device."""
        task = asyncio.get_running_loop().create_task(self._fill(live))
        self._fills.add(task)
        task.add_done_callback(self._fills.discard)

    async def _fill(self, live: LiveSession) -> None:
        """Show the session's history, then what was held meanwhile (:meth:`on_backfill`).

        Storage appends a batch to the history once it is stored, a group (~250 ms) after the
        broker handed it to this process or not: the history is read again until it reaches
        the first batch heard since the subscription, for ``FILL_WAIT_S`` at most."""
        relay, key = self.relay, live.device_key
        if relay is None or key is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FILL_WAIT_S
        history: list[SampleBatch] = []
        while True:
            try:
                history = await asyncio.to_thread(relay.recent, key)
            except redis.RedisError as exc:
                log.warning("live relay: the history of %s could not be read (%s)", key, exc)
                break
            if self._reaches_held(live.therapy_session_id, history) or loop.time() >= deadline:
                break
            await asyncio.sleep(FILL_RETRY_S)
        await asyncio.to_thread(self.on_backfill, key, history)

    def _reaches_held(self, therapy_session_id: str, history: list[SampleBatch]) -> bool:
        """Whether ``history`` and the batches held since the subscription leave no batch out:
        every sequence number from the history's first to the first held one."""
        with self._fill_lock:
            held = self._filling.get(therapy_session_id)
            if held is None:
                return True  # no longer needed, or shown already
            if not held:
                return False  # nothing heard yet: where the history must reach is unknown
            first_heard = min(batch.seq for batch in held)
        known = {batch.seq for batch in history}
        start = min(known, default=first_heard)
        return all(seq in known for seq in range(start, first_heard))

    def _watched(self, therapy_session_id: str, watched: bool) -> None:
        live = self.hub.session(therapy_session_id)
        if live is not None:
            self._hear(live)

    def claim_alerts(self) -> None:
        """Renew this process's alert leases, take those nobody holds, and listen accordingly."""
        if self.relay is None:
            return
        followed = self.hub.sessions()
        ids = [live.therapy_session_id for live in followed]
        self._keeps = self.relay.claim(ids, {i for i in ids if self.hub.viewers(i) > 0})
        for live in followed:
            self._hear(live)

    def _forget(self, therapy_session_id: str) -> None:
        live = self.hub.session(therapy_session_id)
        if self.feed is not None and live is not None and live.device_serial is not None:
            self.feed.unfollow(live.device_serial, therapy_session_id)
        self._keeps.discard(therapy_session_id)
        self.hub.forget(therapy_session_id)

    def _held(self, live: LiveSession, batch: SampleBatch) -> bool:
        """Whether the batch waits for the session's history (kept to be shown after it)."""
        if not self._filling:
            return False
        with self._fill_lock:
            held = self._filling.get(live.therapy_session_id)
            if held is None:
                return False
            held.append(batch)
            if len(held) > HOLD_MAX:
                del held[0]  # Redis away for minutes: older than any history shown anyway
            return True

    def on_backfill(self, key: tuple[str, str], history: list[SampleBatch]) -> None:
        """The session's recent batches from its history (in a thread), now that this process
        hears the device: through the hub in sample order with what was held meanwhile,
        so its viewers get the last ``history_s`` as a process that followed the session would
        show them. Alerts of the history are not kept again: the process that held the
        session's lease then kept them (the monitor's state still follows them)."""
        live = self.hub.for_device(*key)
        if live is None:
            return
        therapy_id = live.therapy_session_id
        old = history
        while True:
            with self._fill_lock:
                held = self._filling.get(therapy_id, [])
                if (not held and not old) or not self.needs_samples(therapy_id):
                    # Nothing more held: from here on the hub takes batches as they come.
                    self._filling.pop(therapy_id, None)
                    return
                if therapy_id in self._filling:
                    self._filling[therapy_id] = []
            live_alerts: list[Alert] = []
            held_seqs = {batch.seq for batch in held}
            with self.hub.batch():
                for batch in sorted([*old, *held], key=lambda b: (b.first_sample_time_s, b.seq)):
                    shown = self.hub.on_batch(live, batch)
                    if shown is None:
                        continue
                    frame, alerts = shown
                    self.hub.publish(therapy_id, frame)
                    if batch.seq in held_seqs:
                        live_alerts += alerts
            if live_alerts:
                self._keep_alerts(live, live_alerts)
            old = []

    def on_relayed_group(self, accepted: list[Accepted]) -> None:
        self.on_group(accepted, relayed=True)

    def on_relayed_frame(self, therapy_session_id: str, frame: dict[str, Any]) -> None:
        """What another process decided for the viewers: this hub follows it, then shows it."""
        kind = frame.get("type")
        live = self.hub.session(therapy_session_id)
        if kind == "setting" and live is not None:
            change = frame["change"]
            if change.get("status") == "applied":
                with live.lock:
                    live.settings[change["setting"]] = change["value"]
        elif kind == "status":
            status = frame.get("status")
            if live is not None:
                live.status = str(status)
                if status in (TherapyStatus.completed.value, TherapyStatus.aborted.value):
                    self._forget(therapy_session_id)
            elif status in {active.value for active in sessions.ACTIVE}:
                with session_scope(self.factory) as session:
                    record = sessions.session_for_device(session, therapy_session_id)
                    if record is not None:
                        self._follow(record)
        self.hub.publish(therapy_session_id, frame)

    def _tell(self, therapy_session_id: str, frame: dict[str, Any]) -> None:
        """A frame of this process's making: to its viewers and to every other process's."""
        self.hub.publish(therapy_session_id, frame)
        if self.relay is not None:
            self.relay.frame(therapy_session_id, frame)

    # ------------------------------------------------------------------ ingestion side

    def on_accepted(self, accepted: Accepted, relayed: bool = False) -> None:
        message = accepted.message
        telemetry_id = accepted.telemetry_session_id
        if isinstance(message, SampleBatch) and telemetry_id:
            if accepted.status != "stored":
                self.hub.on_duplicate(telemetry_id)
                return
            live = self.hub.for_telemetry(telemetry_id) or self._discover(telemetry_id)
            if live is None or not self.needs_samples(live.therapy_session_id):
                return
            if self._held(live, message):
                return
            # Usually the live tap has shown this batch already; this shows what it could
            # not (a session found only now, a credential not cached yet).
            shown = self.hub.on_batch(live, message)
            if shown is not None:
                frame, alerts = shown
                self.hub.publish(live.therapy_session_id, frame)
                if alerts:
                    self._keep_alerts(live, alerts)
        elif isinstance(message, SessionAnnounce) and telemetry_id:
            self._discover(telemetry_id, force=True)
        elif isinstance(message, CommandAck) and accepted.status == "stored":
            # A device answers only for commands sent to it: another device's answer (a
            # guessed or replayed command id) settles nothing.
            with session_scope(self.factory) as session:
                own = settings.command_sent_to(session, message.command_id, accepted.device_unit_id)
            if not own:
                return
            if not self.waiters.resolve(message) and not relayed:
                change = record_late_ack(
                    self.factory, message, waited_for_elsewhere=self.relay is not None
                )
                if change is not None:
                    self._announce_change(change)
        elif isinstance(message, DeviceEvent | SessionEnd) and telemetry_id:
            if isinstance(message, SessionEnd) and accepted.status == "stored" and not relayed:
                with session_scope(self.factory) as session:
                    sessions.complete_from_device(session, telemetry_id)
            live = self.hub.for_telemetry(telemetry_id)
            if live is not None and accepted.status == "stored":
                kind = message.kind if isinstance(message, DeviceEvent) else "session_end"
                self.hub.publish(live.therapy_session_id, {"type": "event", "kind": kind})

    def tap(self, device_unit_id: str, message: Message, payload: bytes | None = None) -> None:
        """A sample batch as it arrives (MQTT worker, event loop): shown before it is stored.

        Only devices whose credential ingestion verified lately (the worker checks) and
        sessions the hub already follows are shown here; everything else is shown after storage by
        :meth:`on_accepted`. Nothing here touches the database: alerts are kept in a thread.
        """
        if not isinstance(message, SampleBatch):
            return
        live = self.hub.for_device(device_unit_id, message.session_id)
        if live is None or not self.needs_samples(live.therapy_session_id):
            return
        if self._held(live, message):
            return
        # The hub takes the taps of one turn of the event loop together (the MQTT worker taps
        # a whole read of the broker's socket in one turn), at the turn's end.
        if not self._turn:
            asyncio.get_running_loop().call_soon(self._end_turn)
        self._turn.append((live, message))

    def _end_turn(self) -> None:
        turn, self._turn = self._turn, []
        try:
            shown_all = self.hub.on_batches(turn)
        except Exception:
            log.exception("live hub failed on a turn of %d tapped batches", len(turn))
            return
        for (live, _), shown in zip(turn, shown_all, strict=True):
            if shown is None:
                continue
            frame, alerts = shown
            self.hub.publish(live.therapy_session_id, frame)
            if alerts:
                self.keep_alerts_soon(live, alerts)

    def keep_alerts_soon(self, live: LiveSession, alerts: list[Alert]) -> None:
        """From the event loop: the alerts kept in a thread (database), the loop going on."""
        asyncio.get_running_loop().run_in_executor(None, self._keep_alerts, live, alerts)

    def _discover(self, telemetry_id: str, force: bool = False) -> LiveSession | None:
        now = time.monotonic()
        checked = self._unknown.get(telemetry_id)
        if not force and checked is not None and now - checked < UNKNOWN_RECHECK_S:
            return None
        with self._discover_lock:
            live = self.hub.for_telemetry(telemetry_id)
            if live is not None:
                return live
            with session_scope(self.factory) as session:
                record = sessions.attach_telemetry(session, telemetry_id)
                live = self._follow(record) if record is not None else None
            if live is None:
                self._unknown[telemetry_id] = now
            else:
                self._unknown.pop(telemetry_id, None)
                self.hub.publish(live.therapy_session_id, {"type": "status", "status": live.status})
            return live

    def _follow(self, record: TherapySession) -> LiveSession | None:
        recording = record.telemetry_session
        if recording is None:
            return None
        live = self.hub.follow(
            record.id,
            recording.id,
            recording.sampling_rate_hz,
            recording.start_time_s,
            alert_log.rules_for(record, recording.meta),
            record.current_settings,
            record.status.value,
            meta={
                k: v for k, v in (recording.meta or {}).items() if isinstance(v, str | int | float)
            },
            device_key=(recording.device_unit_id, recording.device_session_id),
            device_serial=record.device_unit.serial_number,
        )
        if self.relay is not None:
            # At once, not at the next renewal: alerts of the session's first seconds count.
            therapy_id = live.therapy_session_id
            watched = {therapy_id} if self.hub.viewers(therapy_id) else set()
            self._keeps |= self.relay.claim([therapy_id], watched)
            self._hear(live)
        return live

    def restore(self) -> int:
        """Follow every running session again (after a restart); returns how many."""
        with session_scope(self.factory) as session:
            followed = [self._follow(r) for r in sessions.active_sessions(session)]
        return sum(1 for live in followed if live is not None)

    def _keep_alerts(self, live: LiveSession, alerts: list[Alert]) -> None:
        if self.relay is not None and live.therapy_session_id not in self._keeps:
            return  # another process keeps them, and tells this one's viewers
        with session_scope(self.factory) as session:
            rows = [
                (alert, alert_log.record_alert(session, live.therapy_session_id, alert))
                for alert in alerts
            ]
            frames = [
                {"type": "alert", "alert": alert_frame(row)} for _, row in rows if row is not None
            ]
        for frame in frames:
            self._tell(live.therapy_session_id, frame)

    async def lease_loop(self) -> None:
        while True:
            await asyncio.sleep(LEASE_RENEW_S)
            await asyncio.to_thread(self.claim_alerts)

    async def tick_loop(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            changed = self.hub.tick()
            for live, alert in changed:
                if not self.needs_samples(live.therapy_session_id):
                    continue  # what this hub knows of the session is not current
                await asyncio.to_thread(self._keep_alerts, live, [alert])

    # ------------------------------------------------------------------ therapist side

    async def change_setting(
        self, principal: Principal, therapy_session_id: str, setting: str, value: float
    ) -> SettingChange:
        change = await change_setting(
            self.factory,
            self.channel,
            self.waiters,
            principal,
            therapy_session_id,
            setting,
            value,
            self.ack_timeout_s,
        )
        self._announce_change(change)
        return change

    def _announce_change(self, change: SettingChange) -> None:
        live = self.hub.session(change.therapy_session_id)
        if live is not None and change.status.value == "applied":
            with live.lock:
                live.settings[change.setting] = change.proposed_value
        self._tell(change.therapy_session_id, {"type": "setting", "change": change_frame(change)})

    def status_changed(self, record: TherapySession) -> None:
        live = self.hub.session(record.id)
        self._tell(record.id, {"type": "status", "status": record.status.value})
        if live is not None:
            live.status = record.status.value
            if record.status in (TherapyStatus.completed, TherapyStatus.aborted):
                self._forget(record.id)
        elif record.status in (TherapyStatus.live, TherapyStatus.paused, TherapyStatus.started):
            self._follow(record)

    def alert_acknowledged(self, row: SessionAlert) -> None:
        self._tell(row.therapy_session_id, {"type": "alert", "alert": alert_frame(row)})

    async def close(self) -> None:
        for task in list(self._fills):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.channel is not None:
            await self.channel.close()


def telerehab_runtime(app: FastAPI) -> TelerehabRuntime:
    """The app's runtime, created on first use and attached to telemetry ingestion."""
    parts = runtime_of(app)
    if parts.telerehab is None:
        parts.telerehab = TelerehabRuntime(parts.sessionmaker, parts.telemetry.broker)
        parts.telerehab.attach(ingestor(app))
    return parts.telerehab


@contextlib.asynccontextmanager
async def telerehab_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Telemetry's lifespan (broker and ingest worker) plus the live hub and its alert clock."""
    async with telemetry_lifespan(app):
        runtime = telerehab_runtime(app)
        telemetry = runtime_of(app).telemetry
        worker = telemetry.worker
        settings_ = runtime_of(app).settings
        analyst: RollingAnalyst | None = None
        tasks: list[asyncio.Task[None]] = []
        if worker is not None and telemetry.broker is not None and settings_.live_relay_url:
            # Several processes: each hears on the broker the devices of the sessions it shows
            # (telerehab/feed.py), whichever process stores their messages.
            feed = DeviceFeed(telemetry.broker, runtime.tap, worker.ingestor.known_device)
            runtime.feed = feed
            tasks.append(asyncio.create_task(feed.run(), name="exoshare-live-feed"))
        elif worker is not None:
            worker.add_tap(runtime.tap)
        if worker is not None:
            # The tap feeds the hub in the event loop: its rolling analyses go to a worker
            # process (telerehab/analyst.py). Without MQTT the hub is fed from ingesting
            # threads, and analyses there hold no event loop back.
            analyst = RollingAnalyst(
                runtime.hub, asyncio.get_running_loop(), runtime.keep_alerts_soon
            )
            runtime.hub.analyst = analyst
        if runtime.channel is None and telemetry.broker is not None:
            runtime.broker = telemetry.broker
            runtime.channel = CommandChannel(telemetry.broker)
        try:
            await asyncio.to_thread(runtime.restore)
        except Exception:
            # A database without the telerehab tables yet must not stop the web server.
            log.exception("could not follow running therapy sessions")
        tasks += [
            asyncio.create_task(runtime.tick_loop(), name="exoshare-telerehab-tick"),
            # The live feeds' sign-ins, checked for every open socket at once.
            asyncio.create_task(
                runtime_of(app).live_sockets.watch(runtime.factory), name="exoshare-live-sockets"
            ),
        ]
        if settings_.live_relay_url:
            relay = LiveRelay(settings_.live_relay_url, settings_.live_relay_channel)
            runtime.relay = relay
            # The sessions restored above: their leases and devices, before any sample.
            await asyncio.to_thread(runtime.claim_alerts)
            tasks.append(asyncio.create_task(runtime.lease_loop(), name="exoshare-alert-leases"))
            ingestor(app).add_group_listener(relay.group)
            tasks.append(
                asyncio.create_task(
                    relay.listen(runtime.on_relayed_group, runtime.on_relayed_frame),
                    name="exoshare-live-relay",
                )
            )
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await runtime.close()
            if analyst is not None:
                runtime.hub.analyst = None
                analyst.close()
            if runtime.relay is not None:
                runtime.relay.close()
