"""Simulated devices for the live benchmark: MQTT 3.1.1 with every packet built before the run.

Why not paho or aiomqtt here, as everywhere else: the load generator shares the two cores of
the machine with the server it measures. A paho client per device spends ~100 µs of Python on
each QoS 1 publish (packet objects, its own queue, aiomqtt's futures and task wake-ups); 400
devices at 10 batches a second then take half a core from the server. A device of this module
writes a PUBLISH packet whose bytes were built with its payload before the run (as the payload
itself was: encoding is the device's work, on its own hardware) and counts PUBACKs and the
receipts the server sends: one ``transport.write`` per batch. Only what the benchmark needs is
here: CONNECT with a username and password, one SUBSCRIBE, QoS 1 PUBLISH out, QoS 0/1 PUBLISH
in, PUBACK both ways.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from typing import cast

PROTOCOL_LEVEL = 4  # MQTT 3.1.1
KEEPALIVE_S = 600  # a run publishes ten times a second: it never needs a PINGREQ


def _length(n: int) -> bytes:
    """The fixed header's remaining length (a varint of 7-bit groups)."""
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _text(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return struct.pack("!H", len(raw)) + raw


def connect_packet(client_id: str, username: str, password: str) -> bytes:
    flags = 0x80 | 0x40 | 0x02  # username, password, clean session
    body = _text("MQTT") + bytes([PROTOCOL_LEVEL, flags]) + struct.pack("!H", KEEPALIVE_S)
    body += _text(client_id) + _text(username) + _text(password)
    return b"\x10" + _length(len(body)) + body


def subscribe_packet(packet_id: int, topic_filter: str, qos: int) -> bytes:
    body = struct.pack("!H", packet_id) + _text(topic_filter) + bytes([qos])
    return b"\x82" + _length(len(body)) + body


def publish_packet(topic: str, payload: bytes, packet_id: int) -> bytes:
    """A QoS 1 PUBLISH (packet ids 1..65535)."""
    body = _text(topic) + struct.pack("!H", packet_id) + payload
    return b"\x32" + _length(len(body)) + body


class LeanDevice(asyncio.Protocol):
    """One device's connection: sends prepared packets, calls ``on_receipts(payload)`` for
    every message on its subscription, counts PUBACKs."""

    def __init__(self, on_receipts: Callable[[bytes], None]) -> None:
        self.on_receipts = on_receipts
        self.transport: asyncio.Transport | None = None
        self.connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pubacks = 0
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        for future in (self.connected, self.subscribed):
            if not future.done():
                future.set_exception(exc or ConnectionError("broker closed the connection"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        at = 0
        end = len(buffer)
        while at + 2 <= end:
            kind = buffer[at]
            length = multiplier = 0
            i = at + 1
            while True:
                if i >= end:
                    self._buffer = buffer[at:]
                    return
                digit = buffer[i]
                length += (digit & 0x7F) << multiplier
                multiplier += 7
                i += 1
                if not digit & 0x80:
                    break
            if i + length > end:
                break
            self._packet(kind, buffer[i : i + length])
            at = i + length
        self._buffer = buffer[at:]

    def _packet(self, kind: int, body: bytes) -> None:
        packet_type = kind >> 4
        if packet_type == 4:  # PUBACK
            self.pubacks += 1
        elif packet_type == 3:  # PUBLISH: a receipts message
            qos = (kind >> 1) & 0x03
            topic_length = struct.unpack_from("!H", body)[0]
            at = 2 + topic_length
            if qos:
                packet_id = body[at : at + 2]
                at += 2
                assert self.transport is not None
                self.transport.write(b"\x40\x02" + packet_id)
            self.on_receipts(body[at:])
        elif packet_type == 2:  # CONNACK
            if body[1] != 0:
                self.connected.set_exception(ConnectionError(f"CONNACK return code {body[1]}"))
            else:
                self.connected.set_result(None)
        elif packet_type == 9 and not self.subscribed.done():  # SUBACK
            if body[2:3] == b"\x80":
                self.subscribed.set_exception(ConnectionError("subscription refused"))
            else:
                self.subscribed.set_result(None)

    def send(self, packet: bytes) -> None:
        assert self.transport is not None
        self.transport.write(packet)


async def connect(
    host: str,
    port: int,
    client_id: str,
    username: str,
    password: str,
    receipts_topic: str,
    on_receipts: Callable[[bytes], None],
) -> LeanDevice:
    """A connected device subscribed to its receipts (QoS 1)."""
    loop = asyncio.get_running_loop()
    _, device = await loop.create_connection(lambda: LeanDevice(on_receipts), host, port)
    device.send(connect_packet(client_id, username, password))
    await device.connected
    device.send(subscribe_packet(1, receipts_topic, 1))
    await device.subscribed
    return device


def close(device: LeanDevice) -> None:
    if device.transport is not None:
        device.transport.write(b"\xe0\x00")  # DISCONNECT
        device.transport.close()
