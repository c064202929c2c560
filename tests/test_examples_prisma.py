"""examples/prisma_env_guide: a Prisma project as Prisma writes it, run by ``pgwarden migrate`` against a database."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import psycopg
import pytest

from conftest import run_cli

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "prisma_env_guide"
MIGRATIONS = ["20240115093000_init", "20240301120000_add_projects"]


def _copy(tmp_path: Path, db_url: str) -> Path:
    """The example in a temporary folder, its ``dev`` environment pointed at the test's database."""
    root = tmp_path / "prisma_env_guide"
    shutil.copytree(EXAMPLE, root)
    config = root / "pgwarden.toml"
    text = config.read_text(encoding="utf-8")
    assert 'url = "embedded"' in text
    config.write_text(text.replace('url = "embedded"', f'url = "{db_url}"'), encoding="utf-8")
    return root


def _status(root: Path) -> list[tuple[str, str]]:
    result = run_cli("migrate", "status", "--json", cwd=root, env={"PGWARDEN_CONFIG": str(root / "pgwarden.toml")})
    assert result.returncode == 0, (result.stdout, result.stderr)
    return [(m["version"], m["state"]) for m in json.loads(result.stdout)["migrations"]]


def test_prisma_example_status_and_up(tmp_path: Path, db_url: str, db: psycopg.Connection[Any]) -> None:
    root = _copy(tmp_path, db_url)
    versions = [name.split("_", 1)[0] for name in MIGRATIONS]
    assert _status(root) == [(v, "pending") for v in versions]

    result = run_cli("migrate", "up", cwd=root, env={"PGWARDEN_CONFIG": str(root / "pgwarden.toml")})
    assert result.returncode == 0, (result.stdout, result.stderr)

    rows = db.execute(
        "SELECT migration_name, checksum, finished_at IS NOT NULL, applied_steps_count, "
        "rolled_back_at, logs FROM _prisma_migrations ORDER BY migration_name"
    ).fetchall()
    expected = [
        (
            name,
            hashlib.sha256((root / "prisma/migrations" / name / "migration.sql").read_bytes()).hexdigest(),
            True,
            1,
            None,
            None,
        )
        for name in MIGRATIONS
    ]
    assert rows == expected
    assert _status(root) == [(v, "applied") for v in versions]
    # the schema Prisma expects: the foreign key from projects to users, the enum default
    db.execute("INSERT INTO users (email) VALUES ('ana@example.com')")
    db.execute("INSERT INTO projects (name, owner_id, updated_at) SELECT 'p', id, now() FROM users")
    assert db.execute(
        "SELECT u.role::text, p.archived FROM projects p JOIN users u ON u.id = p.owner_id"
    ).fetchall() == [("MEMBER", False)]
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        db.execute("INSERT INTO projects (name, owner_id, updated_at) VALUES ('q', 999, now())")
