"""`pgwarden deploy` when things go wrong: a failing migration, a lock held by a long transaction."""

from __future__ import annotations

import json
import threading
import time

import psycopg

from conftest import Project


def test_failing_migration_keeps_earlier_ones_and_prints_ways_back(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_migration(
        "001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text);", "DROP TABLE users;"
    )
    project.cli("migrate", "up", check_exit=0)
    project.write_config(env_extra="protected = true\nallow_insecure = true")
    db.execute("INSERT INTO users VALUES (1, 'a@example.com')")
    project.write_migration("002_orders.sql", "CREATE TABLE orders (id bigint PRIMARY KEY);", "DROP TABLE orders;")
    project.write_migration(
        "003_broken.sql", "CREATE TABLE notes (id bigint);\nALTER TABLE nowhere ADD COLUMN x int;", "DROP TABLE notes;"
    )

    result = project.cli("deploy", "--yes", check_exit=1)
    assert "003_broken" in result.stderr and "nowhere" in result.stderr
    assert "next: pgwarden migrate down --to 001 --env test\n" in result.stderr
    assert "next: pgwarden backup restore " in result.stderr
    assert "applied 002" in result.stderr and "post-checks did not run" in result.stderr

    rows = db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    tables = {r[0] for r in rows}
    assert tables == {"users", "orders"}  # 002 kept, 003 rolled back entirely
    versions = db.execute("SELECT version FROM pgwarden.migrations ORDER BY version").fetchall()
    assert versions == [("001",), ("002",)]

    event = db.execute("SELECT outcome, details FROM pgwarden.events WHERE kind = 'deploy'").fetchone()
    assert event is not None and event[0] == "failed"
    details = event[1]
    assert details["applied"] == ["002"] and details["version_after"] == "002"
    assert details["ways_back"][0] == "pgwarden migrate down --to 001 --env test"
    backup_id = details["backup_id"]
    assert details["ways_back"][1] == f"pgwarden backup restore {backup_id} --env test"
    outcomes = {s["name"]: s["outcome"] for s in details["steps"]}
    assert outcomes["backup"] == "ok" and outcomes["backup: verify"] == "ok" and outcomes["apply"] == "failed"

    from pgwarden.backup.api import list_backups

    backups = {b.id: b for b in list_backups(project.config(), "test")}
    assert backup_id in backups and backups[backup_id].verified_at is not None
    assert backups[backup_id].migration_version == "001"  # taken before anything was applied

    # the printed way back works (the env is protected: without a terminal it needs --yes)
    assert project.cli("migrate", "down", "--to", "001").returncode == 5
    project.cli("migrate", "down", "--to", "001", "--yes", check_exit=0)
    assert db.execute("SELECT to_regclass('public.orders')").fetchone() == (None,)


def test_lock_held_by_long_transaction_gives_up_without_blocking_reads(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    lock_timeout = 0.5
    project.write_config(lock_timeout="500ms", retries=2)
    project.write_migration("001_items.sql", "CREATE TABLE items (id bigint PRIMARY KEY);", "DROP TABLE items;")
    project.cli("migrate", "up", check_exit=0)
    db.execute("INSERT INTO items SELECT generate_series(1, 100)")
    project.write_migration(
        "002_price.sql", "ALTER TABLE items ADD COLUMN price numeric;", "ALTER TABLE items DROP COLUMN price;"
    )

    holder = psycopg.connect(project.url)
    holder.execute("SELECT count(*) FROM items")  # transaction stays open with ACCESS SHARE on items
    stop = threading.Event()
    read_times: list[float] = []

    def reader() -> None:
        with psycopg.connect(project.url, autocommit=True) as conn:
            while not stop.is_set():
                started = time.monotonic()
                conn.execute("SELECT count(*) FROM items").fetchone()
                read_times.append(time.monotonic() - started)
                time.sleep(0.02)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        result = project.cli("deploy", "--json", check_exit=4)
    finally:
        stop.set()
        thread.join()
        holder.rollback()
        holder.close()
    doc = json.loads(result.stdout)
    assert doc["outcome"] == "failed" and doc["exit_code"] == 4
    assert "blocked by pid" in doc["error"]["error"] and "2 retries" in doc["error"]["error"]
    assert doc["applied"] == []
    assert doc["ways_back"] == []
    assert doc["what_happened"] == "nothing was applied and the schema is as before the deploy"
    assert "lock timeout" in result.stderr  # each retry was reported
    columns = db.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'price'"
    ).fetchone()
    assert columns == (0,)
    assert len(read_times) > 5
    assert max(read_times) < lock_timeout + 2.0, max(read_times)  # generous bound: never queued for long
    event = db.execute("SELECT outcome FROM pgwarden.events WHERE kind = 'deploy'").fetchone()
    assert event == ("failed",)
