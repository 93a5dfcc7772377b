"""The MQTT worker's buffered socket: every packet of a burst arrives whole, in order and at once
(not when the socket next becomes readable), one larger than a chunk included, and a closed
connection is still seen."""

from __future__ import annotations

import asyncio
import socket
import time

import aiomqtt
import pytest
from benchmarks.lean_mqtt import publish_packet

from exoshare.telemetry.buffered_reads import READ_BYTES, BufferedReads, buffer_reads


def test_reads_are_served_from_one_chunk_and_pending_counts_what_is_left() -> None:
    left, right = socket.socketpair()
    with left, right:
        right.setblocking(False)
        reads = BufferedReads(right)
        left.sendall(b"abcdefgh")
        assert reads.recv(1) == b"a"
        assert reads.pending() == 7
        assert reads.recv(3) == b"bcd"
        assert reads.recv(10) == b"efgh"  # no more than the chunk holds
        assert reads.pending() == 0
        with pytest.raises(BlockingIOError):
            reads.recv(1)  # nothing arrived: paho's "try again"
        left.sendall(b"xy")
        assert reads.recv(5) == b"xy"  # a read at least as large as what came: passed through
        assert reads.fileno() == right.fileno()  # everything else is the socket's own
        left.close()
        assert reads.recv(1) == b""  # the peer closed: paho sees the connection lost


async def _fake_broker(packets: list[bytes], closing: list[float]) -> tuple[asyncio.Server, int]:
    """Answers CONNECT and SUBSCRIBE, sends ``packets`` in one write, stays quiet for a while
    and closes (noting when in ``closing``)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def packet() -> tuple[int, bytes]:
            head = (await reader.readexactly(1))[0]
            size, shift = 0, 0
            while True:
                digit = (await reader.readexactly(1))[0]
                size += (digit & 0x7F) << shift
                shift += 7
                if not digit & 0x80:
                    break
            return head, await reader.readexactly(size)

        await packet()  # CONNECT
        writer.write(b"\x20\x02\x00\x00")
        head, body = await packet()
        assert head >> 4 == 8  # SUBSCRIBE
        writer.write(b"\x90\x03" + body[:2] + b"\x00")
        writer.write(b"".join(packets))
        await writer.drain()
        await asyncio.sleep(0.5)  # quiet: nothing makes the socket readable again
        closing.append(time.monotonic())
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_a_burst_arrives_whole_and_in_order_and_a_closed_connection_is_seen() -> None:
    payloads = [f"batch {i}".encode() * (1 + i % 40) for i in range(300)]
    payloads[150] = bytes(range(256)) * (2 * READ_BYTES // 256 + 7)  # spans several chunks
    packets = [
        publish_packet(f"exoshare/v1/ORG/DEV-{i % 7}/samples", p, 1 + i)
        for i, p in enumerate(payloads)
    ]

    closing: list[float] = []
    arrived: list[float] = []

    async def run() -> list[bytes]:
        server, port = await _fake_broker(packets, closing)
        got: list[bytes] = []

        class Collect(asyncio.Queue[aiomqtt.Message]):
            def put_nowait(self, item: aiomqtt.Message) -> None:
                got.append(bytes(item.payload))
                arrived.append(time.monotonic())

        async with server:
            client = buffer_reads(aiomqtt.Client("127.0.0.1", port, queue_type=Collect))
            with pytest.raises(aiomqtt.MqttError):
                async with client:
                    await client.subscribe("exoshare/v1/+/+/+")
                    async for _ in client.messages:  # ends when the broker closes
                        pass
        return got

    got = asyncio.run(run())
    assert len(got) == len(payloads)
    assert got == payloads
    # Read as they came, not left in the chunk until the socket is readable again (the close).
    assert max(arrived) < closing[0]
