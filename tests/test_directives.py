"""Directive steps in migration files: parsing, refusals with file:line, and a backfill run by ``migrate up``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from conftest import Project
from pgwarden.errors import MigrationFileError
from pgwarden.sources.native import parse_migration_text


def _parse(text: str) -> Any:
    return parse_migration_text(text, path=Path("migrations/002_x.sql"), version="002", name="x")


def test_directive_is_a_step_in_line_order() -> None:
    migration = _parse(
        "-- pgwarden:phase expand plan=p1\n-- migrate:up transaction:false\n"
        "ALTER TABLE t ADD COLUMN b int;\n"
        "-- pgwarden:backfill table=public.t set='b = a * 2' where='b IS NULL' batch=10\n"
        "CREATE INDEX CONCURRENTLY t_b ON t (b);\n"
    )
    steps = migration.up.statements
    assert [s.kind for s in steps] == ["AlterTableStmt", "Directive", "IndexStmt"]
    assert [s.index for s in steps] == [1, 2, 3]
    assert steps[1].fields == {
        "name": "backfill",
        "args": {"table": "public.t", "set": "b = a * 2", "where": "b IS NULL", "batch": "10"},
    }
    assert migration.phase is not None and (migration.phase.phase, migration.phase.plan) == ("expand", "p1")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-- migrate:up\n-- pgwarden:backfill table=t set='a = 1'\n", "transaction:false"),
        ("-- migrate:up transaction:false\n-- pgwarden:backfil table=t\n", "unknown directive 'pgwarden:backfil'"),
        ("-- migrate:up transaction:false\n-- pgwarden:backfill table=t set='a = 1\n", "cannot read directive"),
        ("-- pgwarden:phase sideways\n-- migrate:up\nSELECT 1;\n", "pgwarden:phase expand"),
    ],
)
def test_bad_directives_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(MigrationFileError) as caught:
        _parse(text)
    assert message in caught.value.message
    assert "migrations/002_x.sql:" in caught.value.message


def test_unknown_directive_argument_stops_migrate_up(project: Project, db: psycopg.Connection[Any]) -> None:
    db.execute("CREATE TABLE t (id int PRIMARY KEY, a int, b int)")
    project.write_migration(
        "001_fill.sql", "-- pgwarden:backfill table=t set='b = a' batchsize=10", up_options="transaction:false"
    )
    result = project.cli("migrate", "up", check_exit=2)
    assert "001_fill.sql:2: pgwarden:backfill has no argument 'batchsize'" in result.stderr
    assert "Traceback" not in result.stderr


def test_backfill_directive_resumes_after_kill_9(project: Project, db: psycopg.Connection[Any]) -> None:
    db.execute("CREATE TABLE t (id int PRIMARY KEY, a int, b int)")
    db.execute("INSERT INTO t (id, a) SELECT g, g FROM generate_series(1, 6000) g")
    project.write_migration(
        "001_fill.sql",
        "ALTER TABLE t ADD COLUMN c int;\n"
        "-- pgwarden:backfill table=t set='b = a * 2' batch=200 sleep=20ms\n"
        "CREATE INDEX CONCURRENTLY t_b ON t (b);",
        up_options="transaction:false",
    )
    env = {**os.environ, "PGWARDEN_CONFIG": str(project.config_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pgwarden.cli.main", "migrate", "up"],
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        exists = db.execute("SELECT to_regclass('pgwarden.backfills') IS NOT NULL").fetchone()
        row = db.execute("SELECT rows_done FROM pgwarden.backfills").fetchone() if exists and exists[0] else None
        if row and row[0] >= 1000:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    half = db.execute("SELECT count(*) FROM t WHERE b IS NOT NULL").fetchone()
    assert half is not None and 0 < half[0] < 6000
    project.cli("migrate", "up", check_exit=0)
    assert db.execute("SELECT count(*) FROM t WHERE b IS DISTINCT FROM a * 2").fetchone() == (0,)
    assert db.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_b'::regclass").fetchone() == (True,)
    status = json.loads(project.cli("migrate", "status", "--json", check_exit=0).stdout)
    assert [m["state"] for m in status["migrations"]] == ["applied"]
