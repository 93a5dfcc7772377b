"""Simulated browsers for the live benchmark: a WebSocket client that hands over raw frames.

Why not the ``websockets`` client, as in the tests: the load generator shares the two cores of
the machine with the server it measures. ``websockets`` parses each frame in a generator,
decodes its UTF-8, queues it and wakes the reading task: ~40 µs a frame, which at 400 viewers of
ten frames a second takes a sixth of a core from the server. A viewer here parses the RFC 6455
frame header in ``data_received`` and hands each text payload, as bytes, to a callback (the
benchmark reads two fields from it with a regular expression), answers pings (uvicorn closes a
connection that does not) and nothing more.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Callable
from typing import cast

TEXT, CLOSE, PING = 0x1, 0x8, 0x9


def _masked(opcode: int, payload: bytes) -> bytes:
    """A client frame (clients must mask what they send); control payloads are < 126 bytes."""
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


class LeanViewer(asyncio.Protocol):
    def __init__(self, request: bytes, on_text: Callable[[bytes], None]) -> None:
        self.request = request
        self.on_text = on_text
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        if not self.opened.done():
            head_end = buffer.find(b"\r\n\r\n")
            if head_end < 0:
                self._buffer = buffer
                return
            status = buffer[: buffer.find(b"\r\n")]
            if b" 101 " not in status:
                self.opened.set_exception(ConnectionError(status.decode(errors="replace")))
                assert self.transport is not None
                self.transport.close()
                return
            self.opened.set_result(None)
            buffer = buffer[head_end + 4 :]
        at, end = 0, len(buffer)
        while at + 2 <= end:
            opcode = buffer[at] & 0x0F
            length = buffer[at + 1] & 0x7F
            start = at + 2
            if length == 126:
                if start + 2 > end:
                    break
                length = struct.unpack_from("!H", buffer, start)[0]
                start += 2
            elif length == 127:
                if start + 8 > end:
                    break
                length = struct.unpack_from("!Q", buffer, start)[0]
                start += 8
            if start + length > end:
                break
            payload = buffer[start : start + length]
            at = start + length
            if opcode == TEXT:
                self.on_text(payload)
            elif opcode == PING:
                assert self.transport is not None
                self.transport.write(_masked(0xA, payload))
            elif opcode == CLOSE:
                assert self.transport is not None
                self.transport.close()
        self._buffer = buffer[at:]


async def open_viewer(
    host: str, port: int, path: str, token: str, on_text: Callable[[bytes], None]
) -> LeanViewer:
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    _, viewer = await loop.create_connection(lambda: LeanViewer(request, on_text), host, port)
    await viewer.opened
    return viewer


def close(viewer: LeanViewer) -> None:
    if viewer.transport is not None and not viewer.transport.is_closing():
        viewer.transport.write(_masked(CLOSE, struct.pack("!H", 1000)))
        viewer.transport.close()
