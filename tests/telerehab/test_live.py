"""The live feed: decimated frames while every sample is stored, and an overheating alert that a
therapist acknowledges with a note."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.db import session_scope
from exoshare.telemetry.models import TelemetrySession
from exoshare.telemetry.protocol import SampleBatch, encode
from exoshare.telemetry.runtime import ingestor
from exoshare.telerehab.alerts import AlertRules
from exoshare.telerehab.live import LiveHub, minmax_pick
from exoshare.telerehab.models import SessionAlert
from tests.telerehab.helpers import START_S, announce, device_secret, plan, ready_world
from tests.world import token

API = "/api/v1/telerehab"
CHANNELS = {
    "knee_angle_left_deg": "deg",
    "knee_angle_right_deg": "deg",
    "skin_temp_left_c": "degC",
    "skin_temp_right_c": "degC",
}


def _batch(seq: int, skin_c: float, n: int = 100) -> SampleBatch:
    t = (seq * n + np.arange(n)) / 100.0
    return SampleBatch(
        "dev-1",
        seq,
        START_S + seq * n / 100.0,
        n,
        {
            "knee_angle_left_deg": 30 + 30 * np.sin(2 * np.pi * t),
            "knee_angle_right_deg": 30 + 30 * np.sin(2 * np.pi * (t - 0.5)),
            "skin_temp_left_c": np.full(n, 34.0),
            "skin_temp_right_c": np.full(n, skin_c),
        },
    )


def test_minmax_decimation_keeps_the_peaks() -> None:
    t = np.arange(800) / 100.0
    knee = 30 + 30 * np.sin(2 * np.pi * t)
    index, values = minmax_pick(knee[None, :], 8)
    assert values.shape == (1, 200)
    assert np.all(np.diff(t[index][0]) > 0)
    assert values.max() == knee.max() and values.min() == knee.min()


def _frames(socket: Any) -> Iterator[dict[str, Any]]:
    """Every frame the live feed sends, one by one (several may come as one JSON array)."""
    while True:
        data = socket.receive_json()
        yield from data if isinstance(data, list) else [data]


def test_live_frames_are_decimated_while_every_sample_is_stored_and_alerts_are_acknowledged(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = ready_world(session_factory)
    maria = token(client, world, "therapist_madrid")
    sid = plan(client, maria, world)["id"]
    client.post(f"{API}/sessions/{sid}/start", headers=maria)
    secret = device_secret(session_factory, world)
    assert announce(client, secret, world, channels=CHANNELS) == "stored"

    with client.websocket_connect(f"{API}/sessions/{sid}/live", headers=maria) as socket:
        received = _frames(socket)
        snapshot = next(received)
        assert snapshot["type"] == "snapshot" and snapshot["status"] == "live"
        assert snapshot["settings"] == {"guidance_force_pct": 50.0}
        handle = ingestor(client.app).handle
        # Ten seconds at 100 Hz; from the fourth second the right cuff is at 43 °C.
        for seq in range(10):
            wire = _batch(seq, 43.0 if seq >= 3 else 34.0).to_wire()
            wire["auth"] = secret
            assert handle(encode(wire)).status == "stored"
        wire = _batch(4, 43.0).to_wire()
        wire["auth"] = secret
        assert handle(encode(wire)).status == "duplicate"
        frames, alerts = [], []
        while len(frames) < 10:
            frame = next(received)
            (frames if frame["type"] == "batch" else alerts).append(frame)
        points = sum(len(f["points"]["knee_angle_left_deg"][0]) for f in frames)
        # 1000 samples at 100 Hz shown as min/max pairs of 8-sample buckets: 25 points/s.
        assert points == 250
        assert [f["seq"] for f in frames] == list(range(10))
        assert frames[-1]["vitals"]["skin_temp_right_c"] == 43.0
        assert frames[-1]["quality"]["samples"] == 1000
        while not alerts:
            frame = next(received)
            if frame["type"] == "alert":
                alerts.append(frame)
        alert = alerts[0]["alert"]
        assert (alert["kind"], alert["severity"], alert["value"]) == (
            "skin_temperature",
            "critical",
            43.0,
        )
        assert alert["message"] == "skin temperature 43.0 °C above 41.0 °C"

        url = f"{API}/alerts/{alert['id']}/acknowledge"
        blank = client.post(url, json={"note": "  "}, headers=maria)
        assert blank.status_code == 422 and blank.json()["field"] == "note"
        carlos = token(client, world, "carlos")
        assert client.post(url, json={"note": "ok"}, headers=carlos).status_code == 403
        note = "Cuff loosened, guidance force lowered"
        done = client.post(url, json={"note": note}, headers=maria)
        assert done.status_code == 200
        assert done.json()["note"] == note
        assert done.json()["acknowledged_by_id"] == world.ids["therapist_madrid"]
        assert client.post(url, json={"note": note}, headers=maria).status_code == 409
        while True:
            frame = next(received)
            if frame["type"] == "alert":
                assert frame["alert"]["acknowledged"] and frame["alert"]["note"] == note
                break
        # the duplicate counted as a resend on the link
        assert frames[-1]["quality"]["resends"] in (0, 1)

    with session_scope(session_factory) as s:
        recording = s.scalars(select(TelemetrySession)).one()
        kept = s.scalars(select(SessionAlert)).one()
        assert recording.n_samples == 1000 and recording.n_batches == 10
        assert (kept.kind, kept.note, kept.acknowledged_by_id) == (
            "skin_temperature",
            note,
            world.ids["therapist_madrid"],
        )


def test_live_feed_is_hidden_outside_the_scope(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    from starlette.testclient import WebSocketDenialResponse

    world = ready_world(session_factory)
    sid = plan(client, token(client, world, "therapist_madrid"), world)["id"]
    outsider = token(client, world, "therapist_barcelona")
    try:
        with client.websocket_connect(f"{API}/sessions/{sid}/live", headers=outsider):
            raise AssertionError("the feed opened for an outsider")
    except WebSocketDenialResponse as denial:
        assert denial.status_code == 404


def test_a_batch_is_shown_once_whether_it_comes_from_the_tap_storage_or_a_resend() -> None:
    hub = LiveHub()
    live = hub.follow("therapy-1", "rec-1", 100.0, 1000.0, AlertRules(), device_key=("u-1", "s-1"))
    assert hub.for_device("u-1", "s-1") is live
    values = {"knee_angle_left_deg": np.linspace(0.0, 60.0, 10)}
    first = SampleBatch("s-1", 0, 1000.0, 10, values)
    shown = hub.on_batch(live, first)
    assert shown is not None and shown[0]["seq"] == 0
    # The same batch again (after storage, or resent by the device): not shown again.
    assert hub.on_batch(live, SampleBatch("s-1", 0, 1000.0, 10, values)) is None
    # A late batch that was never shown still is (out of order), once.
    assert hub.on_batch(live, SampleBatch("s-1", 2, 1000.2, 10, values)) is not None
    assert hub.on_batch(live, SampleBatch("s-1", 1, 1000.1, 10, values)) is not None
    assert hub.on_batch(live, SampleBatch("s-1", 1, 1000.1, 10, values)) is None
    assert live.batches == 3
    hub.forget("therapy-1")
    assert hub.for_device("u-1", "s-1") is None


def test_a_joint_dropping_out_mid_bucket_is_shown_without_it() -> None:
    hub = LiveHub()
    live = hub.follow("therapy-1", "rec-1", 100.0, 1000.0, AlertRules())
    both = {
        "knee_angle_left_deg": np.linspace(0.0, 60.0, 10),
        "knee_angle_right_deg": np.linspace(60.0, 0.0, 10),
    }
    # 10 samples leave an open display bucket (8 samples each at 25 points/s).
    assert hub.on_batch(live, SampleBatch("s-1", 0, 1000.0, 10, both)) is not None
    left_only = {"knee_angle_left_deg": np.linspace(0.0, 60.0, 10)}
    shown = hub.on_batch(live, SampleBatch("s-1", 1, 1000.1, 10, left_only))
    assert shown is not None
    frame, _ = shown
    assert set(frame["points"]) == {"knee_angle_left_deg"}
    times, values = frame["points"]["knee_angle_left_deg"]
    assert len(times) == len(values) > 0 and times == sorted(times)
    # And back: the right knee returns in the frames.
    shown = hub.on_batch(live, SampleBatch("s-1", 2, 1000.2, 10, both))
    assert shown is not None and set(shown[0]["points"]) == set(both)


def test_a_long_session_still_shows_each_batch_once() -> None:
    # 12 minutes at 10 batches a second: the hub's ring of shown batches wraps twice.
    hub = LiveHub()
    live = hub.follow("therapy-1", "rec-1", 100.0, 1000.0, AlertRules())
    values = {"knee_angle_left_deg": np.linspace(0.0, 60.0, 10)}

    def show(seq: int) -> bool:
        return (
            hub.on_batch(live, SampleBatch("s-1", seq, 1000.0 + seq / 10, 10, values)) is not None
        )

    assert all(show(seq) for seq in range(7200) if seq != 7150)
    assert not show(7199) and not show(6000)  # shown already
    assert not show(3000)  # older than SHOWN_KEEP batches: long off the screen
    assert show(7150)  # late, never shown: shown once
    assert not show(7150)
    assert show(7200)
