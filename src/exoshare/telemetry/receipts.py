"""Receipts sent by the storage process itself, the moment it has committed a group.

The storage process knows first what became of each message; sending the receipts from there
spares the web process (which also serves every live view) ~2,000 MQTT publishes a second at
200 live sessions, and spares the receipts a trip back through the pipe. A plain paho-mqtt
client is used, not aiomqtt: the storage process has no event loop, and paho's own network
thread does the sending while the next group is being stored.

Receipts go at QoS 0, a device's receipts of one group in one message: a lost one only makes
the device resend, answered ``duplicate`` (docs/protocol.md).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from exoshare.telemetry.mqtt import BrokerAddress
from exoshare.telemetry.protocol import Receipt, receipt_messages

log = logging.getLogger(__name__)

CONNECT_WAIT_S = 5.0


class ReceiptSender:
    """Publishes (org unit code, device serial, receipt) on the device's receipts topic."""

    def __init__(self, broker: BrokerAddress) -> None:
        self._connected = threading.Event()
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"exoshare-receipts-{socket.gethostname()}-{os.getpid()}",
        )
        if broker.username is not None:
            client.username_pw_set(broker.username, broker.password)
        client.on_connect = self._on_connect
        client.reconnect_delay_set(1, 10)
        client.connect_async(broker.host, broker.port)
        client.loop_start()
        self._client = client
        # The first receipts should not be lost to a connection still being set up; if the
        # broker is down, paho keeps retrying and devices resend meanwhile.
        if not self._connected.wait(CONNECT_WAIT_S):
            log.warning("receipts: no connection to %s yet; retrying", broker.url)

    def _on_connect(self, *_: object) -> None:
        self._connected.set()

    def send(self, answers: Iterable[tuple[str | None, str | None, Receipt | None]]) -> int:
        """Publish one receipts message per device of the group; returns how many went out."""
        sent = 0
        for name, payload in receipt_messages(answers):
            info = self._client.publish(name, payload, qos=0)
            sent += info.rc == paho.MQTT_ERR_SUCCESS
        return sent

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
