"""Exactly once, also when the runner is killed (kill -9) mid-migration and run again at once or later."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from conftest import Project, run_cli

SLEEP = 1.2  # seconds the killed statement runs; the server notices a vanished client within 1 s


def _start(project: Project, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PGWARDEN_CONFIG": str(project.config_path), "NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "pgwarden.cli.main", "migrate", "up", *args],
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(
    db: psycopg.Connection[tuple[object, ...]], pattern: str, *, present: bool = True, limit: float = 30
) -> None:
    """Poll pg_stat_activity until a runner's work backend runs a query like ``pattern`` (or none does)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        row = db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pgwarden:migrate:%%' "
            "AND state = 'active' AND query LIKE %s",
            [pattern],
        ).fetchone()
        if bool(row and row[0]) == present:
            return
        time.sleep(0.05)
    raise AssertionError(f"no runner backend {'ran' if present else 'finished'} {pattern!r} within {limit}s")


def _kill_during(project: Project, db: psycopg.Connection[tuple[object, ...]], pattern: str) -> None:
    runner = _start(project)
    try:
        _wait_for(db, pattern)
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=30)


def _rerun(
    project: Project,
    db: psycopg.Connection[tuple[object, ...]],
    pattern: str,
    *,
    delayed: bool,
    terminate: bool = False,
) -> subprocess.CompletedProcess[str]:
    if delayed:
        _wait_for(db, pattern, present=False)
    args = ["migrate", "up", *(["--terminate-orphans"] if terminate else [])]
    return run_cli(*args, cwd=project.root, env={"PGWARDEN_CONFIG": str(project.config_path)}, timeout=120)


# (orphan may commit, delayed rerun): the orphan commits when its statement switches off the server's
# check for a vanished client, else the server aborts it; the rerun starts at once or after the orphan ended.
CASES = [
    (False, False),
    (False, True),
    (True, False),
    (True, True),
    (False, False),
    (True, False),
    (False, True),
    (True, True),
    (True, False),
    (False, False),
]


def test_killed_runner_applies_each_migration_once_ten_times(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    db.execute("CREATE TABLE applied_log (v text)")
    db.execute("CREATE TABLE counter (v text PRIMARY KEY, n int NOT NULL DEFAULT 0)")
    for i, (orphan_commits, delayed) in enumerate(CASES, start=1):
        version = f"{i:03d}"
        db.execute("INSERT INTO counter VALUES (%s, 0)", [version])
        keep_going = "SET LOCAL client_connection_check_interval = 0;\n" if orphan_commits else ""
        project.write_migration(
            f"{version}_step.sql",
            f"{keep_going}INSERT INTO applied_log(v) VALUES ('{version}');\n"
            f"SELECT pg_sleep({SLEEP});\n"
            f"UPDATE counter SET n = n + 1 WHERE v = '{version}';",
        )
        _kill_during(project, db, "%pg_sleep%")
        result = _rerun(project, db, "%pg_sleep%", delayed=delayed)
        assert result.returncode == 0, (i, result.stderr)
        assert "Traceback" not in result.stderr
        logged = db.execute("SELECT count(*) FROM applied_log WHERE v = %s", [version]).fetchone()
        counted = db.execute("SELECT n FROM counter WHERE v = %s", [version]).fetchone()
        history = db.execute(
            "SELECT count(*), min(status) FROM pgwarden.migrations WHERE version = %s", [version]
        ).fetchone()
        case = f"run {i}: orphan {'commits' if orphan_commits else 'aborted'}, {'delayed' if delayed else 'at once'}"
        assert logged == (1,), case
        assert counted == (1,), case
        assert history == (1, "applied"), case


def test_killed_non_transactional_statement_is_not_run_twice(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    db.execute("CREATE TABLE applied_log (v text)")
    project.write_migration(
        "001_steps.sql",
        "SET client_connection_check_interval = 0;\n"  # the orphan finishes its statement and commits it
        "INSERT INTO applied_log VALUES ('s2');\n"
        f"INSERT INTO applied_log SELECT 's3' FROM pg_sleep({SLEEP});\n"
        "INSERT INTO applied_log VALUES ('s4');",
        up_options="transaction:false",
    )
    _kill_during(project, db, "%pg_sleep%")
    result = _rerun(project, db, "%pg_sleep%", delayed=False)
    assert result.returncode == 0, result.stderr
    rows = sorted(r[0] for r in db.execute("SELECT v FROM applied_log").fetchall())
    assert rows == ["s2", "s3", "s4"]
    assert db.execute("SELECT status, statements_done FROM pgwarden.migrations").fetchone() == ("applied", 4)


def _slow_index_table(db: psycopg.Connection[tuple[object, ...]]) -> None:
    db.execute("CREATE TABLE items (id int)")
    db.execute("INSERT INTO items SELECT g FROM generate_series(1, 60) g")
    db.execute(
        "CREATE FUNCTION slow_key(x int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_sleep(0.03); RETURN x; END $$"
    )


@pytest.mark.parametrize("delayed", [False, True], ids=["rerun-at-once", "rerun-later"])
def test_killed_concurrent_index_build_is_checked_in_the_catalog(project: Project, db, delayed: bool) -> None:  # type: ignore[no-untyped-def]
    _slow_index_table(db)
    project.write_migration(
        "001_index.sql",
        "CREATE INDEX CONCURRENTLY items_slow_idx ON items (slow_key(id));\n"
        "CREATE INDEX CONCURRENTLY items_id_idx ON items (id);",
        "DROP INDEX CONCURRENTLY items_id_idx;\nDROP INDEX CONCURRENTLY items_slow_idx;",
        up_options="transaction:false",
        down_options="transaction:false",
    )
    _kill_during(project, db, "CREATE INDEX CONCURRENTLY items_slow_idx%")
    result = _rerun(project, db, "CREATE INDEX CONCURRENTLY items_slow_idx%", delayed=delayed)
    assert result.returncode == 0, result.stderr
    indexes = db.execute(
        "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = 'items'::regclass ORDER BY 1"
    ).fetchall()
    assert indexes == [("items_id_idx", True), ("items_slow_idx", True)]
    assert db.execute("SELECT status, statements_done FROM pgwarden.migrations").fetchone() == ("applied", 2)


def test_orphan_is_ended_with_terminate_orphans(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_config('runner_lock_timeout = "30s"\n')
    db.execute("CREATE TABLE applied_log (v text)")
    db.execute("CREATE TABLE sleep_for (s float8)")
    db.execute("INSERT INTO sleep_for VALUES (600)")
    project.write_migration(
        "001_long.sql",
        "SET LOCAL client_connection_check_interval = 0;\n"
        "INSERT INTO applied_log SELECT 'x' FROM pg_sleep((SELECT s FROM sleep_for));",
    )
    _kill_during(project, db, "%pg_sleep%")
    db.execute("UPDATE sleep_for SET s = 0")  # the rerun's own statement is quick; the orphan sleeps on
    result = _rerun(project, db, "%pg_sleep%", delayed=False, terminate=True)
    assert result.returncode == 0, result.stderr
    assert "ending them (--terminate-orphans)" in result.stderr
    assert db.execute("SELECT count(*) FROM applied_log").fetchone() == (1,)
    assert db.execute("SELECT status FROM pgwarden.migrations").fetchone() == ("applied",)


def test_unknown_outcome_is_reported_with_choices(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_migration(
        "001_vac.sql", "CREATE TABLE t (id int);\nANALYZE t;\nCREATE TABLE u (id int);", up_options="transaction:false"
    )
    project.cli("migrate", "up", check_exit=0)
    # Simulate a runner killed inside a statement that runs alone and that the catalog cannot judge.
    db.execute("CREATE TABLE v (id int)")
    project.write_migration(
        "002_sys.sql", "CREATE TABLE w (id int);\nALTER SYSTEM SET work_mem = '4MB';", up_options="transaction:false"
    )
    db.execute(
        "INSERT INTO pgwarden.migrations (version, name, checksum, applied_by, transactional, status, "
        "statements_done, statements_total, run_id) VALUES ('002', 'sys', 'x', 'test', false, 'running', 1, "
        "2, 'dead')"
    )
    db.execute("CREATE TABLE w (id int)")
    # the first statement is recorded as done, so its checksum must be on the row
    from pgwarden.sources import discover, statement_checksum

    first = discover(project.migrations)[1].up.statements[0]
    db.execute(
        "UPDATE pgwarden.migrations SET statement_checksums = ARRAY[%s] WHERE version = '002'",
        [statement_checksum(first)],
    )
    status = project.cli("migrate", "status", check_exit=1)
    assert "repair --ran 002" in status.stdout.replace("\n", " ") or "repair --ran" in status.stdout
    result = project.cli("migrate", "up", check_exit=1)
    assert "statement 2: outcome unknown" in result.stderr
    assert "--ran 002" in result.stderr and "--not-ran 002" in result.stderr
    repaired = project.cli("migrate", "repair", "--ran", "002", check_exit=0)
    assert "002: keeps statements 1-2 as done" in repaired.stdout
    project.cli("migrate", "up", check_exit=0)
    assert db.execute("SELECT status, statements_done FROM pgwarden.migrations WHERE version = '002'").fetchone() == (
        "applied",
        2,
    )
