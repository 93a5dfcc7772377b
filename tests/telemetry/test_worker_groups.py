"""The MQTT worker's group commit: a group lingers ``linger_s`` from its first message's arrival,
so messages that arrived while the previous group was being stored go at once, and an idle
worker still gathers a group before storing it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from exoshare.telemetry import mqtt
from exoshare.telemetry.ingest import Inbound
from exoshare.telemetry.mqtt import BrokerAddress, MqttIngestWorker
from exoshare.telemetry.protocol import Receipt

LINGER_S = 0.25


class SlowStorage:
    """Stores nothing; the first group takes ``first_s`` (a busy database)."""

    answers_devices = True

    def __init__(self, first_s: float) -> None:
        self.first_s = first_s
        self.groups: list[list[bytes]] = []

    def submit(self, items: Sequence[Inbound]) -> Callable[[], list[Receipt | None]]:
        if not self.groups:
            time.sleep(self.first_s)
        self.groups.append([item.payload for item in items])
        return lambda: [None] * len(items)

    def known_device(self, obj: dict[str, Any], topic_serial: str) -> str | None:
        return None


def test_messages_that_waited_out_a_slow_group_are_not_held_for_another_linger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_sleep = asyncio.sleep
    lingers: list[float] = []

    async def recorded(delay: float, *args: Any) -> Any:
        lingers.append(delay)
        return await real_sleep(delay, *args)

    storage = SlowStorage(first_s=0.6)
    worker = MqttIngestWorker(storage, BrokerAddress("127.0.0.1", 1), linger_s=LINGER_S)

    async def run() -> None:
        queue: asyncio.Queue[tuple[str, str, str, bytes, Any]] = asyncio.Queue()

        def arrive(payload: bytes) -> None:
            worker._enqueue(queue, ("ORG", "SER", "samples", payload, None))

        monkeypatch.setattr(mqtt.asyncio, "sleep", recorded)
        processing = asyncio.create_task(worker._process(None, queue))  # type: ignore[arg-type]
        try:
            arrive(b"a")
            await real_sleep(0.4)  # group [a] is being stored (0.6 s) when b and c arrive
            arrive(b"b")
            arrive(b"c")
            async with asyncio.timeout(5):
                while len(storage.groups) < 2:
                    await real_sleep(0.01)
            await real_sleep(0.5)  # idle
            arrive(b"d")
            await real_sleep(0.05)
            arrive(b"e")
            async with asyncio.timeout(5):
                while len(storage.groups) < 3:
                    await real_sleep(0.01)
        finally:
            processing.cancel()
            await asyncio.gather(processing, return_exceptions=True)

    asyncio.run(run())
    assert storage.groups == [[b"a"], [b"b", b"c"], [b"d", b"e"]]
    # [a] and [d, e] lingered (up to linger_s from a's and d's arrival); [b, c] had waited
    # longer than linger_s behind the slow group and went at once.
    assert len(lingers) == 2
    assert all(0 < linger <= LINGER_S for linger in lingers)


class HeldStorage:
    """Takes groups at once and answers each only when the test releases it."""

    answers_devices = True

    def __init__(self) -> None:
        self.groups: list[list[bytes]] = []
        self.released: list[threading.Event] = []

    def submit(self, items: Sequence[Inbound]) -> Callable[[], list[Receipt | None]]:
        self.groups.append([item.payload for item in items])
        released = threading.Event()
        self.released.append(released)

        def receipts() -> list[Receipt | None]:
            released.wait(timeout=10)
            return [None] * len(items)

        return receipts

    def known_device(self, obj: dict[str, Any], topic_serial: str) -> str | None:
        return None


def test_the_next_group_is_submitted_while_one_is_stored_and_no_more() -> None:
    """The storage process is never idle while messages wait: the worker submits a group while
    the one before is still being stored, and holds a third until one of them is answered."""
    storage = HeldStorage()
    worker = MqttIngestWorker(storage, BrokerAddress("127.0.0.1", 1), linger_s=0.05)

    async def until(condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(5):
            while not condition():
                await asyncio.sleep(0.01)

    async def run() -> None:
        queue: asyncio.Queue[tuple[str, str, str, bytes, Any]] = asyncio.Queue()

        def arrive(payload: bytes) -> None:
            worker._enqueue(queue, ("ORG", "SER", "samples", payload, None))

        processing = asyncio.create_task(worker._process(None, queue))  # type: ignore[arg-type]
        try:
            arrive(b"a")
            await until(lambda: len(storage.groups) == 1)
            arrive(b"b")
            await until(lambda: len(storage.groups) == 2)  # [a] not answered yet
            arrive(b"c")
            await asyncio.sleep(0.3)
            assert storage.groups == [[b"a"], [b"b"]]  # two in flight: c waits
            storage.released[0].set()
            await until(lambda: len(storage.groups) == 3)
            assert worker.handled == 1
            for released in storage.released:
                released.set()
            await until(lambda: worker.handled == 3)
        finally:
            processing.cancel()
            await asyncio.gather(processing, return_exceptions=True)

    asyncio.run(run())
    assert storage.groups == [[b"a"], [b"b"], [b"c"]]


class FailingOnce(HeldStorage):
    """The first group's answer raises (a bug in storage); the others are answered."""

    def submit(self, items: Sequence[Inbound]) -> Callable[[], list[Receipt | None]]:
        receipts = super().submit(items)
        self.released[-1].set()
        if len(self.groups) > 1:
            return receipts

        def failing() -> list[Receipt | None]:
            raise RuntimeError("storage bug")

        return failing


def test_a_group_whose_storing_failed_is_logged_and_the_next_groups_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    storage = FailingOnce()
    worker = MqttIngestWorker(storage, BrokerAddress("127.0.0.1", 1), linger_s=0.01)

    async def run() -> None:
        queue: asyncio.Queue[tuple[str, str, str, bytes, Any]] = asyncio.Queue()
        processing = asyncio.create_task(worker._process(None, queue))  # type: ignore[arg-type]
        try:
            for submitted, payload in enumerate((b"a", b"b", b"c"), start=1):
                worker._enqueue(queue, ("ORG", "SER", "samples", payload, None))
                async with asyncio.timeout(5):
                    while len(storage.groups) < submitted:
                        await asyncio.sleep(0.01)
            async with asyncio.timeout(5):
                while worker.handled < 2:
                    await asyncio.sleep(0.01)
        finally:
            processing.cancel()
            await asyncio.gather(processing, return_exceptions=True)

    asyncio.run(run())
    assert storage.groups == [[b"a"], [b"b"], [b"c"]]
    assert worker.handled == 2
    assert "storing a group of 1 messages failed" in caplog.text
