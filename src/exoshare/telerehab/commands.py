"""The command channel to devices: publish a checked SettingCommand and wait for its CommandAck.

A change is applied only when the device says so. The ack comes back through telemetry
ingestion (MQTT ``.../acks``), which hands it to :meth:`AckWaiters.resolve` in its own thread;
no ack within the timeout is recorded as not applied, and an ack that comes later still
updates the record (the device's settings are the truth).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time

import aiomqtt
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import Principal
from exoshare.db import session_scope
from exoshare.telemetry.mqtt import BrokerAddress
from exoshare.telemetry.protocol import MQTT_QOS, CommandAck, SettingCommand, encode, topic
from exoshare.telerehab import sessions, settings
from exoshare.telerehab.models import SettingChange
from exoshare.telerehab.schemas import ChangeStatus

log = logging.getLogger(__name__)

DEFAULT_ACK_TIMEOUT_S = 10.0


class AckWaiters:
    """Futures of commands awaiting an ack; resolved from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Future[CommandAck]]] = {}

    def register(self, command_id: str) -> asyncio.Future[CommandAck]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[CommandAck] = loop.create_future()
        with self._lock:
            self._waiting[command_id] = (loop, future)
        return future

    def forget(self, command_id: str) -> bool:
        """Stop waiting; False when an ack has already claimed the command."""
        with self._lock:
            return self._waiting.pop(command_id, None) is not None

    def resolve(self, ack: CommandAck) -> bool:
        """Hand an ack to its waiter; False when nobody waits (a late or repeated ack)."""
        with self._lock:
            entry = self._waiting.pop(ack.command_id, None)
        if entry is None:
            return False
        loop, future = entry

        def deliver() -> None:
            if not future.done():
                future.set_result(ack)

        loop.call_soon_threadsafe(deliver)
        return True


class CommandChannelDown(Exception):
    """The broker cannot be reached, so the command was not sent."""


class CommandChannel:
    """An MQTT publisher of commands, connected on first use and reconnected after failures."""

    def __init__(self, broker: BrokerAddress, client_id: str = "exoshare-commands") -> None:
        self.broker = broker
        self.client_id = client_id
        self._client: aiomqtt.Client | None = None
        self._lock = asyncio.Lock()

    async def publish(self, org_unit_code: str, serial: str, command: SettingCommand) -> None:
        name = topic(org_unit_code, serial, "commands")
        payload = encode(command.to_wire())
        async with self._lock:
            for attempt in range(2):
                try:
                    if self._client is None:
                        client = self.broker.client(f"{self.client_id}-{time.monotonic_ns()}")
                        await client.__aenter__()
                        self._client = client
                    await self._client.publish(name, payload, qos=MQTT_QOS)
                    return
                except aiomqtt.MqttError as exc:
                    await self._drop()
                    if attempt:
                        raise CommandChannelDown(f"MQTT broker {self.broker.url}: {exc}") from exc

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.__aexit__(None, None, None)

    async def close(self) -> None:
        async with self._lock:
            await self._drop()


async def change_setting(
    factory: sessionmaker[Session],
    channel: CommandChannel | None,
    waiters: AckWaiters,
    principal: Principal,
    therapy_session_id: str,
    setting: str,
    value: float,
    timeout_s: float = DEFAULT_ACK_TIMEOUT_S,
) -> SettingChange:
    """Check, record, send, wait: the whole remote setting change of one therapist.

    Raises the refusal (after recording it) when a check fails; otherwise returns the change
    as ``applied``, ``rejected`` (with the device's reason) or ``timed_out``.
    """

    def propose() -> tuple[settings.Proposal, str, str, str | None]:
        with session_scope(factory) as session:
            proposal = settings.propose_setting_change(
                session, principal, therapy_session_id, setting, value
            )
            record = sessions.session_for_device(session, therapy_session_id)
            assert record is not None
            device_session = (
                record.telemetry_session.device_session_id if record.telemetry_session else None
            )
            return (
                proposal,
                record.device_unit.org_unit.code,
                record.device_unit.serial_number,
                device_session,
            )

    proposal, org_code, serial, device_session = await asyncio.to_thread(propose)
    if proposal.refusal is not None:
        raise proposal.refusal
    change = proposal.change
    assert change.command_id is not None
    command = SettingCommand(
        command_id=change.command_id,
        setting=change.setting,
        value=change.proposed_value,
        unit=change.unit,
        issued_at_s=time.time(),
        session_id=device_session,
    )
    future = waiters.register(change.command_id)
    outcome: tuple[ChangeStatus, str | None]
    try:
        if channel is None:
            raise CommandChannelDown("this server has no command channel (MQTT is off)")
        await channel.publish(org_code, serial, command)
        ack = await asyncio.wait_for(asyncio.shield(future), timeout_s)
        outcome = (
            (ChangeStatus.applied, None)
            if ack.status == "applied"
            else (ChangeStatus.rejected, ack.reason or "rejected by the device")
        )
    except CommandChannelDown as exc:
        waiters.forget(change.command_id)
        outcome = (ChangeStatus.timed_out, f"not sent: {exc}; not applied")
    except TimeoutError:
        if waiters.forget(change.command_id):
            outcome = (
                ChangeStatus.timed_out,
                f"the device did not confirm within {timeout_s:g} s; not applied",
            )
        else:
            # The ack claimed the waiter just as the time ran out: take its answer.
            ack = await future
            outcome = (
                (ChangeStatus.applied, None)
                if ack.status == "applied"
                else (ChangeStatus.rejected, ack.reason)
            )

    def finish() -> SettingChange:
        with session_scope(factory) as session:
            done = settings.record_command_outcome(session, change.command_id or "", *outcome)
            assert done is not None
            return done

    return await asyncio.to_thread(finish)


def record_late_ack(
    factory: sessionmaker[Session], ack: CommandAck, waited_for_elsewhere: bool = False
) -> SettingChange | None:
    """An ack nobody waits for any more (after a timeout or a server restart).

    ``waited_for_elsewhere``: another server process may be waiting for it (several processes
    behind one live relay): a change still ``sent`` is that process's to record, so only an
    ack after the timeout is recorded here."""
    status = ChangeStatus.applied if ack.status == "applied" else ChangeStatus.rejected
    with session_scope(factory) as session:
        if waited_for_elsewhere:
            change = settings.change_by_command(session, ack.command_id)
            if change is None or change.status is ChangeStatus.sent:
                return None
        return settings.record_command_outcome(
            session, ack.command_id, status, ack.reason, late=True
        )
