"""Outcome pages: the tablet entry form, the timeline with judgments, and the patient's own view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.db import session_scope
from exoshare.outcomes import measures
from exoshare.outcomes.instruments import InstrumentCode
from tests.security.matrix_world import _recording_csv
from tests.world import build_world, token

TODAY = datetime.now(UTC).date()


def test_berg_entry_form_refuses_a_bad_item_then_keeps_the_record(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = build_world(session_factory)
    headers = token(client, world, "therapist_madrid")
    lucia = world.ids["patient_lucia"]
    form = client.get(f"/patients/{lucia}/outcomes/record/berg", headers=headers)
    assert form.status_code == 200
    assert "Item 1 of 14" in form.text and "Item 14 of 14" in form.text
    items = {f"item_{n:02d}": "3" for n in range(1, 15)}
    bad = client.post(
        f"/patients/{lucia}/outcomes/record/berg",
        data={**items, "item_07": "6", "measured_on": str(TODAY), "note": "after lunch"},
        headers=headers,
        follow_redirects=False,
    )
    assert bad.status_code == 422
    assert "item_07" in bad.text and "must be one of 0, 1, 2, 3, 4" in bad.text
    assert "after lunch" in bad.text  # what was typed comes back
    good = client.post(
        f"/patients/{lucia}/outcomes/record/berg",
        data={**items, "measured_on": str(TODAY), "walking_aid": "cane"},
        headers=headers,
        follow_redirects=False,
    )
    assert good.status_code == 303 and good.headers["location"] == f"/patients/{lucia}/outcomes"
    page = client.get(f"/patients/{lucia}/outcomes", headers=headers)
    assert page.status_code == 200
    assert "<svg" in page.text and ">42<" in page.text  # 14 items x 3 points
    spanish = client.get(f"/patients/{lucia}/outcomes?lang=es", headers=headers)
    assert "Medidas a lo largo del tiempo" in spanish.text and "bastón" in spanish.text
    # A patient may read their outcomes but gets no entry form.
    carlos = token(client, world, "carlos")
    own = world.ids["patient_carlos"]
    assert client.get(f"/patients/{own}/outcomes/record/berg", headers=carlos).status_code == 403


def test_patient_reads_own_outcomes_in_plain_words_with_device_values(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    world = build_world(session_factory)
    carlos = world.ids["patient_carlos"]
    with session_scope(session_factory) as s:
        for days_ago, seconds in ((28, 25.0), (0, 14.3)):  # 0.40 -> 0.70 m/s
            measures.record_measurement(
                s, SYSTEM_SEEDING, carlos, InstrumentCode.ten_mwt,
                {"distance_m": 10, "comfortable_time_s": seconds}, TODAY - timedelta(days=days_ago),
            )  # fmt: skip
    operator = token(client, world, "operator")
    credential = client.post(
        "/api/v1/telemetry/credentials",
        json={"device_unit_id": world.ids["unit_madrid"]},
        headers=operator,
    ).json()
    upload = client.post(
        "/api/v1/telemetry/recordings",
        headers={"Authorization": f"Device {credential['secret']}"},
        data={"patient_id": carlos,
              "mapping": "Knee L=knee_angle_left_deg\nKnee R=knee_angle_right_deg"},
        files={"file": ("walk.csv", _recording_csv(), "text/csv")},
    )  # fmt: skip
    assert upload.status_code == 201, upload.text
    headers = token(client, world, "carlos")
    page = client.get("/my/outcomes", headers=headers)
    assert page.status_code == 200
    # Carlos's stroke was long ago: chronic, MDC 0.2 m/s and no MCID, so +0.30 is a real gain.
    assert "Your walking speed went from 0.40 to 0.70 m/s" in page.text
    assert "a real improvement, more than a repeat test can vary" in page.text
    assert "Record a measure" not in page.text
    timeline = client.get(f"/api/v1/outcomes/patients/{carlos}/timeline", headers=headers).json()
    device = [s for s in timeline if s["device_derived"]]
    assert device and all(p["with_exoskeleton"] for s in device for p in s["points"])
    fragment = client.get(f"/patients/{carlos}/outcomes/prediction", headers=headers)
    assert "covers the first 26 weeks after onset" in fragment.text
