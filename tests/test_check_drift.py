"""`pgwarden check` (drift) on real databases: what is drift, what is set aside, and the fix it writes."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from psycopg import sql

from conftest import Project
from pgwarden.schema import diff, snapshot_of


def _two_migrations(project: Project) -> None:
    project.write_migration(
        "001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);", "DROP TABLE users;"
    )
    project.write_migration(
        "002_orders.sql",
        "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));",
        "DROP TABLE orders;",
    )


def test_check_reports_manual_alter_as_drift(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    _two_migrations(project)
    from pgwarden.check.api import check

    project.cli("deploy", "--yes", check_exit=0)
    clean = check(project.config(), "test")
    assert clean.differences == [] and clean.migrations_applied == ["001", "002"] and clean.objects_compared > 5

    db.execute("ALTER TABLE users ADD COLUMN phone text")
    db.execute("ALTER TABLE users ALTER COLUMN email DROP NOT NULL")
    db.execute("CREATE INDEX orders_user_idx ON orders (user_id)")
    result = project.cli("check", "--json", check_exit=1)
    doc = json.loads(result.stdout)
    assert doc["drifted"] is True and doc["version"] == "002"
    found = {(d["kind"], d["name"], d["change"]) for d in doc["differences"]}
    assert found == {
        ("columns", "public.users.phone", "unexpected"),
        ("columns", "public.users.email", "changed"),
        ("indexes", "public.orders_user_idx", "unexpected"),
    }
    email = next(d for d in doc["differences"] if d["name"] == "public.users.email")
    assert email["changes"] == [{"attribute": "nullable", "expected": False, "actual": True}]
    human = project.cli("check", check_exit=1)
    assert "public.users.phone" in human.stdout and "unexpected" in human.stdout


def test_check_ignores_pending_migrations(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    _two_migrations(project)
    project.cli("migrate", "up", "--to", "001", check_exit=0)
    result = project.cli("check", check_exit=0)
    assert "no drift" in result.stdout and "1 pending migration(s) not compared: 002" in result.stderr
    # scratch databases are dropped afterwards
    leftovers = db.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'pgwarden_check_%'").fetchone()
    assert leftovers == (0,)


PARTITIONED = """
CREATE TABLE events (id bigint NOT NULL, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_p2026_01 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE notes (id int PRIMARY KEY, body text);
"""


def test_managed_partitions_ignore_patterns_and_own_schema_are_counted_not_drift(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_config("""
        [check]
        ignore = ["public.tmp_*"]
        [[partitions]]
        table = "events"
        key = "at"
        interval = "1 month"
        """)
    project.write_migration("001_events.sql", PARTITIONED, "DROP TABLE events; DROP TABLE notes;")
    project.cli("migrate", "up", check_exit=0)
    # what partition maintain does: new children, an old one detached
    db.execute("CREATE TABLE events_p2026_02 PARTITION OF events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01')")
    db.execute("CREATE TABLE events_p2026_03 PARTITION OF events FOR VALUES FROM ('2026-03-01') TO ('2026-04-01')")
    db.execute("ALTER TABLE events DETACH PARTITION events_p2026_01")
    db.execute("CREATE TABLE tmp_import (id int)")  # matches [check] ignore
    db.execute("ALTER TABLE notes ALTER COLUMN body SET NOT NULL")  # real drift
    doc = json.loads(project.cli("check", "--json", check_exit=1).stdout)
    assert [(d["kind"], d["name"]) for d in doc["differences"]] == [("columns", "public.notes.body")]
    (managed,) = doc["managed_partitions"]
    assert managed["table"] == "public.events"
    assert managed["created"] == ["public.events_p2026_02", "public.events_p2026_03"]
    assert managed["detached"] == ["public.events_p2026_01"]
    assert doc["ignored"]["managed partitions"] == managed["differences"] > 0
    assert doc["ignored"]["ignore patterns"] == 1
    assert doc["ignored"]["pgwarden's own schema"] > 0
    human = project.cli("check", check_exit=1).stdout
    assert "managed partitions (not drift): public.events: 2 created, 1 detached" in human
    assert "ignore patterns: 1" in human

    db.execute("ALTER TABLE notes ALTER COLUMN body DROP NOT NULL")
    clean = project.cli("check", check_exit=0)
    assert "no drift" in clean.stdout


def test_owners_can_be_left_out(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    _two_migrations(project)
    project.cli("migrate", "up", check_exit=0)
    db.execute(
        "DO $$BEGIN CREATE ROLE pgwarden_test_owner NOLOGIN; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END$$"
    )
    db.execute("ALTER TABLE users OWNER TO pgwarden_test_owner")
    doc = json.loads(project.cli("check", "--json", check_exit=1).stdout)
    assert [(d["kind"], d["name"]) for d in doc["differences"]] == [("owners", "table public.users")]
    doc = json.loads(project.cli("check", "--json", "--ignore", "owners", check_exit=0).stdout)
    assert doc["differences"] == [] and doc["ignored"]["ignored kinds"] == 1
    bad = project.cli("check", "--ignore", "owner", check_exit=2)
    assert "--ignore" in bad.stderr and "Traceback" not in bad.stderr


def test_bad_check_section_names_the_key(project: Project) -> None:
    project.write_config('[check]\nstrict_order = "sometimes"\n')
    result = project.cli("check", check_exit=2)
    assert "check.strict_order" in result.stderr and "Traceback" not in result.stderr


DRIFT = [
    "CREATE INDEX users_email_idx ON users (email)",
    "ALTER TABLE users ALTER COLUMN email SET DEFAULT 'none'",
    "ALTER TABLE orders ENABLE ROW LEVEL SECURITY",
    "CREATE POLICY own_orders ON orders USING (user_id > 0)",
    "COMMENT ON TABLE users IS 'people'",
    "ALTER TABLE users ADD COLUMN phone text",
]


def _fresh_database(db_url: str, suffix: str) -> str:
    from pgwarden.server import database_url

    name = db_url.rsplit("/", 1)[1].split("?")[0] + suffix
    with psycopg.connect(database_url(db_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(db_url, name)


def _drop_database(url: str) -> None:
    from pgwarden.server import database_url

    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(database_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name))))


def test_emit_migration_rebuilds_the_live_schema(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    _two_migrations(project)
    project.cli("migrate", "up", check_exit=0)
    for statement in DRIFT:
        db.execute(statement)
    result = project.cli("check", "--emit-migration", "adopt hand changes", check_exit=1)
    assert "wrote" in result.stdout and "lint:" in result.stdout
    (written,) = [p for p in project.migrations.glob("*_adopt_hand_changes.sql")]
    text = written.read_text()
    assert "CREATE INDEX users_email_idx" in text and "ENABLE ROW LEVEL SECURITY" in text
    assert "-- migrate:down" in text and "DROP INDEX public.users_email_idx;" in text
    # every migration, the written one included, on a fresh database builds what the live one has
    fresh = _fresh_database(project.url, "_rebuilt")
    try:
        project.write_config(env_extra=f'[environments.rebuilt]\nurl = "{fresh}"\n')
        project.cli("migrate", "up", "--env", "rebuilt", check_exit=0)
        assert [d for d in diff(snapshot_of(fresh), snapshot_of(project.url)) if d.severity == "drift"] == []
        project.cli("migrate", "down", "--env", "rebuilt", check_exit=0)  # its down undoes it
        assert db.execute("SELECT 1").fetchone() == (1,)
        assert psycopg.connect(fresh).execute("SELECT to_regclass('public.users_email_idx')").fetchone() == (None,)
    finally:
        _drop_database(fresh)


def test_emit_towards_migrations_brings_live_back(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    _two_migrations(project)
    project.cli("migrate", "up", check_exit=0)
    for statement in DRIFT:
        db.execute(statement)
    doc = json.loads(
        project.cli("check", "--json", "--emit-migration", "undo", "--towards", "migrations", check_exit=1).stdout
    )
    path = Path(doc["emitted"]["path"])
    assert path == project.root / "undo.sql" and doc["emitted"]["statements"] >= len(DRIFT)
    db.execute(path.read_text())
    project.cli("check", check_exit=0)


def test_emit_marks_what_it_cannot_express(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_migration("001_state.sql", "CREATE TYPE state AS ENUM ('new', 'paid', 'void');", "DROP TYPE state;")
    project.cli("migrate", "up", check_exit=0)
    db.execute("DROP TYPE state; CREATE TYPE state AS ENUM ('new', 'paid')")
    doc = json.loads(project.cli("check", "--json", "--emit-migration", "states", check_exit=1).stdout)
    assert any("enum type public.state" in reason for reason in doc["emitted"]["cannot_express"])
    (written,) = project.migrations.glob("*_states.sql")
    assert "-- pgwarden: cannot express: enum type public.state" in written.read_text()


def test_column_order_is_information_unless_strict(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_migration("001_t.sql", "CREATE TABLE t (a int, b text);", "DROP TABLE t;")
    project.cli("migrate", "up", check_exit=0)
    db.execute("DROP TABLE t; CREATE TABLE t (b text, a int)")  # same columns, another order
    result = project.cli("check", check_exit=0)
    assert "no drift" in result.stdout and "column order of public.t" in result.stdout
    doc = json.loads(project.cli("check", "--json", "--strict-order", check_exit=1).stdout)
    assert [(d["kind"], d["name"]) for d in doc["differences"]] == [("order", "public.t")]
