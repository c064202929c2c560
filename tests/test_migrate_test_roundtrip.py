"""`pgwarden migrate test`: up, down, up on a scratch database with catalog comparison."""

from __future__ import annotations

import json

from conftest import Project


def _base(project: Project) -> None:
    project.write_migration("001_users.sql",
                            "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, nickname text);",
                            "DROP TABLE users;")


def test_clean_migrations_pass(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    _base(project)
    project.write_migration("002_orders.sql", """
        CREATE TYPE order_state AS ENUM ('new', 'paid');
        CREATE TABLE orders (id bigint PRIMARY KEY, state order_state NOT NULL DEFAULT 'new');
        CREATE INDEX orders_state_idx ON orders (state);
    """, "DROP TABLE orders;\nDROP TYPE order_state;")
    project.write_migration("003_irreversible.sql", "ALTER TABLE users DROP COLUMN nickname;", "",
                            down_options="irreversible")
    doc = json.loads(project.cli("migrate", "test", "--json", check_exit=0).stdout)
    assert doc["ok"] is True
    assert [(m["version"], m["outcome"]) for m in doc["migrations"]] == [
        ("001", "ok"), ("002", "ok"), ("003", "irreversible (down not tested)")]
    # the environment's own database was never touched
    assert db.execute("SELECT to_regclass('public.users')").fetchone() == (None,)


def test_catches_down_that_forgets_an_index(project: Project) -> None:
    _base(project)
    project.write_migration("002_email_index.sql",
                            "ALTER TABLE users ADD COLUMN login text;\n"
                            "CREATE INDEX users_email_idx ON users (email);",
                            "ALTER TABLE users DROP COLUMN login;")
    project.write_migration("003_never_reached.sql", "CREATE TABLE t (id int);", "DROP TABLE t;")
    from pgwarden.check.api import round_trip

    result = round_trip(project.config())
    assert [m.version for m in result.migrations] == ["001", "002"]
    failed = result.failed
    assert failed is not None and failed.outcome == "down does not restore"
    assert [(d.kind, d.name, d.change) for d in failed.differences] == [
        ("indexes", "public.users_email_idx", "unexpected")]
    human = project.cli("migrate", "test", check_exit=1)
    assert "002_email_index: down does not restore" in human.stdout
    assert "index public.users_email_idx: unexpected" in human.stdout


def test_catches_down_that_drops_a_column_the_up_did_not_add(project: Project) -> None:
    _base(project)
    project.write_migration("002_phone.sql", "ALTER TABLE users ADD COLUMN phone text;",
                            "ALTER TABLE users DROP COLUMN phone;\nALTER TABLE users DROP COLUMN nickname;")
    doc = json.loads(project.cli("migrate", "test", "--json", check_exit=1).stdout)
    failed = doc["migrations"][-1]
    assert (failed["version"], failed["outcome"]) == ("002", "down does not restore")
    assert [(d["kind"], d["name"], d["change"]) for d in failed["differences"]] == [
        ("columns", "public.users.nickname", "missing")]


def test_reports_a_down_that_fails(project: Project) -> None:
    _base(project)
    project.write_migration("002_phone.sql", "ALTER TABLE users ADD COLUMN phone text;",
                            "ALTER TABLE users DROP COLUMN mobile;")
    doc = json.loads(project.cli("migrate", "test", "--json", check_exit=1).stdout)
    failed = doc["migrations"][-1]
    assert (failed["version"], failed["outcome"]) == ("002", "down failed")
    assert "mobile" in failed["error"]
