"""Schema snapshots, their diff, and `pgwarden check` (drift) on real databases."""

from __future__ import annotations

import json

import psycopg

from conftest import Project
from pgwarden.schema import diff
from pgwarden.schema.snapshot import snapshot_of

RICH_SCHEMA = """
CREATE EXTENSION IF NOT EXISTS pgstattuple;
CREATE SCHEMA shop;
CREATE TYPE shop.state AS ENUM ('new', 'paid');
CREATE TABLE shop.customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE,
                             n serial, state shop.state NOT NULL DEFAULT 'new',
                             CHECK (email <> ''));
CREATE TABLE shop.events (id bigint NOT NULL, at timestamptz NOT NULL,
                          customer_id bigint REFERENCES shop.customers (id)) PARTITION BY RANGE (at);
CREATE TABLE shop.events_2025 PARTITION OF shop.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE INDEX events_at_idx ON shop.events (at);
CREATE VIEW shop.paid AS SELECT id, email FROM shop.customers WHERE state = 'paid';
CREATE FUNCTION shop.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER customers_touch BEFORE UPDATE ON shop.customers FOR EACH ROW EXECUTE FUNCTION shop.touch();
"""


def _second_database(db_url: str, name: str) -> str:
    from pgwarden.server import database_url

    admin = database_url(db_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(db_url, name)


def test_snapshot_equal_for_same_ddl_and_sees_every_kind(db_url: str, db) -> None:  # type: ignore[no-untyped-def]
    other_url = _second_database(db_url, db_url.rsplit("/", 1)[1].split("?")[0] + "_b")
    db.execute(RICH_SCHEMA)
    with psycopg.connect(other_url, autocommit=True) as other:
        other.execute(RICH_SCHEMA)
        other.execute("INSERT INTO shop.customers (email) VALUES ('a@example.com')")  # data is not schema
    first, second = snapshot_of(db_url), snapshot_of(other_url)
    assert diff(first, second) == []
    assert "shop" in first.objects("schemas") and "pgstattuple" in first.objects("extensions")
    assert first.objects("columns")["shop.customers.email"]["nullable"] is False
    assert first.objects("columns")["shop.customers.state"]["default"] == "'new'::shop.state"
    assert first.objects("partitions")["shop.events_2025"]["bound"].startswith("FOR VALUES FROM ('2025-01-01")
    assert first.objects("tables")["shop.events"]["partition_key"] == "RANGE (at)"
    assert "shop.events_at_idx" in first.objects("indexes")
    assert first.objects("constraints")["shop.events.events_customer_id_fkey"]["type"] == "foreign key"
    assert first.objects("sequences")["shop.customers_n_seq"]["owned_by"] == "shop.customers.n"
    assert "shop.paid" in first.objects("views") and "shop.touch()" in first.objects("functions")
    assert "shop.customers.customers_touch" in first.objects("triggers")
    assert first.objects("enums")["shop.state"]["labels"] == ["new", "paid"]

    with psycopg.connect(other_url, autocommit=True) as other:
        other.execute("ALTER TABLE shop.customers ALTER COLUMN email DROP NOT NULL")
        other.execute("ALTER TYPE shop.state ADD VALUE 'refunded'")
        other.execute("DROP TABLE shop.events_2025")
        other.execute("CREATE INDEX customers_state_idx ON shop.customers (state)")
    found = {(d.kind, d.name, d.change) for d in diff(first, snapshot_of(other_url))}
    assert found == {("columns", "shop.customers.email", "changed"), ("enums", "shop.state", "changed"),
                     ("tables", "shop.events_2025", "missing"), ("partitions", "shop.events_2025", "missing"),
                     ("indexes", "shop.customers_state_idx", "unexpected")}


def _two_migrations(project: Project) -> None:
    project.write_migration("001_users.sql",
                            "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);",
                            "DROP TABLE users;")
    project.write_migration("002_orders.sql",
                            "CREATE TABLE orders (id bigint PRIMARY KEY, "
                            "user_id bigint REFERENCES users (id));",
                            "DROP TABLE orders;")


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
    assert found == {("columns", "public.users.phone", "unexpected"),
                     ("columns", "public.users.email", "changed"),
                     ("indexes", "public.orders_user_idx", "unexpected")}
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
    leftovers = db.execute("SELECT count(*) FROM pg_database "
                           "WHERE datname LIKE 'pgwarden_check_%'").fetchone()
    assert leftovers == (0,)
