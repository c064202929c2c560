"""Catalog snapshots compared by meaning: every kind is seen, cosmetic differences are not drift."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from pgwarden.schema import diff, snapshot_of
from pgwarden.schema.normalise import code

BASE = """
CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL,
                    status text DEFAULT 'new', score int, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id), total numeric(12,2));
CREATE VIEW active_users AS SELECT id, email FROM users WHERE status = 'active';
"""

# The ten hand-made changes of the drift report, each with the kind and change it must show as.
TEN_CHANGES = [
    ("CREATE INDEX users_email_idx ON users (email)", "indexes", "public.users_email_idx", "unexpected"),
    ("ALTER TABLE users ALTER COLUMN status SET DEFAULT 'active'", "columns", "public.users.status", "changed"),
    ("ALTER TABLE orders ENABLE ROW LEVEL SECURITY", "tables", "public.orders", "changed"),
    ("CREATE POLICY own_orders ON orders USING (user_id = 1)", "policies", "public.orders.own_orders", "unexpected"),
    (
        "GRANT SELECT ON users TO pgwarden_test_reader",
        "grants",
        "table public.users to pgwarden_test_reader",
        "unexpected",
    ),
    ("CREATE DOMAIN email_address AS text CHECK (VALUE LIKE '%@%')", "domains", "public.email_address", "unexpected"),
    ("CREATE TYPE money_pair AS (amount numeric, currency text)", "composites", "public.money_pair", "unexpected"),
    ("COMMENT ON TABLE users IS 'people who sign in'", "comments", "table public.users", "unexpected"),
    (
        "CREATE RULE orders_keep AS ON DELETE TO orders DO INSTEAD NOTHING",
        "rules",
        "public.orders.orders_keep",
        "unexpected",
    ),
    ("ALTER TABLE users ALTER COLUMN score SET STATISTICS 500", "columns", "public.users.score", "changed"),
]


@pytest.fixture
def reader(db_url: str) -> str:
    """A role to grant to (roles are server-wide: created once, left in place)."""
    from pgwarden.server import database_url

    with psycopg.connect(database_url(db_url, "postgres"), autocommit=True) as conn:
        conn.execute(
            "DO $$BEGIN CREATE ROLE pgwarden_test_reader NOLOGIN; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END$$"
        )
    return "pgwarden_test_reader"


@pytest.fixture
def twin_url(db_url: str, reader: str) -> Iterator[str]:
    """A second empty database on the same server, dropped afterwards."""
    from pgwarden.server import database_url

    name = db_url.rsplit("/", 1)[1].split("?")[0] + "_twin"
    admin = database_url(db_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield database_url(db_url, name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _run(url: str, text: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(text)


def test_each_of_the_ten_hand_made_changes_is_found_with_its_kind(db_url: str, reader: str) -> None:
    _run(db_url, BASE)
    before = snapshot_of(db_url)
    for statement, kind, name, change in TEN_CHANGES:
        _run(db_url, statement)
        after = snapshot_of(db_url)
        found = [(d.kind, d.name, d.change) for d in diff(before, after)]
        assert found == [(kind, name, change)], statement
        difference = diff(before, after)[0]
        assert difference.actual_ddl, statement  # the DDL is shown on the side that has it
        before = after
    changed = {d.name: d for d in diff(snapshot_of(db_url), before)}
    assert changed == {}


def test_ddl_on_both_sides_of_a_change(db_url: str) -> None:
    _run(db_url, BASE)
    before = snapshot_of(db_url)
    _run(db_url, "ALTER TABLE users ALTER COLUMN status SET DEFAULT 'active'")
    (difference,) = diff(before, snapshot_of(db_url))
    assert difference.changes[0].attribute == "default"
    assert "DEFAULT 'new'::text" in (difference.expected_ddl or "")
    assert "DEFAULT 'active'::text" in (difference.actual_ddl or "")


def test_column_order_and_function_whitespace_are_not_drift(db_url: str, twin_url: str) -> None:
    _run(
        db_url,
        """
        CREATE TABLE t (a int, b text, c date);
        CREATE FUNCTION f(x int) RETURNS int LANGUAGE plpgsql AS $$
        BEGIN
            RETURN x + 1;
        END
        $$;""",
    )
    _run(
        twin_url,
        """
        CREATE TABLE t (b text, a int, c date);
        CREATE FUNCTION f(x int) RETURNS int LANGUAGE plpgsql AS $$BEGIN RETURN x+1; END$$;""",
    )
    differences = diff(snapshot_of(db_url), snapshot_of(twin_url))
    assert [(d.kind, d.name, d.severity) for d in differences] == [("order", "public.t", "information")]
    assert [d for d in differences if d.severity == "drift"] == []


def test_a_change_inside_a_function_literal_is_drift(db_url: str, twin_url: str) -> None:
    _run(db_url, "CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $$ SELECT 'a  b' $$")
    _run(twin_url, "CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $$ SELECT 'a b' $$")
    assert [(d.kind, d.name) for d in diff(snapshot_of(db_url), snapshot_of(twin_url))] == [("functions", "public.g()")]


def test_whitespace_normalisation_keeps_literals() -> None:
    assert code("BEGIN\n  RETURN a || 'x  y';\nEND") == code("BEGIN RETURN a||'x  y'; END")
    assert code("SELECT 'x  y'") != code("SELECT 'x y'")
    assert code('SELECT "My  Col"') != code('SELECT "My Col"')
    assert code("SELECT $q$a  b$q$") != code("SELECT $q$a b$q$")
    assert code("SELECT a  FROM b") == "SELECT a FROM b"


COVERAGE = """
CREATE EXTENSION IF NOT EXISTS pgstattuple;
CREATE SCHEMA shop;
CREATE TYPE shop.state AS ENUM ('new', 'paid');
CREATE TYPE shop.pair AS (a int, b text);
CREATE DOMAIN shop.positive AS int NOT NULL DEFAULT 1 CHECK (VALUE > 0);
CREATE TYPE shop.floatrange AS RANGE (subtype = float8);
CREATE SEQUENCE shop.counter AS int INCREMENT BY 5 MAXVALUE 1000 CYCLE;
CREATE UNLOGGED TABLE shop.scratch (id int) WITH (fillfactor = 70);
CREATE TABLE shop.customers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text COLLATE "C" NOT NULL UNIQUE,
    n serial, state shop.state NOT NULL DEFAULT 'new',
    doubled int GENERATED ALWAYS AS (n * 2) STORED,
    notes text STORAGE EXTERNAL COMPRESSION pglz,
    CHECK (email <> '') NO INHERIT);
ALTER TABLE shop.customers ALTER COLUMN notes SET STATISTICS 50;
ALTER TABLE shop.customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.customers FORCE ROW LEVEL SECURITY;
CREATE TABLE shop.events (id bigint NOT NULL, at timestamptz NOT NULL,
                          customer_id bigint REFERENCES shop.customers (id) DEFERRABLE INITIALLY DEFERRED)
    PARTITION BY RANGE (at);
CREATE TABLE shop.events_2025 PARTITION OF shop.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
ALTER TABLE shop.events ADD CONSTRAINT events_id_positive CHECK (id > 0) NOT VALID;
CREATE INDEX events_at_idx ON shop.events (at);
CREATE INDEX customers_lower_idx ON shop.customers (lower(email) text_pattern_ops) INCLUDE (state)
    WHERE state = 'paid';
CREATE VIEW shop.paid AS SELECT id, email FROM shop.customers WHERE state = 'paid';
CREATE MATERIALIZED VIEW shop.totals AS SELECT count(*) AS n FROM shop.customers;
CREATE FUNCTION shop.touch() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = shop, pg_temp
    AS $$BEGIN RETURN NEW; END$$;
CREATE PROCEDURE shop.noop() LANGUAGE sql AS $$ SELECT 1 $$;
CREATE FUNCTION shop.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$;
CREATE TRIGGER customers_touch BEFORE UPDATE ON shop.customers FOR EACH ROW EXECUTE FUNCTION shop.touch();
ALTER TABLE shop.customers DISABLE TRIGGER customers_touch;
CREATE POLICY mine ON shop.customers FOR SELECT TO pgwarden_test_reader USING (id > 0);
CREATE RULE keep AS ON DELETE TO shop.scratch DO INSTEAD NOTHING;
GRANT USAGE ON SCHEMA shop TO pgwarden_test_reader;
GRANT SELECT (email) ON shop.customers TO pgwarden_test_reader;
REVOKE EXECUTE ON FUNCTION shop.touch() FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA shop GRANT SELECT ON TABLES TO pgwarden_test_reader;
COMMENT ON COLUMN shop.customers.email IS 'login';
CREATE PUBLICATION shop_pub FOR TABLE shop.customers WITH (publish = 'insert');
CREATE FOREIGN DATA WRAPPER dummy_fdw;
CREATE SERVER dummy_srv FOREIGN DATA WRAPPER dummy_fdw OPTIONS (host 'example');
CREATE FOREIGN TABLE shop.remote (id int) SERVER dummy_srv OPTIONS (table_name 'remote');
"""


def test_snapshot_sees_every_kind_and_equal_schemas_compare_equal(db_url: str, twin_url: str) -> None:
    _run(db_url, COVERAGE)
    _run(twin_url, COVERAGE)
    _run(twin_url, "INSERT INTO shop.customers (email) VALUES ('a@example.com')")  # data is not schema
    first = snapshot_of(db_url)
    assert diff(first, snapshot_of(twin_url)) == []
    objects = first.objects
    assert "shop" in objects("schemas") and "pgstattuple" in objects("extensions")
    assert objects("enums")["shop.state"]["labels"] == ["new", "paid"]
    assert objects("composites")["shop.pair"]["attributes"] == ["a integer", "b text"]
    assert objects("domains")["shop.positive"]["constraints"] == ["positive_check CHECK (VALUE > 0)"]
    assert objects("domains")["shop.positive"]["not_null"] is True
    assert objects("ranges")["shop.floatrange"]["subtype"] == "double precision"
    assert objects("sequences")["shop.counter"]["cycle"] is True
    assert objects("tables")["shop.scratch"]["persistence"] == "unlogged"
    assert objects("tables")["shop.scratch"]["options"] == ["fillfactor=70"]
    customers = objects("tables")["shop.customers"]
    assert customers["row_security"] is True and customers["force_row_security"] is True
    assert objects("tables")["shop.events"]["partition_key"] == "RANGE (at)"
    assert objects("partitions")["shop.events_2025"]["bound"].startswith("FOR VALUES FROM ('2025-01-01")
    email = objects("columns")["shop.customers.email"]
    assert email["collation"] == "C" and email["nullable"] is False
    assert objects("columns")["shop.customers.id"]["identity"] == "always"
    assert objects("columns")["shop.customers.doubled"]["generated"] == "(n * 2)"
    notes = objects("columns")["shop.customers.notes"]
    assert (notes["storage"], notes["compression"], notes["statistics"]) == ("external", "pglz", 50)
    assert objects("constraints")["shop.customers.customers_email_check"]["no_inherit"] is True
    assert objects("constraints")["shop.events.events_id_positive"]["validated"] is False
    assert objects("constraints")["shop.events.events_customer_id_fkey"]["deferrable"] is True
    assert "INCLUDE (state) WHERE" in objects("indexes")["shop.customers_lower_idx"]["definition"]
    assert objects("views")["shop.totals"]["kind"] == "materialized view"
    touch = objects("functions")["shop.touch()"]
    assert touch["security_definer"] is True and touch["config"] == ["search_path=shop, pg_temp"]
    assert objects("functions")["shop.noop()"]["kind"] == "procedure"
    assert objects("triggers")["shop.customers.customers_touch"]["enabled"] == "disabled"
    assert objects("policies")["shop.customers.mine"]["roles"] == ["pgwarden_test_reader"]
    assert "shop.scratch.keep" in objects("rules")
    assert objects("grants")["schema shop to pgwarden_test_reader"]["privileges"] == "USAGE"
    assert objects("grants")["table column shop.customers.email to pgwarden_test_reader"]["privileges"] == "SELECT"
    assert objects("grants")["function shop.touch() to PUBLIC"]["privileges"] == "none"
    assert any(
        key.endswith("in schema shop on tables to pgwarden_test_reader") for key in objects("default_privileges")
    )
    assert objects("comments")["table column shop.customers.email"]["comment"] == "login"
    assert objects("publications")["shop_pub"]["publish"] == ["insert"]
    assert objects("servers")["dummy_srv"]["options"] == ["host=example"]
    assert objects("tables")["shop.remote"]["server"] == "dummy_srv"
    assert objects("owners")["table shop.customers"]["owner"] == "postgres"


def test_event_triggers_are_seen(db_url: str) -> None:
    _run(
        db_url,
        "CREATE FUNCTION on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$; "
        "CREATE EVENT TRIGGER audit_ddl ON ddl_command_end WHEN TAG IN ('CREATE TABLE') "
        "EXECUTE FUNCTION on_ddl();",
    )
    try:
        found = snapshot_of(db_url).objects("event_triggers")["audit_ddl"]
        assert (found["event"], found["tags"], found["enabled"]) == ("ddl_command_end", ["CREATE TABLE"], "enabled")
    finally:
        _run(db_url, "DROP EVENT TRIGGER audit_ddl")
