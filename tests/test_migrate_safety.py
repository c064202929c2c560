"""Reliability of the migration engine: concurrency, failures, lock queues, kill -9, checksums."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import psycopg
import pytest

from conftest import Project, run_cli
from helpers import backend_waiting_for_lock, wait_until
from helpers import public_tables as _tables


def test_eight_concurrent_runners_apply_each_migration_once(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    db.execute("CREATE TABLE applied_log (version text)")
    for i in range(1, 7):
        project.write_migration(
            f"{i:03d}_m{i}.sql",
            f"CREATE TABLE t{i} (id int);\nINSERT INTO applied_log VALUES ('{i:03d}');\nSELECT pg_sleep(0.05);",
            f"DROP TABLE t{i};",
        )
    env = {**os.environ, "PGWARDEN_CONFIG": str(project.config_path), "NO_COLOR": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "pgwarden.cli.main", "migrate", "up", "--json"],
            cwd=project.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, outputs
    applied_counts = db.execute("SELECT version, count(*) FROM applied_log GROUP BY 1 ORDER BY 1").fetchall()
    assert applied_counts == [(f"{i:03d}", 1) for i in range(1, 7)]
    total_steps = sum(len(json.loads(out)["steps"]) for out, _ in outputs)
    assert total_steps == 6
    assert db.execute("SELECT count(*) FROM pgwarden.migrations WHERE status = 'applied'").fetchone() == (6,)


def test_failure_half_way_leaves_nothing(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_migration("001_ok.sql", "CREATE TABLE ok (id int);", "DROP TABLE ok;")
    project.write_migration(
        "002_bad.sql",
        "CREATE TABLE half (id int);\nCREATE INDEX half_idx ON half (id);\n"
        "INSERT INTO half VALUES (1);\nALTER TABLE half ADD COLUMN id int;",
        "DROP TABLE half;",
    )
    result = project.cli("migrate", "up")
    assert result.returncode == 1
    assert "002_bad.sql:5" in result.stderr and "statement 4 of 4" in result.stderr
    assert "Traceback" not in result.stderr
    assert _tables(db) == {"ok"}
    assert db.execute("SELECT count(*) FROM pg_class WHERE relname = 'half_idx'").fetchone() == (0,)
    assert db.execute("SELECT version FROM pgwarden.migrations").fetchall() == [("001",)]


def test_non_transactional_failure_recorded_at_statement_k_then_resumed(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    db.execute("CREATE TABLE items (id int, code text)")
    db.execute("INSERT INTO items VALUES (1, 'a'), (2, 'a')")
    project.write_migration(
        "001_idx.sql",
        "CREATE INDEX CONCURRENTLY items_id_idx ON items (id);\n"
        "CREATE UNIQUE INDEX CONCURRENTLY items_code_key ON items (code);\n"
        "CREATE INDEX CONCURRENTLY items_both_idx ON items (id, code);",
        "DROP INDEX CONCURRENTLY items_code_key;",
        up_options="transaction:false",
    )
    result = project.cli("migrate", "up")
    assert result.returncode == 1
    assert "statement 2 of 3" in result.stderr
    assert "INVALID index public.items_code_key" in result.stderr and ";;" not in result.stderr
    row = db.execute("SELECT status, statements_done FROM pgwarden.migrations WHERE version = '001'").fetchone()
    assert row == ("failed", 1)
    invalid = db.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid"
    ).fetchall()
    assert invalid == [("items_code_key",)]
    status = json.loads(project.cli("migrate", "status", "--json").stdout)
    assert status["migrations"][0]["state"] == "failed"

    # The documented next step: fix the data, run up again: the INVALID index is dropped and rebuilt,
    # the run resumes at statement 2.
    db.execute("UPDATE items SET code = 'b' WHERE id = 2")
    doc = json.loads(project.cli("migrate", "up", "--json", check_exit=0).stdout)
    assert doc["steps"][0]["resumed_at"] == 2
    indexes = {r[0] for r in db.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'items'").fetchall()}
    assert indexes == {"items_id_idx", "items_code_key", "items_both_idx"}
    assert db.execute("SELECT status, statements_done FROM pgwarden.migrations").fetchone() == ("applied", 3)
    assert not db.execute("SELECT 1 FROM pg_index WHERE NOT indisvalid").fetchall()


def test_lock_queue_outage_is_bounded_and_gives_up_with_exit_4(project: Project, db, db_url: str) -> None:  # type: ignore[no-untyped-def]
    db.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int)")
    db.execute("INSERT INTO accounts SELECT g, 0 FROM generate_series(1, 100) g")
    project.write_config(lock_timeout="200ms", retries=2)
    project.write_migration(
        "001_alter.sql", "ALTER TABLE accounts ADD COLUMN note text;", "ALTER TABLE accounts DROP COLUMN note;"
    )

    holder = psycopg.connect(db_url)
    holder.execute("SELECT * FROM accounts WHERE id = 1 FOR UPDATE")  # ROW SHARE lock: blocks ACCESS EXCLUSIVE

    worst_read = 0.0
    stop = threading.Event()

    def reader() -> None:
        nonlocal worst_read
        with psycopg.connect(db_url, autocommit=True) as conn:
            while not stop.is_set():
                started = time.monotonic()
                conn.execute("SELECT count(*) FROM accounts").fetchone()
                worst_read = max(worst_read, time.monotonic() - started)
                time.sleep(0.01)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        started = time.monotonic()
        result = project.cli("migrate", "up")
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join()
        holder.rollback()
        holder.close()
    assert result.returncode == 4, result.stderr
    assert "retry 1" in result.stderr and "retry 2" in result.stderr
    holder_pid_mentioned = "FOR UPDATE" in result.stderr
    assert holder_pid_mentioned, result.stderr
    assert elapsed < 30
    # Readers queue behind the waiting ALTER at most for the lock timeout, never for the whole transaction.
    assert worst_read < 1.0, worst_read
    assert db.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'note'"
    ).fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM pgwarden.migrations").fetchone() == (0,)


def test_naive_alter_blocks_readers_for_the_whole_transaction(db, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """The outage pgwarden prevents: without lock_timeout, readers queue behind the ALTER."""
    db.execute("CREATE TABLE accounts (id int PRIMARY KEY)")

    def run(query: str) -> None:
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(query)

    with psycopg.connect(db_url) as holder:
        holder.execute("SELECT * FROM accounts FOR UPDATE")
        alter = threading.Thread(target=run, args=("ALTER TABLE accounts ADD COLUMN note text",))
        alter.start()
        wait_until(lambda: backend_waiting_for_lock(db, "ALTER TABLE accounts%"), what="ALTER waiting for its lock")
        reader = threading.Thread(target=run, args=("SELECT count(*) FROM accounts",))
        reader.start()
        # the plain SELECT queues behind the waiting ALTER, not behind the row locks it could share
        wait_until(lambda: backend_waiting_for_lock(db, "SELECT count(*) FROM accounts%"), what="reader queued")
        alter_pid = backend_waiting_for_lock(db, "ALTER TABLE accounts%")
        reader_pid = backend_waiting_for_lock(db, "SELECT count(*) FROM accounts%")
        blockers = db.execute("SELECT pg_blocking_pids(%s)", [reader_pid]).fetchone()[0]
        assert alter_pid in blockers
        holder.rollback()
    reader.join(timeout=30)
    alter.join(timeout=30)
    assert not reader.is_alive() and not alter.is_alive()


def test_kill_9_mid_migration_then_status_and_up_complete(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_migration("001_a.sql", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.write_migration("002_slow.sql", "CREATE TABLE slow (id int);\nSELECT pg_sleep(30);", "DROP TABLE slow;")
    env = {**os.environ, "PGWARDEN_CONFIG": str(project.config_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pgwarden.cli.main", "migrate", "up"],
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' "
            "AND state = 'active' AND pid <> pg_backend_pid()"
        ).fetchone()
        if row and row[0]:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the migration never started")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # The server notices the dead client on its next write; terminate explicitly like a TCP keepalive would.
    db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' "
        "AND pid <> pg_backend_pid()"
    )
    status = json.loads(project.cli("migrate", "status", "--json").stdout)
    assert {m["version"]: m["state"] for m in status["migrations"]} == {"001": "applied", "002": "pending"}
    assert "slow" not in _tables(db)
    project.write_migration("002_slow.sql", "CREATE TABLE slow (id int);", "DROP TABLE slow;")
    project.cli("migrate", "up", check_exit=0)
    assert _tables(db) == {"a", "slow"}


def test_checksum_ignores_line_endings_but_not_edits(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    path = project.write_migration("001_a.sql", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.cli("migrate", "up", check_exit=0)
    path.write_bytes(path.read_bytes().replace(b"\n", b"  \r\n") + b"\r\n\r\n")
    project.cli("migrate", "status", check_exit=0)
    path.write_text(path.read_text().replace("id int", "id bigint"))
    project.write_migration("002_b.sql", "CREATE TABLE b (id int);", "DROP TABLE b;")
    status = project.cli("migrate", "status", "--json")
    assert status.returncode == 1
    assert json.loads(status.stdout)["migrations"][0]["state"] == "changed"
    up = project.cli("migrate", "up")
    assert up.returncode == 1 and "001_a" in up.stderr and "repair" in up.stderr
    assert "b" not in _tables(db)
    project.cli("migrate", "repair", check_exit=0)
    project.cli("migrate", "up", check_exit=0)
    assert _tables(db) == {"a", "b"}


def test_down_refused_without_down_section(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_migration("001_a.sql", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.write_migration("002_b.sql", "CREATE TABLE b (id int);")
    project.cli("migrate", "up", check_exit=0)
    result = project.cli("migrate", "down", "--steps", "2")
    assert result.returncode == 5 and "002_b.sql" in result.stderr and "no down section" in result.stderr
    assert _tables(db) == {"a", "b"}


def test_baseline_adopts_existing_database(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    db.execute("CREATE TABLE legacy (id int)")
    project.write_migration("001_legacy.sql", "CREATE TABLE legacy (id int);", "DROP TABLE legacy;")
    project.write_migration("002_new.sql", "CREATE TABLE fresh (id int);", "DROP TABLE fresh;")
    project.cli("migrate", "baseline", "--version", "001", check_exit=0)
    doc = json.loads(project.cli("migrate", "up", "--json", check_exit=0).stdout)
    assert [s["version"] for s in doc["steps"]] == ["002"]
    assert _tables(db) == {"legacy", "fresh"}
    again = project.cli("migrate", "baseline", "--version", "002")
    assert again.returncode == 5


@pytest.mark.parametrize(
    ("filename", "content", "expected"),
    [
        ("001_bad.sql", "-- migrate:up\nCREATE TABLE a (id int);\nCREAT TABLE b (id int);\n", "001_bad.sql:3"),
        ("001_noup.sql", "CREATE TABLE a (id int);\n", "001_noup.sql:1"),
        ("001_nomarker.sql", "-- just a comment\n", "no '-- migrate:up' section"),
        ("001_txn.sql", "-- migrate:up\nBEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\n", "001_txn.sql:2"),
        ("bad-name.sql", "-- migrate:up\nSELECT 1;\n", "bad-name.sql: file name"),
    ],
)
def test_bad_migration_files_exit_2_with_file_and_line(
    project: Project,
    db,
    filename: str,
    content: str,  # type: ignore[no-untyped-def]
    expected: str,
) -> None:
    (project.migrations / filename).write_text(content)
    result = project.cli("migrate", "up")
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert db.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'pgwarden'").fetchone() == (0,)


def test_duplicate_versions_exit_2(project: Project) -> None:
    project.write_migration("001_a.sql", "SELECT 1;")
    project.write_migration("1_b.sql", "SELECT 1;")
    result = project.cli("migrate", "status")
    assert result.returncode == 2 and "duplicate version" in result.stderr


@pytest.mark.parametrize(
    ("config_text", "expected"),
    [
        ('[environments.test]\nurl = "embedded"\nprotectd = true\n', "environments.test.protectd"),
        ('[environments.test]\nurl = "${PGWARDEN_TEST_UNSET_VAR}"\n', "environments.test.url: environment variable"),
        ('[migrate]\nlock_timeout = "soon"\n', "migrate.lock_timeout"),
        ("[environments.test\nurl = 1\n", "not valid TOML"),
        ('[environments.test]\nurl = "embedded"\nprotected = "maybe"\n', "environments.test.protected"),
    ],
)
def test_bad_config_exits_2_naming_key(tmp_path, config_text: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "pgwarden.toml"
    config.write_text('default_env = "test"\n' + config_text)
    (tmp_path / "migrations").mkdir()
    result = run_cli("migrate", "status", cwd=tmp_path, env={"PGWARDEN_CONFIG": str(config)})
    assert result.returncode == 2, result.stderr
    assert str(config) in result.stderr and expected in result.stderr
    assert "Traceback" not in result.stderr


def test_password_never_printed(tmp_path, pg_server, project: Project) -> None:  # type: ignore[no-untyped-def]
    secret = "S3cr3t-Pa55"
    host = str(pg_server.socket_dir)
    project.write_config(env_extra="")
    config = project.config_path.read_text().replace(
        f'url = "{project.url}"', f'url = "postgresql://postgres:{secret}@/nosuchdb?host={host}&port=5432"'
    )
    project.config_path.write_text(config)
    project.write_migration("001_a.sql", "SELECT 1;")
    for args in (["migrate", "status"], ["migrate", "up", "--json"], ["migrate", "history"]):
        result = project.cli(*args)
        assert result.returncode == 3, result.stderr
        assert secret not in result.stdout + result.stderr
        assert "***" in result.stderr


def test_down_on_protected_env_needs_confirmation(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_migration("001_a.sql", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.cli("migrate", "up", check_exit=0)
    project.write_config(env_extra="protected = true\nallow_insecure = true")
    refused = project.cli("migrate", "down")
    assert refused.returncode == 5 and "--yes" in refused.stderr
    assert _tables(db) == {"a"}
    project.cli("migrate", "down", "--yes", check_exit=0)
    assert _tables(db) == set()
