"""The MQTT worker's socket, read in large chunks instead of paho's three reads per packet.

paho reads a packet with a ``recv`` for its command byte, one per byte of its length and one for
the rest, and aiomqtt calls paho's ``loop_read`` (one packet) each time the event loop sees the
socket readable: at 200 live sessions that is 2,000 event-loop wake-ups and 6,000 system calls a
second, ~70 µs of the web process's time per device message. :class:`BufferedReads` hands paho
its socket reading up to ``READ_BYTES`` at once and serving paho's small reads from that chunk;
its ``pending()`` (the call paho and aiomqtt make on TLS sockets, whose decrypted bytes the event
loop cannot see either) tells aiomqtt's reader to go on reading packets until the chunk is used
up, so a wake-up takes every packet that has arrived.

paho and aiomqtt have no option for this; :func:`buffer_reads` installs it through paho's
socket-open callback, the one moment paho hands out the socket it is about to read.
"""

from __future__ import annotations

from typing import Any

import aiomqtt

READ_BYTES = 256 * 1024
"""Up to ~130 sample batches of a 27-channel device: what arrives between two event-loop turns
of a busy server."""


class BufferedReads:
    """A non-blocking socket whose ``recv`` is served from chunks of ``READ_BYTES``.

    Everything but ``recv`` and ``pending`` is the socket's own (``fileno``, ``send``,
    ``close``...). A chunk is kept as bytes and an offset: serving a read copies only what it
    returns, where deleting from a bytearray would move the rest of the chunk each time."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._chunk = b""
        self._offset = 0

    def recv(self, size: int) -> bytes:
        if self._offset >= len(self._chunk):
            # Raises BlockingIOError when nothing has arrived (paho's "try again"); b"" is the
            # peer closing, passed on as such.
            chunk = self._sock.recv(READ_BYTES)
            if len(chunk) <= size:
                return bytes(chunk)
            self._chunk, self._offset = chunk, 0
        start = self._offset
        self._offset = min(start + size, len(self._chunk))
        return self._chunk[start : self._offset]

    def pending(self) -> int:
        """Bytes read from the socket that paho has not taken yet (and, under TLS, the
        decrypted bytes the socket itself holds)."""
        inner = getattr(self._sock, "pending", None)
        return len(self._chunk) - self._offset + (inner() if inner is not None else 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def buffer_reads(client: aiomqtt.Client) -> aiomqtt.Client:
    """Make ``client`` read its socket through :class:`BufferedReads` (from its next connect)."""
    paho = client._client  # aiomqtt offers no hook of its own for the socket paho reads
    opened = paho.on_socket_open

    def wrapped(paho_client: Any, userdata: Any, sock: Any) -> None:
        buffered = BufferedReads(sock)
        paho_client._sock = buffered  # what paho reads from, sends on and closes from now on
        if opened is not None:
            opened(paho_client, userdata, buffered)

    paho.on_socket_open = wrapped
    return client
