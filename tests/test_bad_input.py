"""Bad input gets a 422 naming the field and the fix, and changes nothing, on both databases.

One test per class of bad input the API met: integers beyond what SQL holds, null for a field
that may not be empty, dates at the ends of the calendar, unknown time zones, numbers JSON
should not carry (NaN, Infinity), and unreadable recordings (uploads and the CLI).
"""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.cli import app as cli_app
from exoshare.db import session_scope
from exoshare.network.models import OrgUnit
from exoshare.patients.models import Patient
from exoshare.telemetry import credentials
from exoshare.telemetry.models import TelemetrySession
from tests.world import PASSWORD, World, build_world, token

PAGED_LISTS = [
    "/api/v1/users",
    "/api/v1/org-units",
    "/api/v1/partners",
    "/api/v1/patients",
    "/api/v1/device-models",
    "/api/v1/device-units",
]


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return build_world(session_factory)


def _problem(response: httpx.Response, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert field in [error["field"] for error in body["errors"]], body
    return body


@pytest.mark.parametrize("path", PAGED_LISTS)
def test_offset_beyond_64_bits_is_a_422_on_every_paged_list(
    client: TestClient, world: World, path: str
) -> None:
    headers = token(client, world, "operator")
    body = _problem(client.get(path, params={"offset": 2**64}, headers=headers), 422, "offset")
    assert "9223372036854775807" in body["detail"]
    # The largest offset SQL holds is answered, with an empty page.
    largest = client.get(path, params={"offset": 2**63 - 1}, headers=headers)
    assert largest.status_code == 200, largest.text
    assert largest.json()["items"] == [] and largest.json()["offset"] == 2**63 - 1


def test_patient_search_page_beyond_64_bits_is_a_422(client: TestClient, world: World) -> None:
    headers = token(client, world, "therapist_madrid")
    response = client.get("/patients/search", params={"page": 2**62}, headers=headers)
    assert response.status_code == 422


def test_patch_null_for_a_required_field_is_a_422_and_changes_nothing(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = token(client, world, "therapist_madrid")
    carlos = world.ids["patient_carlos"]
    for field in ("height_m", "weight_kg", "given_name", "birth_date", "sex", "diagnosis"):
        response = client.patch(f"/api/v1/patients/{carlos}", json={field: None}, headers=headers)
        body = _problem(response, 422, field)
        assert f"{field} cannot be empty (null); leave it out" in body["detail"]
    with session_scope(session_factory) as s:
        patient = s.get(Patient, carlos)
        assert patient is not None
        assert (patient.height_m, patient.weight_kg, patient.given_name) == (1.75, 78.0, "Carlos")
        assert patient.onset_date == date(2025, 3, 1)


def test_patch_null_clears_a_clearable_field_and_absent_keeps_it(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = token(client, world, "therapist_madrid")
    carlos = world.ids["patient_carlos"]
    kept = client.patch(f"/api/v1/patients/{carlos}", json={"height_m": 1.8}, headers=headers)
    assert kept.status_code == 200, kept.text
    assert kept.json()["onset_date"] == "2025-03-01" and kept.json()["height_m"] == 1.8
    cleared = client.patch(f"/api/v1/patients/{carlos}", json={"onset_date": None}, headers=headers)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["onset_date"] is None and cleared.json()["height_m"] == 1.8
    with session_scope(session_factory) as s:
        patient = s.get(Patient, carlos)
        assert patient is not None and patient.onset_date is None and patient.height_m == 1.8


def test_patch_schemas_do_not_offer_null_where_it_is_refused(client: TestClient) -> None:
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    height = schemas["PatientUpdate"]["properties"]["height_m"]
    assert height["type"] == "number" and "anyOf" not in height
    onset = schemas["PatientUpdate"]["properties"]["onset_date"]
    assert {"type": "null"} in onset["anyOf"]
    assert schemas["OrgUnitUpdate"]["properties"]["name"]["type"] == "string"


def test_org_unit_patch_null_name_is_refused_and_null_closed_on_reopens(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = token(client, world, "operator")
    url = f"/api/v1/org-units/{world.ids['barcelona']}"
    _problem(client.patch(url, json={"name": None}, headers=headers), 422, "name")
    closed = client.patch(url, json={"closed_on": "2026-06-30"}, headers=headers)
    assert closed.status_code == 200 and closed.json()["closed_on"] == "2026-06-30"
    renamed = client.patch(url, json={"name": "Barcelona Nord"}, headers=headers)
    assert renamed.json()["closed_on"] == "2026-06-30"  # left out: kept
    reopened = client.patch(url, json={"closed_on": None}, headers=headers)
    assert reopened.status_code == 200 and reopened.json()["closed_on"] is None
    with session_scope(session_factory) as s:
        unit = s.get(OrgUnit, world.ids["barcelona"])
        assert unit is not None and unit.closed_on is None and unit.name == "Barcelona Nord"


def _clinic(client: TestClient, world: World, headers: dict[str, str], zone: str) -> httpx.Response:
    return client.post(
        "/api/v1/org-units",
        json={
            "parent_id": world.ids["spain"],
            "code": "ES-TZ-01",
            "name": "Zone Clinic",
            "kind": "clinic",
            "country_code": "ES",
            "timezone": zone,
        },
        headers=headers,
    )


def test_unknown_time_zone_is_refused_and_nothing_is_created(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = token(client, world, "operator")
    for zone in ("Mars/Olympus_Mons", "Europe", "../../etc/passwd", "", "europe/madrid"):
        body = _problem(_clinic(client, world, headers, zone), 422, "timezone")
        assert "is not an IANA time zone" in body["detail"]
    with session_scope(session_factory) as s:
        assert s.scalar(select(func.count()).where(OrgUnit.code == "ES-TZ-01")) == 0
    created = _clinic(client, world, headers, "Pacific/Kiritimati")
    assert created.status_code == 201, created.text


@pytest.mark.parametrize("start", ["9999-12-31", "0001-01-01", "1899-12-31", "3000-01-01"])
def test_calendar_outside_the_supported_calendar_is_a_422(
    client: TestClient, world: World, start: str
) -> None:
    headers = token(client, world, "operator")
    # UTC+14: the clinic-local day's start is the previous day in UTC.
    clinic_id = _clinic(client, world, headers, "Pacific/Kiritimati").json()["id"]
    response = client.get(
        f"/api/v1/clinics/{clinic_id}/calendar", params={"start": start}, headers=headers
    )
    body = _problem(response, 422, "start")
    assert "outside the supported calendar (1900-01-01 to 2999-12-31)" in body["detail"]
    page = client.get("/calendar", params={"clinic_id": clinic_id, "start": start}, headers=headers)
    assert page.status_code == 422


@pytest.mark.parametrize("start", ["2999-12-31", "1900-01-01"])
def test_calendar_at_the_ends_of_the_supported_calendar_answers(
    client: TestClient, world: World, start: str
) -> None:
    headers = token(client, world, "operator")
    clinic_id = _clinic(client, world, headers, "Pacific/Kiritimati").json()["id"]
    response = client.get(
        f"/api/v1/clinics/{clinic_id}/calendar",
        params={"start": start, "days": 62},
        headers=headers,
    )
    assert response.status_code == 200 and response.json() == []
    page = client.get("/calendar", params={"clinic_id": clinic_id, "start": start}, headers=headers)
    assert page.status_code == 200
    assert client.get("/utilisation", params={"start": start}, headers=headers).status_code == 200


def test_invoice_month_in_year_9999_is_a_422(client: TestClient, world: World) -> None:
    headers = token(client, world, "operator")
    response = client.post(
        "/api/v1/invoices",
        json={"clinic_id": world.ids["madrid"], "month": "9999-12-01"},
        headers=headers,
    )
    _problem(response, 422, "month")


def test_nan_and_infinity_in_json_are_a_422_and_store_nothing(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = {**token(client, world, "therapist_madrid"), "content-type": "application/json"}
    carlos = world.ids["patient_carlos"]
    for literal in ("NaN", "Infinity"):
        response = client.patch(
            f"/api/v1/patients/{carlos}", content=f'{{"height_m": {literal}}}', headers=headers
        )
        _problem(response, 422, "height_m")
    with session_scope(session_factory) as s:
        patient = s.get(Patient, carlos)
        assert patient is not None and patient.height_m == 1.75


def _parquet(metadata: dict[bytes, bytes]) -> bytes:
    table = pa.table({"knee_angle_left_deg": np.linspace(0.0, 60.0, 500)})
    buffer = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(metadata), buffer)
    return buffer.getvalue()


BAD_RECORDINGS = [
    ("walk.csv", b"knee_angle_left_deg\n1\n2\n3\n", {"sampling_rate_hz": "nan"}, "nan Hz"),
    ("walk.csv", b"knee_angle_left_deg\n1\n2\n3\n", {"sampling_rate_hz": "-100"}, "-100 Hz"),
    ("walk.csv", b"knee_angle_left_deg\n1\n2\n3\n", {"sampling_rate_hz": "inf"}, "inf Hz"),
    ("walk.csv", b"knee_angle_left_deg\n1\n2\n3\n", {"sampling_rate_hz": "0"}, "0 Hz"),
    ("walk.parquet", _parquet({b"sampling_rate_hz": b"fast"}), {}, "is not a number"),
    ("walk.parquet", _parquet({b"sampling_rate_hz": b"NaN"}), {}, "nan Hz"),
    ("walk.c3d", b"\x02\x50" + b"\x00" * 600, {}, "not a readable C3D file"),
    ("walk.csv", b"", {}, "needs a header line"),
]


@pytest.mark.parametrize(("name", "raw", "form", "expected"), BAD_RECORDINGS)
def test_bad_recording_upload_is_a_422_and_stores_nothing(
    client: TestClient,
    world: World,
    session_factory: sessionmaker[Session],
    name: str,
    raw: bytes,
    form: dict[str, str],
    expected: str,
) -> None:
    with session_scope(session_factory) as s:
        secret, _ = credentials.issue_device_credential(s, SYSTEM_SEEDING, world.ids["unit_madrid"])
    response = client.post(
        "/api/v1/telemetry/recordings",
        headers={"Authorization": f"Device {secret}"},
        data={"patient_id": world.ids["patient_carlos"], **form},
        files={"file": (name, raw, "application/octet-stream")},
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["type"].endswith("/bad-recording-file")
    assert body["detail"].startswith(name) and expected in body["detail"], body["detail"]
    with session_scope(session_factory) as s:
        assert s.scalar(select(func.count()).select_from(TelemetrySession)) == 0


@pytest.mark.parametrize(("name", "raw", "form", "expected"), BAD_RECORDINGS)
def test_analyse_command_refuses_bad_recordings_in_one_line_with_exit_2(
    tmp_path: Path,
    name: str,
    raw: bytes,
    form: dict[str, str],
    expected: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(raw)
    rate = ["--rate", form["sampling_rate_hz"]] if "sampling_rate_hz" in form else []
    result = CliRunner().invoke(cli_app, ["analyse", str(path), *rate])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {name}") and expected in lines[0]


def test_nul_characters_are_a_422_wherever_text_arrives(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    # PostgreSQL can neither store nor compare U+0000: each of these was a 500 there.
    headers = token(client, world, "operator")
    _problem(client.get("/api/v1/patients/ab%00cd", headers=headers), 422, "patient_id")
    _problem(client.get("/api/v1/patients?q=a%00b", headers=headers), 422, "q")
    _problem(client.get("/api/v1/patients?clinic_id=%00", headers=headers), 422, "clinic_id")
    login = client.post("/api/v1/auth/token", json={"email": "a\u0000@x.org", "password": "x"})
    _problem(login, 422, "email")
    created = client.post(
        "/api/v1/org-units",
        json={
            "parent_id": world.ids["spain"],
            "code": "ES-NUL-01",
            "name": "Clinic",
            "kind": "clinic",
            "city": "Zaragoza\u0000",
        },
        headers=headers,
    )
    body = _problem(created, 422, "city")
    assert body["detail"] == "city: text may not contain the NUL character (U+0000)"
    with session_scope(session_factory) as s:
        assert s.scalar(select(func.count()).where(OrgUnit.code == "ES-NUL-01")) == 0


def test_upload_with_nul_or_overlong_names_is_a_422_and_stores_nothing(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as s:
        secret, _ = credentials.issue_device_credential(s, SYSTEM_SEEDING, world.ids["unit_madrid"])
    device = {"Authorization": f"Device {secret}"}
    csv = b"time_s,knee_angle_left_deg\n0,1\n0.01,2\n0.02,3\n"
    nul_form = client.post(
        "/api/v1/telemetry/recordings",
        headers=device,
        data={"patient_id": world.ids["patient_carlos"] + "\x00"},
        files={"file": ("walk.csv", csv, "text/csv")},
    )
    _problem(nul_form, 422, "patient_id")
    overlong = client.post(
        "/api/v1/telemetry/recordings",
        headers=device,
        data={"patient_id": world.ids["patient_carlos"]},
        files={"file": ("w" * 300 + ".csv", csv, "text/csv")},
    )
    _problem(overlong, 422, "file")
    with session_scope(session_factory) as s:
        assert s.scalar(select(func.count()).select_from(TelemetrySession)) == 0


def test_session_form_with_an_unknown_location_is_a_422_and_plans_nothing(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    from exoshare.telerehab.models import TherapySession

    page = client.get("/login")
    login_csrf = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    signed_in = client.post(
        "/login",
        data={
            "email": world.emails["therapist_madrid"],
            "password": PASSWORD,
            "login_csrf": login_csrf,
        },
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text)
    assert csrf is not None
    response = client.post(
        "/telerehab/sessions",
        data={
            "csrf_token": csrf.group(1),
            "patient_id": world.ids["patient_carlos"],
            "device_unit_id": world.ids["unit_madrid"],
            "location": "moon",
        },
    )
    assert response.status_code == 422, response.text
    assert "location: one of clinic, home" in response.text
    with session_scope(session_factory) as s:
        assert s.scalar(select(func.count()).select_from(TherapySession)) == 0


def test_upload_from_an_unknown_device_is_refused_before_the_file_is_read(
    client: TestClient, world: World
) -> None:
    response = client.post(
        "/api/v1/telemetry/recordings",
        headers={"Authorization": "Device exodev_nope"},
        data={"patient_id": world.ids["patient_carlos"]},
        files={"file": ("walk.c3d", b"\x02\x50" + b"\x00" * 600, "application/octet-stream")},
    )
    assert response.status_code == 401, response.text
    assert response.json()["type"].endswith("/device-not-authenticated")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--start", "9999-12-27"], "--start: Value error, 9999-12-27 is outside the supported"),
        (["--start", "2026-13-01"], "--start: Input should be a valid date"),
        (["--start", "2026-12-07", "--weeks", "0"], "--weeks: Input should be greater than"),
        (["--start", "2026-12-07", "--time-limit-s", "nan"], "--time-limit-s: Input should be"),
    ],
)
def test_schedule_command_refuses_bad_options_in_one_line_with_exit_2(
    args: list[str], expected: str
) -> None:
    result = CliRunner().invoke(cli_app, ["schedule", *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {expected}"), lines


@pytest.mark.parametrize("leg", ["nan", "-0.9", "inf", "0"])
def test_analyse_command_refuses_an_impossible_leg_length(tmp_path: Path, leg: str) -> None:
    path = tmp_path / "walk.csv"
    path.write_text("time_s,knee_angle_left_deg\n0,1\n0.01,2\n0.02,3\n")
    result = CliRunner().invoke(cli_app, ["analyse", str(path), "--leg-length-m", leg])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "a leg (floor to greater trochanter) is 0.3 to 1.5 m" in lines[0]
