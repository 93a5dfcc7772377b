"""The live relay on a real Redis: a session's samples reach only the processes that listen to
it, everything else reaches every process, and one process per session keeps its alerts."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator

import msgpack
import numpy as np
import pytest
from sqlalchemy.orm import sessionmaker

from exoshare.telemetry.ingest import Accepted
from exoshare.telemetry.mqtt import BrokerAddress, MqttIngestWorker
from exoshare.telemetry.protocol import Message, SampleBatch, SessionAnnounce, decode, encode
from exoshare.telerehab.alerts import AlertRules
from exoshare.telerehab.relay import LiveRelay
from exoshare.telerehab.runtime import TelerehabRuntime
from tests.scale.servers import REDIS_URL, require_services

UNIT = "unit-1"
KEY = (UNIT, "rec-1")


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


def _batch(seq: int, session_id: str = "rec-1") -> SampleBatch:
    values = {"knee_angle_left_deg": np.arange(10, dtype=float) + seq}
    return SampleBatch(session_id, seq, 100.0 + seq / 10, 10, values)


async def _hear(b: LiveRelay, a: LiveRelay, steps: list[object]) -> list[tuple[str, object]]:
    """Run B's listener while A says each step (a callable) or B changes what it listens to."""
    heard: list[tuple[str, object]] = []

    def on_tap(unit_id: str, message: Message) -> None:
        heard.append(("tap", (unit_id, message)))

    def on_group(accepted: list[Accepted]) -> None:
        heard.append(("group", [(done.status, done.message) for done in accepted]))

    def on_frame(therapy_id: str, frame: dict[str, object]) -> None:
        heard.append(("frame", (therapy_id, frame)))

    listening = asyncio.create_task(b.listen(on_tap, on_group, on_frame))
    try:
        async with asyncio.timeout(5):
            await b.subscribed.wait()
        for step in steps:
            assert callable(step)
            step()
            async with asyncio.timeout(5):
                while b.joined != b.watching():  # a change of subscriptions is taken up
                    await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)  # pub/sub delivers in well under this on loopback
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
    return heard


def test_a_session_s_samples_reach_a_process_only_while_it_listens_to_the_session(
    relays: tuple[LiveRelay, LiveRelay],
) -> None:
    a, b = relays

    def watch() -> None:
        b.watch(KEY)

    def unwatch() -> None:
        b.unwatch(KEY)

    heard = asyncio.run(
        _hear(
            b,
            a,
            [
                lambda: a.tap(UNIT, _batch(0)),
                watch,
                lambda: a.tap(UNIT, _batch(1)),
                lambda: a.tap(UNIT, _batch(2, "rec-2")),  # another session
                unwatch,
                lambda: a.tap(UNIT, _batch(3)),
            ],
        )
    )
    taps = [(unit, m.seq) for kind, (unit, m) in heard if kind == "tap"]  # type: ignore[misc]
    assert taps == [(UNIT, 1)]
    assert b.watching() == set()


def test_a_group_sends_its_untold_batches_to_their_sessions_and_the_rest_to_every_process(
    relays: tuple[LiveRelay, LiveRelay],
) -> None:
    a, b = relays
    hello = SessionAnnounce("rec-1", "SX-1", "patient-1", 100.0, 100.0, {"x": "deg"})
    group = [
        Accepted("stored", hello, UNIT, "SX-1", "tel-1"),
        Accepted("stored", _batch(0), UNIT, "SX-1", "tel-1"),
        Accepted("stored", _batch(1), UNIT, "SX-1", "tel-1"),
        Accepted("duplicate", _batch(2), UNIT, "SX-1", "tel-1"),
    ]

    def tap_then_store() -> None:
        a.tap(UNIT, _batch(1))  # batch 1 reached the others as it arrived
        a.group(group)

    heard = asyncio.run(_hear(b, a, [lambda: a.group(group), lambda: b.watch(KEY), tap_then_store]))
    said = [
        (kind, [(status, type(m).__name__, getattr(m, "seq", None)) for status, m in body])  # type: ignore[attr-defined]
        if kind == "group"
        else (kind, body[1].seq)  # type: ignore[index]
        for kind, body in heard
    ]
    # B listens to no session: only what every process hears.
    assert said[0] == ("group", [("stored", "SessionAnnounce", None)])
    # B listens to the session: the tapped batch once (published at the event loop's next
    # turn), the group's batches no tap told, on the session's channel, and the rest.
    assert sorted(said[1:]) == [
        ("group", [("stored", "SampleBatch", 0), ("duplicate", "SampleBatch", 2)]),
        ("group", [("stored", "SessionAnnounce", None)]),
        ("tap", 1),
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


def test_a_process_that_starts_listening_late_is_handed_the_session_s_history_first(
    relays: tuple[LiveRelay, LiveRelay],
) -> None:
    a, b = relays
    backfills: list[tuple[tuple[str, str], list[int]]] = []
    taps: list[int] = []

    async def scenario() -> None:
        def on_backfill(key: tuple[str, str], history: list[SampleBatch]) -> None:
            backfills.append((key, [batch.seq for batch in history]))

        listening = asyncio.create_task(
            b.listen(
                lambda unit, m: taps.append(m.seq),  # type: ignore[attr-defined]
                lambda accepted: None,
                lambda therapy_id, frame: None,
                on_backfill,
            )
        )
        try:
            async with asyncio.timeout(5):
                await b.subscribed.wait()
            for seq in (0, 1, 2):
                a.tap(UNIT, _batch(seq))
            a.tap(UNIT, _batch(0, "rec-2"))  # another session's history
            await asyncio.sleep(0)  # taps go to the sending thread at the end of the loop's turn
            # Batch 3 reached A before its device was verified: stored, told by no tap.
            a.group([Accepted("stored", _batch(3), UNIT, "SX-1", "tel-1")])
            await asyncio.sleep(0.3)  # the sending thread has appended them
            assert b.watch(KEY, backfill=True)
            assert not b.watch(KEY, backfill=True)  # already listening
            async with asyncio.timeout(5):
                while not backfills:
                    await asyncio.sleep(0.01)
            a.tap(UNIT, _batch(4))
            await asyncio.sleep(0.3)
        finally:
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)

    asyncio.run(scenario())
    assert backfills == [(KEY, [0, 1, 2, 3])]
    assert taps == [4]


def test_a_session_s_history_is_appended_before_it_is_published_and_expires_by_itself(
    relays: tuple[LiveRelay, LiveRelay],
) -> None:
    a, _ = relays
    stream = a.history_stream(KEY)
    listener = a._client.pubsub()
    listener.subscribe(a.session_channel(KEY))
    try:
        assert listener.get_message(timeout=5)["type"] == "subscribe"  # type: ignore[index]
        for seq in range(3):
            a.tap(UNIT, _batch(seq))
        heard = []
        for _ in range(3):
            item = listener.get_message(timeout=5)
            assert item is not None
            heard.append(item["data"])
            # What a listener hears is in the stream already.
            assert len(a._client.xrange(stream)) >= len(heard)
    finally:
        listener.close()
    assert [fields[b"m"] for _, fields in a._client.xrange(stream)] == heard
    assert 0 < a._client.pttl(stream) <= 2 * a.history_ms


def test_the_taps_of_one_turn_of_the_event_loop_go_to_the_sending_thread_together(
    relays: tuple[LiveRelay, LiveRelay],
) -> None:
    a, _ = relays
    handed: list[int] = []
    outbox = a._outbox

    class Counted:
        def put(self, item: list[object] | None) -> None:
            handed.append(-1 if item is None else len(item))
            outbox.put(item)  # type: ignore[arg-type]

        def get(self) -> object:
            return outbox.get()

        def get_nowait(self) -> object:
            return outbox.get_nowait()

    a._outbox = Counted()  # type: ignore[assignment]

    async def scenario() -> None:
        for seq in range(20):  # one read of the broker's socket: many batches in one turn
            a.tap(UNIT, _batch(seq))
        await asyncio.sleep(0)
        for seq in range(20, 25):
            a.tap(UNIT, _batch(seq))
        await asyncio.sleep(0.3)  # the sending thread has sent them

    asyncio.run(scenario())
    # Each hand-over wakes the sending thread, which then takes the interpreter lock.
    assert handed == [20, 5]
    history = a._client.xrange(a.history_stream(KEY))
    entries = [msgpack.unpackb(fields[b"m"]) for _, fields in history]
    assert [decode(payload)["seq"] for _, _, (_, payload) in entries] == list(range(25))


def test_a_viewer_on_a_process_that_did_not_follow_the_session_gets_its_earlier_frames(
    relays: tuple[LiveRelay, LiveRelay],
) -> None:
    """A ingested the session's first 3 s; a browser on B then starts watching: B's viewer gets
    those 30 batches, in order, then the next ones as they come, each once."""
    a, b = relays
    runtime = TelerehabRuntime(sessionmaker())
    runtime.relay = b
    runtime.hub.follow("therapy-1", "tel-1", 100.0, 100.0, AlertRules(), device_key=KEY)
    seen: list[int] = []

    async def scenario() -> None:
        listening = asyncio.create_task(
            b.listen(runtime.tap, runtime.on_relayed_group, lambda t, f: None, runtime.on_backfill)
        )
        try:
            async with asyncio.timeout(5):
                await b.subscribed.wait()
            for seq in range(30):
                a.tap(UNIT, _batch(seq))
            await asyncio.sleep(0.3)
            viewer = runtime.hub.subscribe("therapy-1")  # B's first viewer of the session
            for seq in range(30, 35):
                a.tap(UNIT, _batch(seq))
            async with asyncio.timeout(5):
                while len(seen) < 35:
                    frame = json.loads(await viewer.queue.get())
                    seen.append(frame["seq"])
            await asyncio.sleep(0.3)
            while not viewer.queue.empty():
                seen.append(json.loads(viewer.queue.get_nowait())["seq"])
        finally:
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)

    asyncio.run(scenario())
    assert seen == list(range(35))
    snapshot = runtime.hub.snapshot("therapy-1")
    # 350 samples from the session's start, in display buckets of 8 (min and max of each):
    # 43 whole buckets, 86 points, in time order from the first sample.
    times = snapshot["points"]["knee_angle_left_deg"][0]
    assert len(times) == 86
    assert times[0] == 0.0 and times == sorted(times) and times[-1] < 3.44


def test_a_tapped_batch_travels_as_the_device_sent_it_only_when_it_holds_nothing_else(
    relays: tuple[LiveRelay, LiveRelay],
) -> None:
    """The worker hands the relay the payload only when it holds no field but the batch's own;
    then it is relayed byte for byte (no second encoding), otherwise encoded again from the
    parsed batch, so a secret a device put in its payload never reaches Redis."""
    a, _ = relays
    plain = encode(_batch(0).to_wire())
    a.tap(UNIT, _batch(0), plain)
    a.tap(UNIT, _batch(1))  # the worker passed no payload: it held something else
    a.close()  # sends what is queued
    entries = a._client.xrange(a.history_stream(KEY))
    relayed = [msgpack.unpackb(fields[b"m"], raw=False)[2][1] for _, fields in entries]
    assert relayed[0] == plain
    assert decode(relayed[1]) == decode(encode(_batch(1).to_wire()))


def test_the_worker_hands_taps_the_payload_only_without_foreign_fields() -> None:
    """What decides the above: a payload with any field a batch does not have (a device secret
    in ``auth``, say) reaches the taps as None; a plain batch as the bytes that came."""

    class Known:
        answers_devices = True

        def handle_many(self, items: object) -> list[None]:
            return []

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
