"""Device trust at the embedded amqtt broker: who connects, which topics, and cutting revoked
devices off.

amqtt asks its auth plugins once per connection and its topic plugins per subscribe, publish
and delivery. :class:`DeviceTrust` answers both: a device proves itself with its serial as
username and its credential secret as password (checked against the stored SHA-256, in a
thread, once per connection); the server identity with the password derived from the secret
key (:func:`~exoshare.telemetry.broker_acl.server_password`). Anonymous clients, wrong
passwords, revoked and unknown credentials are refused alike. The topic checks are a dict
lookup and a set membership test per message, no SQL.

A revocation committed in this process cuts the device's connection at once (a credential
listener); one committed elsewhere (``exoshare`` CLI, another server process) within
``sweep_s`` seconds (one query over the connected devices' credentials).

Grants are kept per client id *and* per amqtt session object: amqtt copies a reconnecting
client's username onto the existing session before it authenticates, so a rights check by
username alone would let a client that failed to authenticate inherit a name it never proved.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from dataclasses import dataclass, field
from typing import Any

from amqtt.broker import Broker
from amqtt.contexts import Action, BaseContext
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session as MqttSession
from sqlalchemy.orm import Session, sessionmaker

from exoshare.db import session_scope
from exoshare.telemetry import credentials
from exoshare.telemetry.broker_acl import (
    SERVER_USERNAME,
    DeviceGrant,
    device_grant,
    server_may_publish,
    server_may_subscribe,
)

log = logging.getLogger(__name__)

SWEEP_S = 5.0
"""How long a device revoked by another process may stay connected (the credential cache of
ingestion has the same TTL, so both agree on when a revocation elsewhere bites)."""


@dataclass(frozen=True)
class _Client:
    session: MqttSession
    grant: DeviceGrant | None
    """None: the server identity."""
    credential_id: str | None = None


@dataclass
class DeviceTrust:
    """Authentication and topic rights of the embedded broker's clients (see the module)."""

    factory: sessionmaker[Session]
    server_password: str
    sweep_s: float = SWEEP_S
    refused: int = 0
    cut_off: int = 0
    _clients: dict[str, _Client] = field(default_factory=dict)
    _broker: Broker | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    # ---------------------------------------------------------------- connections

    async def authenticate(self, session: MqttSession) -> bool:
        client_id = session.client_id or ""
        client = await self._identify(session)
        if client is None:
            self.refused += 1
            # The refused CONNECT may have been given the session object of a connected
            # client with the same id (amqtt reuses it): that object proves nothing any more.
            known = self._clients.get(client_id)
            if known is not None and known.session is session:
                del self._clients[client_id]
            log.info("MQTT client %r refused (username %r)", client_id, session.username)
            return False
        self._clients[client_id] = client
        return True

    def forget(self, client_id: str, session: MqttSession) -> None:
        """A client disconnected: drop its grant, unless the same session object is connected
        again already (amqtt reuses it for a client that keeps its session)."""
        known = self._clients.get(client_id)
        reconnected = session.transitions.state == "connected"
        if known is not None and known.session is session and not reconnected:
            del self._clients[client_id]

    @property
    def connected(self) -> int:
        """Clients holding a grant now."""
        return len(self._clients)

    async def _identify(self, session: MqttSession) -> _Client | None:
        username, password = session.username, session.password
        if not username or not password:
            return None
        if username == SERVER_USERNAME:
            if hmac.compare_digest(password.encode(), self.server_password.encode()):
                return _Client(session, None)
            return None
        device = await asyncio.to_thread(self._device, username, password)
        if device is None:
            return None
        try:
            grant = device_grant(device.org_unit_code, device.serial)
        except ValueError:
            log.warning("device %r cannot have MQTT topics", device.serial)
            return None
        return _Client(session, grant, device.credential_id)

    def _device(self, serial: str, secret: str) -> credentials.BrokerDevice | None:
        with session_scope(self.factory) as db:
            return credentials.broker_device(db, serial, secret)

    # ---------------------------------------------------------------- topics

    def may(self, session: MqttSession | None, topic: str | None, action: Action | None) -> bool:
        """Whether this connected client may do ``action`` on ``topic`` (a filter for
        subscribe). Called by amqtt for every message: dict and set lookups only."""
        if session is None or not topic:
            return False
        client = self._clients.get(session.client_id or "")
        if client is None or client.session is not session:
            return False
        grant = client.grant
        if grant is None:  # the server
            if action is Action.PUBLISH:
                return server_may_publish(topic)
            return server_may_subscribe(topic)
        if action is Action.PUBLISH:
            return topic in grant.publish
        return topic in grant.subscribe  # subscribe (exact filters only) and receive

    # ---------------------------------------------------------------- revocation

    def attach(self, broker: Broker) -> None:
        """Start cutting revoked devices off from ``broker`` (in its event loop)."""
        self._broker = broker
        self._loop = asyncio.get_running_loop()

    def on_credential_change(self, change: credentials.CredentialChange) -> None:
        """A credential listener: may be called from any thread, after the commit."""
        if change.kind != "revoked" or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._spawn_cut, {change.credential_id})

    def _spawn_cut(self, credential_ids: set[str]) -> None:
        task = asyncio.get_running_loop().create_task(self.cut_off_credentials(credential_ids))
        task.add_done_callback(_log_failure)

    async def cut_off_credentials(self, credential_ids: set[str]) -> int:
        """Disconnect every client that logged in with one of these credentials; how many."""
        victims = [
            client_id
            for client_id, client in self._clients.items()
            if client.credential_id in credential_ids
        ]
        for client_id in victims:
            client = self._clients.pop(client_id)
            log.warning("MQTT client %r cut off: its credential was revoked", client_id)
            self.cut_off += 1
            await self._disconnect(client_id, client.session)
        return len(victims)

    async def _disconnect(self, client_id: str, session: MqttSession) -> None:
        if self._broker is None:
            return
        entry = self._broker.sessions.get(client_id)
        if entry is None or entry[0] is not session:
            return
        # What amqtt itself does to an old connection when a client takes its id over: the
        # connection's loop sees a disconnect, stops the handler and closes the socket.
        await entry[1].handle_connection_closed()

    async def sweep_loop(self) -> None:
        """Every ``sweep_s``: cut off devices whose credential was revoked elsewhere."""
        while True:
            await asyncio.sleep(self.sweep_s)
            ids = {c.credential_id for c in self._clients.values() if c.credential_id}
            if not ids:
                continue
            try:
                revoked = await asyncio.to_thread(self._revoked, ids)
            except Exception:
                log.exception("MQTT credential sweep failed; next try in %g s", self.sweep_s)
                continue
            if revoked:
                await self.cut_off_credentials(revoked)

    def _revoked(self, ids: set[str]) -> set[str]:
        with session_scope(self.factory) as db:
            return credentials.revoked_among(db, ids)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("cutting off a revoked MQTT client failed", exc_info=task.exception())


@contextlib.asynccontextmanager
async def trusting(trust: DeviceTrust, broker: Broker) -> Any:
    """While the broker runs: revocations in this process and elsewhere cut devices off."""
    trust.attach(broker)
    remove = credentials.add_credential_listener(trust.on_credential_change)
    sweeper = asyncio.create_task(trust.sweep_loop(), name="exoshare-mqtt-revocation-sweep")
    try:
        yield trust
    finally:
        remove()
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper


# -------------------------------------------------------------------- amqtt plugins


class DeviceAuthPlugin(BaseAuthPlugin):
    """amqtt auth plugin: every client authenticates through :class:`DeviceTrust`."""

    @dataclass
    class Config:
        trust: Any = None

    def __init__(self, context: BaseContext) -> None:
        super().__init__(context)
        self.trust: DeviceTrust = self.config.trust

    async def authenticate(self, *, session: MqttSession) -> bool | None:
        return await self.trust.authenticate(session)

    async def on_broker_client_disconnected(
        self, *, client_id: str, client_session: MqttSession
    ) -> None:
        self.trust.forget(client_id, client_session)


class DeviceTopicPlugin(BaseTopicPlugin):
    """amqtt topic plugin: subscribe, publish and delivery checked by :class:`DeviceTrust`."""

    @dataclass
    class Config:
        trust: Any = None

    def __init__(self, context: BaseContext) -> None:
        super().__init__(context)
        self.trust: DeviceTrust = self.config.trust

    async def topic_filtering(
        self,
        *,
        session: MqttSession | None = None,
        topic: str | None = None,
        action: Action | None = None,
    ) -> bool | None:
        return self.trust.may(session, topic, action)


class TrustingBroker(Broker):
    """An amqtt broker whose per-message topic checks go straight to :class:`DeviceTrust`.

    The plugins of :func:`plugin_config` are what a stock amqtt broker runs; but its plugin
    manager runs every topic check as a task per plugin and gathers them: 19–34 µs a check
    measured on the 2-core machine (depending on its load), twice per routed message (the
    publish, then each delivery), where :meth:`DeviceTrust.may` itself takes 0.3–0.4 µs. On
    the live path (2,000 messages a second at 200 sessions, in the web process's event loop)
    that is 7–14 % of a core against under 0.2 %. Authentication (once per connection) stays
    with the plugin.
    """

    def __init__(self, config: dict[str, Any], trust: DeviceTrust) -> None:
        super().__init__(config)
        self.trust = trust

    async def _topic_filtering(self, session: MqttSession, topic: str, action: Action) -> bool:
        return self.trust.may(session, topic, action)


def plugin_config(trust: DeviceTrust) -> dict[str, dict[str, Any]]:
    """The ``plugins`` section of an amqtt broker configuration for ``trust``."""
    return {
        f"{__name__}.DeviceAuthPlugin": {"trust": trust},
        f"{__name__}.DeviceTopicPlugin": {"trust": trust},
    }
