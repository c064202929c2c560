"""Adding empty partitions on a protected database is confirmed, not backed up; dropping partitions is backed up.

``partition maintain`` runs on a schedule (hourly, from the agent): a full verified
backup before each run would protect nothing when the run only creates empty
partitions, and would cost a full dump every hour. Retention that drops partitions
can lose rows, so it still takes the backup first.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from conftest import Project

PREMAKE_ONLY = """
[[partitions]]
table = "audit"
key = "at"
interval = "1 month"
premake = 2
"""

DROPPING = (
    PREMAKE_ONLY
    + """retention = "6 months"
retention_mode = "drop"
"""
)


def _backups(folder: Path) -> int:
    return len([p for p in folder.iterdir() if not p.name.startswith(".")]) if folder.exists() else 0


def _partitioned_audit(project: Project) -> None:
    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE audit (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at)")


def _partitions(db: psycopg.Connection[tuple[object, ...]]) -> int:
    row = db.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'audit'::regclass").fetchone()
    assert row is not None
    return int(str(row[0]))


def test_premake_only_maintain_is_confirmed_without_a_backup(
    project: Project, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    _partitioned_audit(project)
    project.write_config(PREMAKE_ONLY, env_extra="protected = true\nallow_insecure = true")
    folder = project.root / "backups" / "test"
    refused = project.cli("partition", "maintain", check_exit=5)  # no terminal, no --yes: never assumed
    assert "adding empty objects on the protected database of test" in refused.stderr
    assert _partitions(db) == 0
    project.cli("partition", "maintain", "--yes", check_exit=0)
    assert _partitions(db) >= 3  # the current month and two ahead
    assert _backups(folder) == 0
    kinds = [k for (k,) in db.execute("SELECT kind FROM pgwarden.events ORDER BY id").fetchall()]
    assert "backup" not in kinds and "partition.maintain" in kinds


def test_maintain_that_drops_partitions_takes_a_verified_backup_first(
    project: Project, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    _partitioned_audit(project)
    project.write_config(DROPPING, env_extra="protected = true\nallow_insecure = true")
    folder = project.root / "backups" / "test"
    project.cli("partition", "maintain", "--yes", check_exit=0)
    assert _backups(folder) == 1
    kinds = [k for (k,) in db.execute("SELECT kind FROM pgwarden.events ORDER BY id").fetchall()]
    assert kinds.index("backup") < kinds.index("partition.maintain")
