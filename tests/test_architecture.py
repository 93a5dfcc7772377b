"""The import rules of docs/architecture.md, checked with import-linter over the whole package.

The contracts live in pyproject.toml ([tool.importlinter]): capabilities are layers (no two
depend on each other), a capability's tables are touched only by its own code (others call
its service), and the numeric cores import no web framework or database. ``lint-imports``
runs the same check by hand; on failure the report below names every offending import.
"""

from __future__ import annotations

from pathlib import Path

from importlinter.application.use_cases import SUCCESS, lint_imports
from importlinter.configuration import configure

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_the_import_graph_keeps_every_contract() -> None:
    configure()  # import-linter's readers and graph builder, as its command line sets them up
    assert lint_imports(str(PYPROJECT), cache_dir=None, no_logo=True) == SUCCESS
