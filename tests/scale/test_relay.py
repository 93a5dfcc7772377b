"""The live relay on a real Redis and the live feed on the local Mosquitto: a session's samples
reach a process from the broker only while it follows the device, its history from what storage
kept, everything else reaches every process, and one process per session keeps its alerts."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator

import aiomqtt
import numpy as np
import pytest
from sqlalchemy.orm import sessionmaker

from exoshare.telemetry.history import SessionHistory, history_stream, plain_wire
from exoshare.telemetry.ingest import Accepted
from exoshare.telemetry.mqtt import BrokerAddress, MqttIngestWorker
from exoshare.telemetry.protocol import SampleBatch, SessionAnnounce, decode, encode, topic
from exoshare.telerehab.alerts import AlertRules
from exoshare.telerehab.feed import DeviceFeed
from exoshare.telerehab.relay import LiveRelay
from exoshare.telerehab.runtime import TelerehabRuntime
from tests.scale.servers import BROKER_HOST, BROKER_PORT, REDIS_URL, require_services

UNIT = "unit-1"
KEY = (UNIT, "rec-1")
BROKER = BrokerAddress(BROKER_HOST, BROKER_PORT)


@pytest.fixture
def relays() -> Iterator[tuple[LiveRelay, LiveRelay]]:
    require_services()
    channel = f"exoshare-test-{uuid.uuid4().hex[:8]}"
    a, b = LiveRelay(REDIS_URL, channel), LiveRelay(REDIS_URL, channel)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


@pytest.fixture
def serial() -> str:
    """A serial of this test alone: other tests may use the shared broker at the same time."""
    return f"SX-{uuid.uuid4().hex[:8].upper()}"


def _batch(seq: int, session_id: str = "rec-1") -> SampleBatch:
    values = {"knee_angle_left_deg": np.arange(10, dtype=float) + seq}
    return SampleBatch(session_id, seq, 100.0 + seq / 10, 10, values)


def _stored(history: SessionHistory, seqs: range, session_id: str = "rec-1") -> None:
    """What a storage process keeps after a group: each batch as its device sent it, with a
    secret in its payload."""
    for seq in seqs:
        obj = {**_batch(seq, session_id).to_wire(), "auth": "device-secret"}
        history.append([((UNIT, session_id), plain_wire(encode(obj), obj))])


async def _publish(device: aiomqtt.Client, serial: str, batch: SampleBatch) -> None:
    wire = {**batch.to_wire(), "auth": "device-secret"}
    await device.publish(topic("ES-MAD-01", serial, "samples"), encode(wire), qos=1)


def test_a_group_tells_every_process_all_but_its_stored_batches(
    relays: tuple[LiveRelay, LiveRelay],
) -> None:
    """Stored batches reach the processes showing their sessions from the broker (and their
    history from storage); a resend counts in the link quality, so it is told."""
    a, b = relays
    hello = SessionAnnounce("rec-1", "SX-1", "patient-1", 100.0, 100.0, {"x": "deg"})
    heard: list[list[tuple[str, str, int | None]]] = []

    async def scenario() -> None:
        listening = asyncio.create_task(
            b.listen(
                lambda accepted: heard.append(
                    [
                        (d.status, type(d.message).__name__, getattr(d.message, "seq", None))
                        for d in accepted
                    ]
                ),
                lambda therapy_id, frame: heard.append([("frame", therapy_id, None)]),
            )
        )
        try:
            async with asyncio.timeout(5):
                await b.subscribed.wait()
            a.group(
                [
                    Accepted("stored", hello, UNIT, "SX-1", "tel-1"),
                    Accepted("stored", _batch(0), UNIT, "SX-1", "tel-1"),
                    Accepted("duplicate", _batch(1), UNIT, "SX-1", "tel-1"),
                ]
            )
            a.group([Accepted("stored", _batch(2), UNIT, "SX-1", "tel-1")])  # nothing to tell
            a.frame("therapy-1", {"type": "status", "status": "paused"})
            b.frame("therapy-1", {"type": "status", "status": "live"})  # not to itself
            async with asyncio.timeout(5):
                while len(heard) < 2:
                    await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)
        finally:
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)

    asyncio.run(scenario())
    assert heard == [
        [("stored", "SessionAnnounce", None), ("duplicate", "SampleBatch", 1)],
        [("frame", "therapy-1", None)],
    ]


def test_one_process_keeps_a_session_s_alerts_the_one_that_shows_it_when_one_does(
    relays: tuple[LiveRelay, LiveRelay],
) -> None:
    a, b = relays
    assert a.claim(["s1", "s2"]) == {"s1", "s2"}  # nobody held them
    assert b.claim(["s1", "s2"]) == set()  # held, and B shows neither
    assert a.claim(["s1", "s2"]) == {"s1", "s2"}  # renewed
    # B's browsers watch s1 and A's do not: B takes it over.
    assert b.claim(["s1", "s2"], watched={"s1"}) == {"s1"}
    assert a.claim(["s1", "s2"]) == {"s2"}
    # Now A's browsers watch s1 too: the holder shows it, so it keeps it.
    assert a.claim(["s1"], watched={"s1"}) == set()
    assert b.claim(["s1"], watched={"s1"}) == {"s1"}


def test_a_session_s_history_keeps_its_stored_batches_in_order_and_expires_by_itself(
    relays: tuple[LiveRelay, LiveRelay],
) -> None:
    a, _ = relays
    history = SessionHistory(REDIS_URL, a.channel)
    try:
        _stored(history, range(3))
        _stored(history, range(0, 2), "rec-2")  # another session of the device
        _stored(history, range(3, 5))
        assert [batch.seq for batch in a.recent(KEY)] == [0, 1, 2, 3, 4]
        assert [batch.seq for batch in a.recent((UNIT, "rec-2"))] == [0, 1]
        assert a.recent((UNIT, "rec-3")) == []
        stream = history_stream(a.channel, KEY)
        assert 0 < history._client.pttl(stream) <= 2 * history.history_ms
        # Each entry holds the batch's own fields only: a device's secret never reaches Redis.
        for _, fields in history._client.xrange(stream):
            assert decode(fields[b"m"]).keys() <= SampleBatch.WIRE_FIELDS
    finally:
        history.close()


def test_a_process_hears_a_device_from_the_broker_only_while_it_follows_it(serial: str) -> None:
    require_services()
    other = f"{serial}-B"
    heard: list[tuple[str, int, bool]] = []
    verified = {"yes": False}

    async def scenario() -> None:
        feed = DeviceFeed(
            BROKER,
            lambda unit, message, payload: heard.append(
                (unit, message.seq, payload is None)  # type: ignore[attr-defined]
            ),
            lambda obj, topic_serial: UNIT if verified["yes"] else None,
            client_id=f"feed-{uuid.uuid4().hex[:8]}",
        )
        running = asyncio.create_task(feed.run())
        subscribed = asyncio.Event()
        async with aiomqtt.Client(BROKER_HOST, BROKER_PORT) as device:
            try:
                await _publish(device, serial, _batch(0))  # before anyone follows it
                await asyncio.sleep(0.2)
                assert feed.follow(serial, "therapy-1", ready=subscribed.set)
                async with asyncio.timeout(5):
                    await subscribed.wait()
                await _publish(device, serial, _batch(1))  # its credential not verified yet
                await _publish(device, other, _batch(2))  # another device
                await asyncio.sleep(0.3)
                assert heard == []
                verified["yes"] = True
                await _publish(device, serial, _batch(3))
                await asyncio.sleep(0.3)
                feed.unfollow(serial, "therapy-1")
                await asyncio.sleep(0.3)
                await _publish(device, serial, _batch(4))  # no longer followed
                await asyncio.sleep(0.3)
            finally:
                running.cancel()
                await asyncio.gather(running, return_exceptions=True)
        assert feed.received == 2

    asyncio.run(scenario())
    # The held batch first, then the next; a payload with a secret is not passed on as it came.
    assert heard == [(UNIT, 1, True), (UNIT, 3, True)]


@pytest.mark.parametrize("late", [0, 3], ids=["stored", "storage-behind"])
def test_a_viewer_on_a_process_that_did_not_follow_the_session_gets_its_earlier_frames(
    relays: tuple[LiveRelay, LiveRelay], serial: str, late: int
) -> None:
    """The session's first 3 s were stored (``late`` of them only after B subscribed: storage
    behind); a browser on B then starts watching: B's viewer gets those 30 batches, in order,
    then the next ones as the device sends them, each once."""
    a, b = relays
    history = SessionHistory(REDIS_URL, a.channel)
    runtime = TelerehabRuntime(sessionmaker())
    runtime.relay = b
    seen: list[int] = []

    async def scenario() -> None:
        feed = DeviceFeed(
            BROKER, runtime.tap, lambda obj, s: UNIT, client_id=f"feed-{uuid.uuid4().hex[:8]}"
        )
        runtime.feed = feed
        runtime.hub.follow(
            "therapy-1", "tel-1", 100.0, 100.0, AlertRules(), device_key=KEY, device_serial=serial
        )
        running = asyncio.create_task(feed.run())
        try:
            _stored(history, range(30 - late))
            async with aiomqtt.Client(BROKER_HOST, BROKER_PORT) as device:
                viewer = runtime.hub.subscribe("therapy-1")  # B's first viewer of the session
                await asyncio.sleep(0.3)  # subscribed on the broker
                for seq in range(30, 35):
                    await _publish(device, serial, _batch(seq))
                await asyncio.sleep(0.3)
                _stored(history, range(30 - late, 30))  # published before B subscribed
                async with asyncio.timeout(5):
                    while len(seen) < 35:
                        frame = json.loads(await viewer.queue.get())
                        seen.append(frame["seq"])
                await asyncio.sleep(0.3)
                while not viewer.queue.empty():
                    seen.append(json.loads(viewer.queue.get_nowait())["seq"])
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            await runtime.close()

    try:
        asyncio.run(scenario())
    finally:
        history.close()
    assert seen == list(range(35))
    snapshot = runtime.hub.snapshot("therapy-1")
    # 350 samples from the session's start, in display buckets of 8 (min and max of each):
    # 43 whole buckets, 86 points, in time order from the first sample.
    times = snapshot["points"]["knee_angle_left_deg"][0]
    assert len(times) == 86
    assert times[0] == 0.0 and times == sorted(times) and times[-1] < 3.44


def test_the_worker_hands_taps_the_payload_only_without_foreign_fields() -> None:
    """What decides the above: a payload with any field a batch does not have (a device secret
    in ``auth``, say) reaches the taps as None; a plain batch as the bytes that came."""

    class Known:
        answers_devices = True

        def submit(self, items: object) -> Callable[[], list[None]]:
            return list

        def known_device(self, obj: dict[str, object], topic_serial: str) -> str | None:
            return UNIT

    worker = MqttIngestWorker(Known(), BrokerAddress("127.0.0.1", 1))
    seen: list[bytes | None] = []
    worker.add_tap(lambda unit_id, message, payload: seen.append(payload))
    wire = _batch(0).to_wire()
    plain = encode(wire)
    with_secret = encode({**wire, "auth": "device-secret"})
    worker._tapped(("ES-MAD-01", "LT1-0001", "samples", plain))
    worker._tapped(("ES-MAD-01", "LT1-0001", "samples", with_secret))
    assert seen == [plain, None]
