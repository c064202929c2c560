"""`pgwarden.schema` stays below the domains: snapshots and diffs only, no migrations, no replay."""

from __future__ import annotations

import ast
from pathlib import Path

import pgwarden

ALLOWED = ("pgwarden.schema", "pgwarden.db", "pgwarden.errors", "pgwarden.config", "pgwarden.redact")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_schema_imports_nothing_above_it() -> None:
    folder = Path(pgwarden.__file__).parent / "schema"
    wrong = {
        f"{path.name}: {module}"
        for path in folder.glob("*.py")
        for module in _imports(path)
        if module.startswith("pgwarden") and not module.startswith(ALLOWED)
    }
    assert wrong == set()


def test_replay_and_compare_live_in_check() -> None:
    root = Path(pgwarden.__file__).parent
    assert not (root / "schema" / "drift.py").exists() and not (root / "migrations" / "roundtrip.py").exists()
    assert "pgwarden.migrations" in " ".join(_imports(root / "check" / "drift.py"))
