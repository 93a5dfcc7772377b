#!/usr/bin/env python3
"""Set up and run exoshare from a fresh checkout with nothing but Python 3.11+.

    python3 dev.py demo    # install into .venv, create the demo network, start the web app
    python3 dev.py test    # install into .venv, then lint, type-check and run every test

The first run puts uv (the package manager that reads uv.lock) into a private tool folder and
installs the locked dependencies into .venv; later runs only check that .venv is in sync.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".venv-tools"


def _uv() -> str:
    found = shutil.which("uv")
    if found:
        return found
    bin_dir = TOOLS / ("Scripts" if os.name == "nt" else "bin")
    uv = bin_dir / ("uv.exe" if os.name == "nt" else "uv")
    if not uv.exists():
        print("dev.py: installing uv into .venv-tools/ (first run only)", flush=True)
        venv.EnvBuilder(with_pip=True).create(TOOLS)
        subprocess.run(
            [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "uv>=0.5"], check=True
        )
    return str(uv)


def _run(*args: str) -> int:
    return subprocess.run(list(args), cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 -- this script must run on old Pythons to say so
        print("exoshare needs Python 3.11 or newer", file=sys.stderr)
        return 2
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    uv = _uv()
    if _run(uv, "sync", "--frozen", "--quiet") != 0:
        return 1
    if command == "demo":
        return _run(uv, "run", "--frozen", "exoshare", "demo", *rest)
    for check in (
        ("ruff", "check", "src", "tests", "migrations", "benchmarks", "dev.py"),
        ("mypy",),
    ):
        if _run(uv, "run", "--frozen", *check) != 0:
            return 1
    return _run(uv, "run", "--frozen", "pytest", *_parallel(rest), *rest)


def _parallel(rest: list[str]) -> list[str]:
    """pytest-xdist workers, one per core up to four, unless the caller chose (``-n``, or
    ``-p no:xdist``): the suite is CPU-bound Python, and tests/conftest.py keeps each module on
    one worker."""
    if any(arg.startswith(("-n", "--numprocesses")) or "no:xdist" in arg for arg in rest):
        return []
    workers = min(4, os.cpu_count() or 1)
    return ["-n", str(workers), "--dist", "loadgroup"] if workers > 1 else []


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
