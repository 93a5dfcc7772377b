"""The network side of the device simulator: a virtual exoskeleton that speaks the wire protocol.

A :class:`SimulatedDevice` announces a session, streams sample batches produced by
:class:`~exoshare.demo.gait_simulator.VirtualExoskeleton` at the sampling rate (or ``speed`` times
faster), reports faults as device events, answers setting commands with acks and ends the
session. Everything it sends goes through an outbox and stays there until the server's receipt
says ``stored`` or ``duplicate`` (or, with ``confirm="puback"``, until the broker's QoS 1 PUBACK);
unconfirmed messages are resent when their confirmation is overdue and after every reconnect.
"Overdue" adapts like TCP's retransmission timer (Jacobson/Karels smoothed round trip plus four
deviations, at least ``resend_after_s``, doubled per attempt): a slow server then gets fewer
copies instead of ever more, which would only slow it further. The server
de-duplicates by (device, session, seq), so at-least-once sending stores every sample once.

``exoshare simulate`` runs many such devices concurrently (:func:`simulate_command`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from exoshare.demo.faults import Fault, FaultRates
from exoshare.demo.flaky_link import (
    FlakyConfig,
    FlakyLink,
    LinkDown,
    MqttTransport,
    Transport,
)
from exoshare.demo.gait_profiles import GaitProfile
from exoshare.demo.gait_simulator import DeviceLimits, VirtualExoskeleton
from exoshare.demo.gait_truth import GroundTruth, ground_truth_path_for, write_ground_truth
from exoshare.devices.envelope import SettingLimit
from exoshare.errors import TelemetryRejected
from exoshare.gait.channels import channel
from exoshare.gait.recording import Recording
from exoshare.telemetry.broker_acl import installation_server_password
from exoshare.telemetry.protocol import (
    CommandAck,
    DeviceEvent,
    SampleBatch,
    SessionAnnounce,
    SessionEnd,
    SettingCommand,
    decode,
    decode_receipts,
    encode,
    topic,
)

log = logging.getLogger(__name__)

FAULT_EVENT_KINDS = ("fall", "sensor_dropout", "overheating")
BATTERY_LOW_PCT = 20.0
CONFIRM_MODES = ("receipt", "puback")
BLIND_ATTEMPTS = 3
"""Sends of a message whose receipt cannot be told apart from its siblings' (receipts of events
and acks carry no event or command id yet) before the device stops resending it."""

MAX_RESEND_AFTER_S = 30.0
MAX_BACKOFF = 2
FAST_RESEND_SLACK_S = 0.1
"""How much later a confirmed message must have been sent for an earlier one to count as lost
(covers reordering on the way)."""

Key = tuple[Any, ...]


@dataclass
class _Pending:
    key: Key
    topic: str
    payload: bytes
    attempts: int = 0
    sent_at: float | None = None


@dataclass
class DeviceReport:
    """What one simulated device did: the numbers ``exoshare simulate`` prints and tests check."""

    serial: str
    session_id: str
    n_batches: int = 0
    n_samples: int = 0
    published: int = 0
    """Messages handed to the link, resends included."""
    resends: int = 0
    reconnects: int = 0
    receipts: Counter[str] = field(default_factory=Counter)
    rejected: list[str] = field(default_factory=list)
    """``code: detail`` of every message the server refused for good."""
    acks: list[CommandAck] = field(default_factory=list)
    events_sent: list[DeviceEvent] = field(default_factory=list)
    unconfirmed: int = 0
    """Messages still without a receipt when the device gave up waiting."""
    link: dict[str, int] | None = None
    recording: Recording | None = None
    ground_truth: GroundTruth | None = None

    @property
    def complete(self) -> bool:
        return self.unconfirmed == 0 and not self.rejected


class SimulatedDevice:
    """One virtual exoskeleton on the network (see the module docstring).

    ``start_time_s`` (Unix seconds of the first sample, default now) and ``session_id`` make
    a run reproducible; sample timestamps advance with the simulated clock, so at ``speed=10``
    a minute of samples is sent in six seconds. ``speed=0`` sends as fast as possible.
    """

    def __init__(
        self,
        broker_url: str,
        serial: str,
        org_unit_code: str,
        credential: str,
        patient_id: str,
        profile: GaitProfile,
        seed: int = 0,
        *,
        duration_s: float = 60.0,
        speed: float = 1.0,
        batch_size: int = 10,
        sampling_rate_hz: float = 100.0,
        faults: Iterable[Fault] = (),
        fault_rates: FaultRates | None = None,
        flaky: FlakyConfig | None = None,
        start_time_s: float | None = None,
        session_id: str | None = None,
        confirm: str = "receipt",
        resend_after_s: float = 2.0,
        drain_timeout_s: float = 60.0,
        reconnect_s: float = 0.2,
        window: int = 32,
        keep_recording: bool = True,
        transport: Transport | None = None,
        model_limits: DeviceLimits | None = None,
        initial_settings: dict[str, float] | None = None,
    ) -> None:
        if duration_s <= 0 or batch_size <= 0 or speed < 0:
            raise ValueError("duration_s and batch_size must be positive, speed non-negative")
        if confirm not in CONFIRM_MODES:
            raise ValueError(f"confirm must be one of {', '.join(CONFIRM_MODES)}, got {confirm!r}")
        self.serial = serial
        self.org_unit_code = org_unit_code
        self.credential = credential
        self.patient_id = patient_id
        self.seed = seed
        self.duration_s = duration_s
        self.speed = speed
        self.batch_size = batch_size
        self.confirm = confirm
        self.resend_after_s = resend_after_s
        self.drain_timeout_s = drain_timeout_s
        self.reconnect_s = reconnect_s
        self.window = window
        self._srtt = 0.0
        self._backoff = 1
        self._latest_confirmed_send = 0.0
        self._rttvar = 0.0
        self.keep_recording = keep_recording
        self.exo = VirtualExoskeleton(
            profile, model_limits=model_limits, sampling_rate_hz=sampling_rate_hz, seed=seed,
            faults=faults, fault_rates=fault_rates, initial_settings=initial_settings,
        )  # fmt: skip
        self.fs = self.exo.sampling_rate_hz
        self.start_time_s = time.time() if start_time_s is None else float(start_time_s)
        self.session_id = session_id or f"sim-{int(self.start_time_s * 1000)}-{seed}"
        inner = transport or MqttTransport(
            broker_url, f"exoshare-sim-{serial}", username=serial, password=credential
        )
        self.link: FlakyLink | None = FlakyLink(inner, flaky) if flaky is not None else None
        self.transport: Transport = self.link or inner
        self.report = DeviceReport(serial, self.session_id)

        self._outbox: dict[Key, _Pending] = {}
        self._connected = asyncio.Event()
        self._stopping = False
        self._ever_connected = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._commands: dict[str, CommandAck] = {}
        self._event_id = 0
        self._reported_faults: set[tuple[str, int]] = set()
        self._battery_low_sent = False
        self._parts: list[dict[str, np.ndarray]] = []

    # ------------------------------------------------------------------ topics and outbox

    def _topic(self, kind: str) -> str:
        return topic(self.org_unit_code, self.serial, kind)

    def _queue(self, key: Key, kind: str, wire: dict[str, Any]) -> None:
        # No credential in the payload: the broker authenticated this connection (username =
        # serial, password = credential) and its ACL keeps the device on its own topics.
        entry = _Pending(key, self._topic(kind), encode(wire))
        self._outbox[key] = entry
        self._pump()

    def _pump(self) -> None:
        """Send the oldest unconfirmed messages, at most ``window`` of them in flight.

        The window keeps a device that was offline for a while from flooding a link (and the
        server) with its whole backlog at once; within it, a message goes again when it has
        waited longer than the retransmission timeout for its confirmation.
        """
        if not self._connected.is_set():
            return  # sent on reconnect
        now = time.monotonic()
        # Fast resend (TCP's fast retransmit): the server answers in arrival order, so when a
        # message sent clearly later is already confirmed, an earlier one is lost; resend it
        # without waiting out its timeout.
        lost_before = self._latest_confirmed_send - max(FAST_RESEND_SLACK_S, 2 * self._rttvar)
        timed_out = False
        for entry in list(self._outbox.values())[: self.window]:
            if entry.sent_at is None or entry.sent_at < lost_before:
                self._send(entry)
            elif now - entry.sent_at >= self._timeout():
                timed_out = True
                self._send(entry)
        if timed_out:
            # Karn's rule: keep the backed-off timeout until a first send is confirmed.
            self._backoff = min(self._backoff * 2, MAX_BACKOFF)

    def _timeout(self) -> float:
        base = max(self.resend_after_s, self._srtt + 4 * self._rttvar)
        return min(base * self._backoff, MAX_RESEND_AFTER_S)

    def _sample_rtt(self, entry: _Pending) -> None:
        # Karn's rule: a resent message's receipt may answer any of its copies, so only
        # first sends measure the round trip.
        if entry.sent_at is None:
            return
        self._latest_confirmed_send = max(self._latest_confirmed_send, entry.sent_at)
        if entry.attempts != 1:
            return
        rtt = time.monotonic() - entry.sent_at
        self._backoff = 1
        if self._srtt == 0.0:
            self._srtt, self._rttvar = rtt, rtt / 2
        else:
            self._rttvar = 0.75 * self._rttvar + 0.25 * abs(self._srtt - rtt)
            self._srtt = 0.875 * self._srtt + 0.125 * rtt

    def _send(self, entry: _Pending) -> None:
        entry.attempts += 1
        entry.sent_at = time.monotonic()
        self.report.published += 1
        if entry.attempts > 1:
            self.report.resends += 1
        self._spawn(self._publish(entry))

    async def _publish(self, entry: _Pending) -> None:
        confirmed = await self.transport.publish(entry.topic, entry.payload)
        if confirmed and self.confirm == "puback":
            self._outbox.pop(entry.key, None)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def pending(self) -> int:
        """Messages sent (or waiting to be sent) without a confirmation yet."""
        return len(self._outbox)

    # ------------------------------------------------------------------ the session

    async def run(self) -> DeviceReport:
        """Run the whole session and return what happened once everything is confirmed (or
        ``drain_timeout_s`` passed after the last batch)."""
        connection = asyncio.create_task(self._connection_loop())
        resender = asyncio.create_task(self._resend_loop())
        try:
            announce = SessionAnnounce(
                session_id=self.session_id,
                device_serial=self.serial,
                patient_id=self.patient_id,
                start_time_s=self.start_time_s,
                sampling_rate_hz=self.fs,
                channels={name: channel(name).unit for name in self.exo.channel_names()},
                settings=self.exo.settings,
                meta=self.exo.recording_meta(),
            )
            self._queue(("session",), "session", announce.to_wire())
            await self._stream()
            end = SessionEnd(
                self.session_id,
                self.start_time_s + self.exo.n_samples / self.fs,
                self.report.n_batches,
                self.report.n_samples,
            )
            self._queue(("end",), "session", end.to_wire())
            await self._drain()
        finally:
            self._stopping = True
            for task in (connection, resender):
                task.cancel()
            for task in (connection, resender):
                with contextlib.suppress(asyncio.CancelledError, LinkDown):
                    await task
            if self.link is not None:
                await self.link.drain()
            for task in list(self._tasks):
                task.cancel()
            await self.transport.close()
        self.report.unconfirmed = len(self._outbox)
        if self.link is not None:
            self.report.link = self.link.stats.as_dict()
        truth = self.exo.ground_truth()
        truth.meta.update(
            session_id=self.session_id, device=self.serial, start_time_s=self.start_time_s
        )
        self.report.ground_truth = truth
        if self.keep_recording:
            names = self.exo.channel_names()
            channels = {n: np.concatenate([p[n] for p in self._parts]) for n in names}
            self.report.recording = Recording(
                self.fs, channels, self.start_time_s, self.exo.recording_meta()
            )
        return self.report

    async def _stream(self) -> None:
        total = round(self.duration_s * self.fs)
        wall_start = time.monotonic()
        seq = 0
        while self.exo.n_samples < total:
            n = min(self.batch_size, total - self.exo.n_samples)
            first = self.exo.n_samples
            if self.speed > 0:
                # A batch leaves when its last sample has been measured.
                due = wall_start + (first + n) / self.fs / self.speed
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            else:
                await asyncio.sleep(0)
            values = self.exo.next_batch(n)
            if self.keep_recording:
                self._parts.append(values)
            batch = SampleBatch(
                self.session_id, seq, self.start_time_s + first / self.fs, n, values
            )
            self._queue(("samples", seq), "samples", batch.to_wire())
            self.report.n_batches += 1
            self.report.n_samples += n
            seq += 1
            self._report_events(values)

    def _report_events(self, values: dict[str, np.ndarray]) -> None:
        """Faults the device notices (from the simulator's own labels) and a low battery."""
        now_s = self.exo.time_s
        # Once per simulated second: the labels are recomputed from the whole plan each time.
        if self.report.n_batches % max(1, round(self.fs / self.batch_size)) == 0:
            for interval in self.exo.ground_truth().intervals:
                mark = (interval.kind, interval.start_sample)
                if interval.kind in FAULT_EVENT_KINDS and mark not in self._reported_faults:
                    self._reported_faults.add(mark)
                    detail: dict[str, Any] = dict(interval.detail)
                    if interval.side:
                        detail["side"] = interval.side
                    if interval.channels:
                        detail["channels"] = list(interval.channels)
                    self._event(interval.kind, self.start_time_s + interval.start_s, detail)
        battery = values.get("battery_pct")
        low = battery is not None and len(battery) and float(np.nanmin(battery)) < BATTERY_LOW_PCT
        if low and not self._battery_low_sent:
            self._battery_low_sent = True
            self._event("battery_low", self.start_time_s + now_s, {"battery_pct": BATTERY_LOW_PCT})

    def _event(self, kind: str, time_s: float, detail: dict[str, Any]) -> None:
        event = DeviceEvent(self.session_id, self._event_id, time_s, kind, detail)
        self._event_id += 1
        self.report.events_sent.append(event)
        self._queue(("event", event.event_id), "events", event.to_wire())

    async def _drain(self) -> None:
        deadline = time.monotonic() + self.drain_timeout_s
        while time.monotonic() < deadline:
            if all(self._blind(e) and e.attempts >= BLIND_ATTEMPTS for e in self._outbox.values()):
                for key in [k for k, e in self._outbox.items() if self._blind(e)]:
                    del self._outbox[key]
                return
            await asyncio.sleep(0.02)

    def _blind(self, entry: _Pending) -> bool:
        return entry.key[0] in ("event", "ack") and not self._receipts_name_ids

    _receipts_name_ids = False
    """Set once a receipt carries an ``event_id`` or ``command_id``: then acks and events are
    confirmed one by one like batches."""

    # ------------------------------------------------------------------ connection

    async def _connection_loop(self) -> None:
        delay = self.reconnect_s
        while not self._stopping:
            try:
                await self.transport.connect()
                await self.transport.subscribe(self._topic("commands"))
                await self.transport.subscribe(self._topic("receipts"))
                if self._ever_connected:
                    self.report.reconnects += 1
                self._ever_connected = True
                self._connected.set()
                delay = self.reconnect_s
                # Whatever was in flight on the old connection is presumed lost.
                for entry in self._outbox.values():
                    entry.sent_at = None
                self._pump()
                async for name, payload in self.transport.incoming():
                    self._on_message(name, payload)
            except LinkDown as exc:
                log.debug("%s: link down (%s)", self.serial, exc)
            finally:
                self._connected.clear()
                with contextlib.suppress(Exception):
                    await self.transport.close()
            if self._stopping:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _resend_loop(self) -> None:
        while True:
            await asyncio.sleep(max(0.01, min(self.resend_after_s / 4, 0.25)))
            self._pump()

    def _on_message(self, name: str, payload: bytes) -> None:
        kind = name.rsplit("/", 1)[-1]
        try:
            if kind == "receipts":
                # One message answers everything of this device that one group stored.
                for receipt in decode_receipts(payload):
                    self._on_receipt(receipt)
            elif kind == "commands":
                self._on_command(decode(payload))
        except TelemetryRejected:
            log.warning("%s: undecodable message on %s", self.serial, name)

    def _on_receipt(self, receipt: dict[str, Any]) -> None:
        session_id = receipt.get("session_id")
        if session_id not in (None, self.session_id):
            return  # an answer to an earlier session of this device
        ref = receipt.get("ref")
        key: Key | None = None
        if ref == "samples" and isinstance(receipt.get("seq"), int):
            key = ("samples", receipt["seq"])
        elif ref in ("session", "end"):
            key = (ref,)
        elif ref == "event" and isinstance(receipt.get("event_id"), int):
            self._receipts_name_ids = True
            key = ("event", receipt["event_id"])
        elif ref == "ack" and isinstance(receipt.get("command_id"), str):
            self._receipts_name_ids = True
            key = ("ack", receipt["command_id"])
        status = receipt.get("status")
        self.report.receipts[str(status)] += 1
        if key is None or key not in self._outbox:
            return
        if status in ("stored", "duplicate"):
            self._sample_rtt(self._outbox.pop(key))
            self._pump()
        elif status == "rejected":
            code = receipt.get("code")
            if code == "unknown-session":
                # The batch overtook the announce (or the announce was lost): announce again
                # now, and the batch goes again with the next resend round.
                announce = self._outbox.get(("session",))
                if announce is not None and self._connected.is_set():
                    self._send(announce)
                return
            del self._outbox[key]
            self._pump()
            self.report.rejected.append(f"{key}: {code}: {receipt.get('detail')}")
            log.warning("%s: server rejected %s: %s", self.serial, key, receipt.get("detail"))

    def _on_command(self, message: dict[str, Any]) -> None:
        try:
            command = SettingCommand.from_wire(message)
        except TelemetryRejected as exc:
            log.warning("%s: malformed command ignored: %s", self.serial, exc.detail)
            return
        ack = self._commands.get(command.command_id)
        if ack is None:
            ack = self._decide(command)
            self._commands[command.command_id] = ack
            self.report.acks.append(ack)
        # A redelivered command is answered again, never applied twice.
        self._queue(("ack", command.command_id), "acks", ack.to_wire())

    def _decide(self, command: SettingCommand) -> CommandAck:
        now_s = self.start_time_s + self.exo.time_s
        limit = self.exo.limits.settings.get(command.setting)
        reason: str | None
        if command.session_id not in (None, self.session_id):
            reason = f"command for session {command.session_id}; running {self.session_id}"
        elif limit is not None and command.unit != limit.unit:
            reason = f"{command.setting} is set in {limit.unit}, the command says {command.unit}"
        else:
            _, reason = self.exo.apply_setting(command.setting, command.value)
        status = "applied" if reason is None else "rejected"
        return CommandAck(command.command_id, status, now_s, reason, self.session_id)


# ---------------------------------------------------------------------- many devices, the CLI


@dataclass(frozen=True)
class DevicePlan:
    """Who a simulated device is and whom it is worn by."""

    serial: str
    org_unit_code: str
    credential: str
    patient_id: str
    profile: GaitProfile
    limits: DeviceLimits | None = None


def limits_of_model(model: Any) -> DeviceLimits:
    """The device firmware's limits are its model's registered safety envelope."""
    return DeviceLimits(
        settings={s.setting: SettingLimit.of(s) for s in model.envelope},
        device_type=model.device_type.value,
    )


async def run_devices(
    plans: list[DevicePlan], broker_url: str, seed: int, **options: Any
) -> list[DeviceReport]:
    """Run one :class:`SimulatedDevice` per plan concurrently; device ``i`` uses ``seed + i``."""
    flaky: FlakyConfig | None = options.pop("flaky", None)
    devices = [
        SimulatedDevice(
            broker_url,
            plan.serial,
            plan.org_unit_code,
            plan.credential,
            plan.patient_id,
            plan.profile,
            seed + i,
            flaky=None if flaky is None else _reseeded(flaky, seed + i),
            model_limits=plan.limits,
            **options,
        )
        for i, plan in enumerate(plans)
    ]
    return list(await asyncio.gather(*(device.run() for device in devices)))


def _reseeded(config: FlakyConfig, seed: int) -> FlakyConfig:
    from dataclasses import replace

    return replace(config, seed=seed)


def write_session_files(report: DeviceReport, directory: Path) -> tuple[Path, Path]:
    """The local copy of the recording (Parquet, Unix ``time_s`` and every channel) and its
    ground truth next to it; returns both paths."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if report.recording is None or report.ground_truth is None:
        raise ValueError("the device kept no recording (keep_recording=False)")
    directory.mkdir(parents=True, exist_ok=True)
    rec = report.recording
    path = directory / f"{report.serial}_{report.session_id}.parquet"
    columns = {"time_s": pa.array(rec.start_time_s + rec.time_s)}
    columns.update({name: pa.array(values) for name, values in rec.channels.items()})
    pq.write_table(pa.table(columns), path, compression="zstd")
    truth = write_ground_truth(report.ground_truth, ground_truth_path_for(path))
    return path, truth


_DIAGNOSIS_FOR_PROFILE = {
    "stroke": "stroke",
    "spinal_cord_injury": "spinal_cord_injury",
    "cerebral_palsy": "cerebral_palsy",
    "multiple_sclerosis": "multiple_sclerosis",
}


def plans_from_database(n_devices: int, seed: int, label: str) -> list[DevicePlan]:
    """Pick ``n_devices`` functioning units that have patients at their clinic, one patient each,
    and issue each unit a fresh credential (as the local operator, like ``device-credential``)."""
    from exoshare.auth.scope import SYSTEM_DEMO
    from exoshare.config import get_settings
    from exoshare.db import make_engine, make_sessionmaker, session_scope
    from exoshare.demo.gait_profiles import profile_for
    from exoshare.devices import service as devices_service
    from exoshare.devices.schemas import UnitStatus
    from exoshare.patients import service as patients_service
    from exoshare.telemetry import credentials

    rng = np.random.default_rng(seed)
    factory = make_sessionmaker(make_engine(get_settings().resolved_database_url()))
    plans: list[DevicePlan] = []
    with session_scope(factory) as session:
        units = devices_service.all_units(session, SYSTEM_DEMO, UnitStatus.functioning)
        for unit in units:
            if len(plans) == n_devices:
                break
            model = unit.model
            fitting = patients_service.clinic_patients(
                session,
                SYSTEM_DEMO,
                unit.org_unit_id,
                min_height_m=model.min_patient_height_m,
                max_height_m=model.max_patient_height_m,
                order="id",
                limit=1,
                offset=len(plans),
            )
            if not fitting:
                continue
            patient = fitting[0]
            secret, _ = credentials.issue_device_credential(session, SYSTEM_DEMO, unit.id, label)
            diagnosis = _DIAGNOSIS_FOR_PROFILE.get(patient.diagnosis.value, "healthy")
            profile = profile_for(
                diagnosis,  # type: ignore[arg-type]
                float(rng.uniform(0.2, 0.8)),
                patient.height_m,
                patient.weight_kg,
                rng,
            )
            plans.append(
                DevicePlan(
                    unit.serial_number,
                    unit.org_unit.code,
                    secret,
                    patient.id,
                    profile,
                    limits_of_model(model),
                )
            )
    settings = get_settings()
    if plans and settings.mosquitto_dir is not None:
        # A Mosquitto in production mode knows a device only once its files say so.
        from exoshare.telemetry.mosquitto import MosquittoSync

        MosquittoSync(
            factory,
            settings.mosquitto_dir,
            installation_server_password(settings),
            settings.mosquitto_pid_file,
        ).sync()
    return plans


def simulate_command(
    broker: Annotated[
        str | None,
        typer.Option(
            help="MQTT broker the devices connect to, mqtt://host:port; default: "
            "EXOSHARE_MQTT_URL, else the embedded broker of `exoshare serve` on "
            "EXOSHARE_MQTT_EMBEDDED_PORT (1883)"
        ),
    ] = None,
    devices: Annotated[
        int, typer.Option(min=1, help="Virtual exoskeletons to run at the same time")
    ] = 1,
    duration: Annotated[
        float, typer.Option(min=0.1, help="Length of each session in (simulated) seconds")
    ] = 60.0,
    speed: Annotated[
        float,
        typer.Option(
            min=0.0, help="How much faster than real time to stream; 0: as fast as possible"
        ),
    ] = 1.0,
    flaky: Annotated[
        bool,
        typer.Option(
            help="Flaky-link mode: drop, delay, duplicate and reorder messages and disconnect "
            "at random; the devices buffer and resend until the server has everything"
        ),
    ] = False,
    drop: Annotated[
        float, typer.Option(min=0.0, max=0.95, help="Share of messages dropped with --flaky")
    ] = 1 / 3,
    seed: Annotated[
        int, typer.Option(help="Random seed: same seed, same patients' gait and link faults")
    ] = 0,
    write_truth: Annotated[
        Path | None,
        typer.Option(
            help="Directory to write each session's recording (Parquet) and its ground truth "
            "(every heel strike and toe-off, faults; .truth.json) into"
        ),
    ] = None,
    faults: Annotated[
        bool, typer.Option(help="Inject rare random faults (falls, sensor dropouts, overheating)")
    ] = True,
    credential: Annotated[
        str | None,
        typer.Option(
            help="Device credential to use (one device; needs --serial, --org-unit, --patient). "
            "Without it, devices and patients come from the configured database and each "
            "device is issued a new credential there"
        ),
    ] = None,
    serial: Annotated[
        str | None, typer.Option(help="Serial of the device (with --credential)")
    ] = None,
    org_unit: Annotated[
        str | None, typer.Option(help="Code of the device's org unit (with --credential)")
    ] = None,
    patient: Annotated[str | None, typer.Option(help="Patient id (with --credential)")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Samples per batch (100 Hz)")] = 10,
    confirm: Annotated[
        str,
        typer.Option(
            help="When a device forgets a message: 'receipt' (the server's receipt, lossless) or "
            "'puback' (the broker's QoS 1 acknowledgement, for servers that send no receipts)"
        ),
    ] = "receipt",
    drain_timeout: Annotated[
        float, typer.Option(min=0.0, help="Seconds to wait for outstanding receipts at the end")
    ] = 60.0,
) -> None:
    """Run virtual exoskeletons that stream gait sessions to the server over MQTT."""
    from exoshare.config import get_settings
    from exoshare.demo.gait_profiles import healthy_profile

    console = Console()
    settings = get_settings()
    broker_url = broker or settings.mqtt_url or f"mqtt://127.0.0.1:{settings.mqtt_embedded_port}"
    if confirm not in CONFIRM_MODES:
        raise typer.BadParameter(f"one of {', '.join(CONFIRM_MODES)}", param_hint="--confirm")
    if credential is not None:
        if devices != 1 or not (serial and org_unit and patient):
            raise typer.BadParameter(
                "--credential runs one device and needs --serial, --org-unit and --patient",
                param_hint="--credential",
            )
        plans = [DevicePlan(serial, org_unit, credential, patient, healthy_profile())]
    else:
        plans = plans_from_database(devices, seed, "exoshare simulate")
        if len(plans) < devices:
            console.print(
                f"[yellow]only {len(plans)} functioning device(s) with a fitting patient in the "
                "database[/]"
            )
        if not plans:
            raise typer.Exit(2)
    console.print(
        f"{len(plans)} device(s) → {broker_url}, {duration:g} s each at {speed:g}x"
        + (f", flaky link (drop {drop:.0%})" if flaky else "")
    )
    reports = asyncio.run(
        run_devices(
            plans,
            broker_url,
            seed,
            duration_s=duration,
            speed=speed,
            batch_size=batch_size,
            fault_rates=FaultRates() if faults else None,
            flaky=FlakyConfig(drop=drop) if flaky else None,
            confirm=confirm,
            drain_timeout_s=drain_timeout,
            keep_recording=write_truth is not None,
        )
    )
    table = Table(title="simulated sessions")
    for column in ("device", "session", "samples", "sent", "resends", "dropped", "reconnects"):
        table.add_column(column)
    table.add_column("stored / dup / rejected")
    table.add_column("complete")
    for report in reports:
        link = report.link or {}
        table.add_row(
            report.serial,
            report.session_id,
            str(report.n_samples),
            str(report.published),
            str(report.resends),
            str(link.get("dropped", 0)),
            str(report.reconnects),
            f"{report.receipts['stored']} / {report.receipts['duplicate']} / "
            f"{report.receipts['rejected']}",
            "yes" if report.complete else f"no ({report.unconfirmed} unconfirmed)",
        )
        if write_truth is not None:
            recording, truth = write_session_files(report, write_truth)
            console.print(f"wrote {recording} and {truth}")
    console.print(table)
    if not all(r.complete for r in reports):
        raise typer.Exit(1)
