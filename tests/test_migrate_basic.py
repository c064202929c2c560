"""up / down / status / history round trip on a real database."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Project
from helpers import public_tables as _tables


def _write_three(project: Project) -> None:
    project.write_migration(
        "001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text);", "DROP TABLE users;"
    )
    project.write_migration(
        "002_orders.sql",
        "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);\n"
        "CREATE INDEX orders_user_idx ON orders (user_id);",
        "DROP TABLE orders;",
    )
    project.write_migration("003_notes.sql", "CREATE TABLE notes (id bigint PRIMARY KEY);", "DROP TABLE notes;")


def test_up_down_status_history_round_trip(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    _write_three(project)
    result = project.cli("migrate", "up", "--json", check_exit=0)
    doc = json.loads(result.stdout)
    assert [s["version"] for s in doc["steps"]] == ["001", "002", "003"]
    assert _tables(db) == {"users", "orders", "notes"}
    rows = db.execute("SELECT version, status, transactional FROM pgwarden.migrations ORDER BY version").fetchall()
    assert rows == [("001", "applied", True), ("002", "applied", True), ("003", "applied", True)]

    project.cli("migrate", "down", "--json", check_exit=0)
    assert _tables(db) == {"users", "orders"}
    status = json.loads(project.cli("migrate", "status", "--json", check_exit=0).stdout)
    assert {m["version"]: m["state"] for m in status["migrations"]} == {
        "001": "applied",
        "002": "applied",
        "003": "pending",
    }

    project.cli("migrate", "down", "--to", "001", check_exit=0)
    assert _tables(db) == {"users"}
    project.cli("migrate", "up", "--to", "002", check_exit=0)
    assert _tables(db) == {"users", "orders"}
    history = json.loads(project.cli("migrate", "history", "--json", check_exit=0).stdout)
    assert [h["version"] for h in history] == ["001", "002"]


def test_dry_run_changes_nothing(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    _write_three(project)
    result = project.cli("migrate", "up", "--dry-run", "--json", check_exit=0)
    assert [s["status"] for s in json.loads(result.stdout)["steps"]] == ["would apply"] * 3
    assert _tables(db) == set()
    schema = db.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'pgwarden'").fetchone()
    assert schema == (0,)


def test_sql_with_percent_braces_and_dollar_quotes_runs_verbatim(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_migration(
        "001_text.sql",
        """
        CREATE TABLE notes (body text);
        INSERT INTO notes VALUES ('100% {not a placeholder} %s %(x)s');
        CREATE FUNCTION shout(t text) RETURNS text LANGUAGE plpgsql AS $$
        BEGIN
            RETURN upper(t) || '!';  -- a ; inside a function body
        END;
        $$;
        """,
        "DROP FUNCTION shout(text);\nDROP TABLE notes;",
    )
    project.cli("migrate", "up", check_exit=0)
    assert db.execute("SELECT body, shout('hi') FROM notes").fetchone() == ("100% {not a placeholder} %s %(x)s", "HI!")


def test_migrate_new_writes_timestamped_file_that_parses(project: Project) -> None:
    first = project.cli("migrate", "new", "Add phone to users!", "--json", check_exit=0)
    second = project.cli("migrate", "new", "add phone to users", "--json", check_exit=0)
    paths = [json.loads(r.stdout)["path"] for r in (first, second)]
    names = [p.rsplit("/", 1)[1] for p in paths]
    assert all(n.endswith("_add_phone_to_users.sql") and n[:14].isdigit() for n in names)
    assert names[0] != names[1]  # same second: the second one is bumped, never overwritten
    text = Path(paths[0]).read_text()
    assert "-- migrate:up" in text and "-- migrate:down" in text
    status = json.loads(project.cli("migrate", "status", "--json", check_exit=0).stdout)
    assert [m["state"] for m in status["migrations"]] == ["pending", "pending"]
