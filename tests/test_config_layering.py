"""Lower layers never import upward: config and the migration file format stand below the domains."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "pgwarden"
DOMAINS = (
    "backup",
    "check",
    "cli",
    "deploy",
    "doctor",
    "lint",
    "migrations",
    "partition",
    "schema",
    "serve",
    "agent",
    "settings",
    "server",
    "devserver",
    "demo",
)

# module (relative to src/pgwarden) -> the pgwarden modules it may import
LOWER_LAYERS = {
    "config.py": ("configfile", "errors", "redact", "units"),
    "configfile.py": ("errors",),
    "units.py": ("errors",),
    "errors.py": (),
    "redact.py": (),
    "paths.py": ("errors",),
    "sources": ("errors", "sources"),
}


def _pgwarden_imports(path: Path) -> set[str]:
    """Every ``pgwarden.<x>`` imported anywhere in the file, function-local imports included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found.update(name.split(".")[1] for name in names if name.startswith("pgwarden.") and "." in name)
    return found


@pytest.mark.parametrize("module", sorted(LOWER_LAYERS))
def test_lower_layer_imports_only_below_itself(module: str) -> None:
    target = SRC / module
    files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
    files = [f for f in files if f.exists()]
    if not files:
        pytest.skip(f"{module} does not exist in this tree")
    allowed = set(LOWER_LAYERS[module])
    for path in files:
        stray = _pgwarden_imports(path) - allowed
        assert not stray, f"{path.relative_to(SRC)} imports {sorted(stray)} (allowed: {sorted(allowed)})"


def test_config_imports_no_domain_package() -> None:
    assert not _pgwarden_imports(SRC / "config.py") & set(DOMAINS)


def test_lint_reads_migration_files_through_sources() -> None:
    for path in sorted((SRC / "lint").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "pgwarden.migrations.files" not in text, f"{path.name} imports the old location"
