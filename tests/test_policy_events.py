"""``pgwarden.events``: the table, the project journal, and surviving an in-place restore."""

from __future__ import annotations

import json

import psycopg

from conftest import Project
from pgwarden import events
from pgwarden.db import Intent, resolve_target


def test_record_writes_the_table_and_the_project_journal(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    target = resolve_target(project.config(), "test", intent=Intent.READ)
    with psycopg.connect(target.url, autocommit=True) as conn:
        first = events.record(conn, "backup", "b1", "ok", {"size": 3})
        second = events.record(conn, "deploy", "deploy test", "failed")
    rows = db.execute("SELECT id, kind, outcome, details FROM pgwarden.events ORDER BY id").fetchall()
    assert rows == [(first.id, "backup", "ok", {"size": 3}), (second.id, "deploy", "failed", {})]
    journal = project.root / ".pgwarden" / "events.jsonl"
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [(e["id"], e["kind"], e["details"]) for e in lines] == [
        (first.id, "backup", {"size": 3}),
        (second.id, "deploy", {}),
    ]
    assert [e.kind for e in events.read(db, kind="deploy")] == ["deploy"]
    assert [e.id for e in events.read(db, limit=1)] == [second.id]


def test_events_survive_an_in_place_restore_and_ids_are_never_reused(db) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):
        events.record(db, "backup", f"b{n}", "ok", {"n": n})
    before = events.snapshot(db)
    # what an in-place restore of an older backup leaves: the table as it was then (one event, sequence at 1)
    db.execute("DROP SCHEMA pgwarden CASCADE")
    old = events.record(db, "backup", "b0", "ok", {"n": 0})
    assert old.id == 1
    written = events.restore_after(db, before)
    assert written == 2
    after = events.snapshot(db)
    assert [(e.id, e.what, e.details) for e in after] == [(e.id, e.what, e.details) for e in before]
    restore = events.record(db, "restore", "b0", "ok")
    assert restore.id == max(e.id for e in before) + 1


def test_read_without_a_table_is_empty(db) -> None:  # type: ignore[no-untyped-def]
    assert events.read(db) == [] and events.snapshot(db) == []
    assert events.restore_after(db, []) == 0
    assert events.record(db, "seed", "x", "ok").id == 1


def test_events_and_the_policy_sit_below_the_domains() -> None:
    from test_config_layering import SRC, _pgwarden_imports

    assert _pgwarden_imports(SRC / "events.py") == set()
    assert _pgwarden_imports(SRC / "guards.py") <= {"errors"}
    assert _pgwarden_imports(SRC / "policy.py") <= {"errors", "guards", "config", "db"}
    for domain in ("backup", "partition", "deploy", "migrations", "backfill"):
        for path in (SRC / domain).rglob("*.py"):
            assert "pgwarden.migrations.history import record_event" not in path.read_text(encoding="utf-8")


def test_an_in_place_backup_restore_keeps_every_event(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_migration("001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY);", "DROP TABLE users;")
    project.cli("deploy", check_exit=0)
    backup_id = json.loads(project.cli("backup", "create", "--json", check_exit=0).stdout)["id"]
    project.write_migration("002_orders.sql", "CREATE TABLE orders (id bigint PRIMARY KEY);", "DROP TABLE orders;")
    project.cli("deploy", check_exit=0)  # an event the backup does not hold
    before = [(e.id, e.kind, e.what) for e in events.snapshot(db)]
    project.cli("backup", "restore", backup_id, "--yes", check_exit=0)
    after = [(e.id, e.kind, e.what) for e in events.snapshot(db)]
    assert after[: len(before)] == before
    assert after[len(before) :] == [(before[-1][0] + 1, "restore", backup_id)]  # a new id, never a reused one
    journal = [
        json.loads(line)["kind"] for line in (project.root / ".pgwarden" / "events.jsonl").read_text().splitlines()
    ]
    assert journal == [kind for _, kind, _ in after]
