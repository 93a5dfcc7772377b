"""File import (CSV, OpenSim .mot, C3D), the CLI commands, and the scoped, audited session page."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from exoshare.auth.models import AuditEvent
from exoshare.cli import app as cli_app
from exoshare.config import Settings
from exoshare.db import make_engine, make_sessionmaker, session_scope
from exoshare.errors import FileImportError
from exoshare.telemetry import credentials, imports
from exoshare.telemetry.files import read_recording
from exoshare.telemetry.models import TelemetrySession
from exoshare.telemetry.store import RawStore
from tests.telemetry.helpers import SERIAL, simulated_angles
from tests.world import build_world, token

N = 3000


def _csv(path: Path, rows: int = N) -> Path:
    angles = simulated_angles(rows)
    lines = ["time,Knee L,Knee R,Hip L,Hip R"] + [
        f"{k / 100:.2f},{angles['knee_angle_left_deg'][k]:.3f},"
        f"{angles['knee_angle_right_deg'][k]:.3f},{angles['hip_angle_left_deg'][k]:.3f},"
        f"{angles['hip_angle_right_deg'][k]:.3f}"
        for k in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


MAP = {
    "Knee L": "knee_angle_left_deg",
    "Knee R": "knee_angle_right_deg",
    "Hip L": "hip_angle_left_deg",
    "Hip R": "hip_angle_right_deg",
}


def test_csv_with_mapping_reads_the_expected_channels(tmp_path: Path) -> None:
    imported = read_recording(_csv(tmp_path / "walk.csv"), MAP)
    rec = imported.recording
    assert sorted(rec.channels) == sorted(MAP.values())
    assert rec.sampling_rate_hz == pytest.approx(100.0) and rec.n_samples == N
    expected = simulated_angles(N)["knee_angle_left_deg"][10]
    assert rec.channels["knee_angle_left_deg"][10] == pytest.approx(expected, abs=5e-4)


def test_bad_csv_errors_name_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("time,Knee L\n0.00,10\n0.01,abc\n0.02,12\n")
    with pytest.raises(FileImportError, match=r'bad.csv line 3, column 2 "Knee L": \'abc\''):
        read_recording(path, {"Knee L": "knee_angle_left_deg"})
    path.write_text("time,Knee L\n0.00,10\n0.01,400\n0.02,12\n")
    with pytest.raises(FileImportError, match=r"bad\.csv line 3: channel knee_angle_left_deg") as e:
        read_recording(path, {"Knee L": "knee_angle_left_deg"})
    assert e.value.code == "out-of-range"
    path.write_text("time,Knee L\n0.00,10\n0.01,11\n0.01,12\n")
    with pytest.raises(FileImportError, match=r"bad\.csv line 4") as e:
        read_recording(path, {"Knee L": "knee_angle_left_deg"})
    assert e.value.code == "duplicate-timestamps"
    with pytest.raises(FileImportError, match='column 2 "Knee L": not a known channel'):
        read_recording(path)


def test_opensim_mot_in_radians_becomes_degrees(tmp_path: Path) -> None:
    t = np.arange(200) / 100
    knee = np.radians(20 + 10 * np.sin(2 * np.pi * t))
    header = "walk\nversion=1\nnRows=200\nnColumns=4\ninDegrees=no\nendheader\n"
    rows = "\n".join(f"{a:.2f}\t{b:.6f}\t{-b:.6f}\t0.5" for a, b in zip(t, knee, strict=True))
    path = tmp_path / "walk.mot"
    path.write_text(header + "time\tknee_angle_r\tknee_angle_l\tpelvis_tx\n" + rows + "\n")
    imported = read_recording(path, {"knee_angle_l": "-knee_angle_left_deg"})
    rec = imported.recording
    assert sorted(rec.channels) == ["knee_angle_left_deg", "knee_angle_right_deg"]
    assert rec.channels["knee_angle_right_deg"][25] == pytest.approx(30.0, abs=1e-3)
    assert rec.channels["knee_angle_left_deg"][25] == pytest.approx(30.0, abs=1e-3)
    assert imported.ignored_columns == ["pelvis_tx"]


def test_c3d_plug_in_gait_angles(tmp_path: Path) -> None:
    import ezc3d

    c3d = ezc3d.c3d()
    c3d["parameters"]["POINT"]["RATE"]["value"] = [100.0]
    c3d["parameters"]["POINT"]["LABELS"]["value"] = ("LKneeAngles", "RKneeAngles", "LASI")
    frames = 300
    points = np.zeros((4, 3, frames))
    points[0, 0, :] = np.linspace(0, 60, frames)
    points[0, 1, :] = 25.0
    points[3, :, :] = 1
    c3d["data"]["points"] = points
    path = tmp_path / "trial.c3d"
    c3d.write(str(path))
    imported = read_recording(path)
    rec = imported.recording
    assert sorted(rec.channels) == ["knee_angle_left_deg", "knee_angle_right_deg"]
    assert rec.sampling_rate_hz == 100.0 and rec.n_samples == frames
    assert rec.channels["knee_angle_left_deg"][-1] == pytest.approx(60.0)
    assert "LASI" in imported.ignored_columns


def test_import_command_stores_sessions_and_bad_files_store_nothing(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    world = build_world(factory)
    monkeypatch.setenv("EXOSHARE_DATABASE_URL", settings.resolved_database_url())
    monkeypatch.setenv("EXOSHARE_DATA_DIR", str(settings.data_dir))
    from exoshare.config import get_settings

    get_settings.cache_clear()
    good = _csv(tmp_path / "good.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("time,Knee L,Knee R,Hip L,Hip R\n0,1,1,1,1\n0.01,1,1,1,900\n0.02,1,1,1,1\n")
    maps = [arg for pair in MAP.items() for arg in ("--map", "=".join(pair))]
    args = ["import", str(good), str(bad), "--device", SERIAL, "--patient"]
    result = CliRunner().invoke(cli_app, [*args, world.ids["patient_carlos"], *maps])
    get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert "bad.csv line 3: channel hip_angle_right_deg" in result.output
    with session_scope(factory) as s:
        sessions = s.scalars(select(TelemetrySession)).all()
        assert [(x.source_file, x.n_samples, x.status.value) for x in sessions] == [
            ("good.csv", N, "ended")
        ]
        assert sessions[0].cadence_steps_per_min == pytest.approx(110.0, abs=8.0)
    factory.kw["bind"].dispose()


def test_analyse_command_prints_json(tmp_path: Path) -> None:
    path = _csv(tmp_path / "walk.csv")
    maps = [arg for pair in MAP.items() for arg in ("--map", "=".join(pair))]
    result = CliRunner().invoke(cli_app, ["analyse", str(path), "--json", *maps])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["cadence_steps_per_min"] == pytest.approx(110.0, abs=8.0)
    assert summary["duration_s"] == pytest.approx(30.0)


def test_session_page_is_scoped_and_audited(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    factory: sessionmaker[Session] = make_sessionmaker(
        make_engine(settings.resolved_database_url())
    )
    world = build_world(factory)
    store = RawStore(settings.resolved_telemetry_url())
    recording = read_recording(_csv(tmp_path / "walk.csv"), MAP).recording
    with session_scope(factory) as s:
        unit = credentials.unit_by_serial(s, SERIAL)
        record = imports.import_recording(
            s, store, unit, world.ids["patient_carlos"], recording, source="import"
        )
        session_id = record.id
    madrid = token(client, world, "therapist_madrid")
    page = client.get(f"/sessions/{session_id}", headers=madrid)
    assert page.status_code == 200
    assert page.text.count('<figure class="chart"') == 4  # hip and knee traces, hip and knee cycles
    assert "event-ic" in page.text and "sd-band" in page.text
    listing = client.get(f"/patients/{world.ids['patient_carlos']}/sessions", headers=madrid)
    assert f'href="/sessions/{session_id}"' in listing.text
    api = client.get(f"/api/v1/telemetry/sessions/{session_id}", headers=madrid)
    assert api.json()["step_count"] == record.step_count
    barcelona = token(client, world, "therapist_barcelona")
    assert client.get(f"/sessions/{session_id}", headers=barcelona).status_code == 404
    assert (
        client.get(f"/api/v1/telemetry/sessions/{session_id}/samples", headers=barcelona)
    ).status_code == 404
    with session_scope(factory) as s:
        reads = s.scalars(
            select(AuditEvent.entity).where(
                AuditEvent.entity_id == session_id,
                AuditEvent.user_id == world.ids["therapist_madrid"],
            )
        ).all()
        denied = s.scalars(
            select(AuditEvent).where(
                AuditEvent.user_id == world.ids["therapist_barcelona"],
                AuditEvent.entity_id == session_id,
            )
        ).all()
    assert sorted(reads) == ["telemetry_samples", "telemetry_session", "telemetry_session"]
    assert denied == []
    factory.kw["bind"].dispose()
