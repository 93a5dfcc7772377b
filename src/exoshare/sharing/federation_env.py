"""The federation's own environment: found, synced and run as a subprocess.

Flower pins older FastAPI, Starlette, Uvicorn and Typer than exoshare's web stack, so it lives in
``federation/`` with its own ``pyproject.toml`` and ``uv.lock`` (docs/sharing.md). exoshare talks
to it through files: the run directory in, JSON and npz out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from exoshare.errors import FederationUnavailable

PROJECT = Path(__file__).resolve().parents[3] / "federation"
"""The federation project of this checkout (exoshare runs from a source tree, as dev.py does)."""


def uv() -> str:
    """uv as dev.py finds it: the one running us (``uv run`` sets UV), on PATH, or dev.py's
    private copy in .venv-tools/."""
    candidates = [os.environ.get("UV"), shutil.which("uv")]
    candidates.append(str(PROJECT.parent / ".venv-tools" / "bin" / "uv"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise FederationUnavailable(
        "uv was not found: run `python3 dev.py test` once (it installs uv into .venv-tools/) "
        "or put uv on PATH"
    )


def ensure() -> str:
    """Sync the federation environment from its lock (fast when already in sync); uv's path."""
    if not (PROJECT / "uv.lock").is_file():
        raise FederationUnavailable(f"the federation project is missing at {PROJECT}")
    found = uv()
    done = subprocess.run(
        [found, "sync", "--frozen", "--quiet", "--project", str(PROJECT)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise FederationUnavailable(
            "the federation environment could not be created (is the package index reachable?): "
            + done.stderr.strip()[-500:]
        )
    return found


def run_python(*args: str, on_line: Callable[[str], None] | None = None) -> str:
    """Run ``python args`` in the federation environment, each output line passed to
    ``on_line``; the output. A failure raises FederationUnavailable with its end."""
    found = ensure()
    command = [found, "run", "--frozen", "--no-sync", "--project", str(PROJECT), "python", *args]
    lines: list[str] = []
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "RAY_DISABLE_USAGE_STATS": "1", "RAY_USAGE_STATS_ENABLED": "0"},
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if on_line is not None:
                on_line(line)
    if process.returncode != 0:
        raise FederationUnavailable(
            f"{' '.join(args[:2])} failed (exit {process.returncode}): "
            + "".join(lines[-20:])[-1500:]
        )
    return "".join(lines)
