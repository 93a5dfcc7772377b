"""`exoshare serve --workers N`: the embedded broker serves one process, and says what to use."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from exoshare.cli import app as cli_app
from exoshare.config import get_settings


def test_more_than_one_worker_on_the_embedded_broker_is_refused_with_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXOSHARE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("EXOSHARE_MQTT_URL", raising=False)
    # Settings are read once per process: another test's cached settings must not stand in.
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["serve", "--workers", "2"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "--workers 2 needs an external MQTT broker" in said
    assert "EXOSHARE_MQTT_URL" in said and "EXOSHARE_LIVE_RELAY_URL" in said
    assert "--workers 1" in said
    # Refused before anything was started or created.
    assert list(tmp_path.iterdir()) == []
