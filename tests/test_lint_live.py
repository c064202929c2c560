"""Live grading with --env (table sizes from the catalog) and the lint gate of `migrate up`."""

from __future__ import annotations

import json

from pgwarden.lint.api import lint_paths
from pgwarden.migrations.api import up

LINT_CONFIG = '\n[lint]\nsmall_table_rows = 1000\nsmall_table_size = "10MB"\n'


def _tables(db) -> None:  # type: ignore[no-untyped-def]
    db.execute("CREATE TABLE big_orders AS SELECT g AS id, g % 97 AS customer_id FROM generate_series(1, 5000) g")
    db.execute("CREATE TABLE tiny_plans AS SELECT g AS id, 'p' || g AS code FROM generate_series(1, 10) g")
    db.execute("ANALYZE big_orders")
    db.execute("ANALYZE tiny_plans")


def test_env_grades_by_live_size(project, db) -> None:  # type: ignore[no-untyped-def]
    _tables(db)
    project.write_config(LINT_CONFIG)
    sql = project.root / "check.sql"
    sql.write_text(
        "SET lock_timeout = '2s';\n"
        "CREATE INDEX big_orders_customer_idx ON big_orders (customer_id);\n"
        "CREATE INDEX tiny_plans_code_idx ON tiny_plans (code);\n"
        "CREATE INDEX ghost_idx ON not_in_database (x);\n"
    )
    out = project.cli("lint", "--env", "test", "--json", str(sql), check_exit=1)
    doc = json.loads(out.stdout)
    found = {(f["line"], f["rule"], f["severity"]) for f in doc["findings"]}
    assert found == {(2, "create-index-not-concurrently", "error"), (3, "create-index-not-concurrently", "warning")}
    big = next(f for f in doc["findings"] if f["line"] == 2)
    assert "about 5.0k rows" in big["message"] and "kB" in big["message"]
    assert doc["env"] == "test"
    # without --env every existing table is assumed large
    offline = project.cli("lint", "--json", str(sql), check_exit=1)
    assert {f["severity"] for f in json.loads(offline.stdout)["findings"]} == {"error"}


def test_env_knows_column_types_and_validated_checks(project, db) -> None:  # type: ignore[no-untyped-def]
    db.execute("CREATE TABLE people (id bigint, name varchar(40), code text, score numeric(6,2))")
    db.execute("INSERT INTO people SELECT g, 'n', 'c', 1 FROM generate_series(1, 3000) g")
    db.execute("ALTER TABLE people ADD CONSTRAINT people_name_nn CHECK (name IS NOT NULL)")
    db.execute("ANALYZE people")
    project.write_config(LINT_CONFIG)
    config = project.config()
    path = project.root / "types.sql"
    path.write_text(
        "SET lock_timeout = '2s';\n"
        "ALTER TABLE people ALTER COLUMN name TYPE varchar(80);\n"  # widening: fine
        "ALTER TABLE people ALTER COLUMN name TYPE varchar(10);\n"  # narrowing: rewrite/scan
        "ALTER TABLE people ALTER COLUMN code TYPE varchar(5);\n"  # text -> varchar(n): scan
        "ALTER TABLE people ALTER COLUMN score TYPE numeric(8,2);\n"  # widening: fine
        "ALTER TABLE people ALTER COLUMN name SET NOT NULL;\n"  # validated check exists
        "ALTER TABLE people ALTER COLUMN code SET NOT NULL;\n"
    )
    report = lint_paths([path], config=config, env="test")
    assert [(f.rule, f.line) for f in report.active] == [
        ("alter-column-type", 3),
        ("alter-column-type", 4),
        ("set-not-null", 7),
    ]


def _migrations(project) -> None:  # type: ignore[no-untyped-def]
    project.write_migration(
        "001_orders.sql",
        """
        CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint);
        INSERT INTO orders SELECT g, g % 50 FROM generate_series(1, 4000) g;
    """,
        "DROP TABLE orders;",
    )


def test_pending_files_are_graded_live_and_ignores_work(project, db) -> None:  # type: ignore[no-untyped-def]
    """The call deploy's preflight and `migrate up` make: pending files, applied ones as context, live sizes."""
    from pgwarden.lint.api import lint_migrations
    from pgwarden.lint.reporters import finding_line
    from pgwarden.sources import discover

    _migrations(project)
    project.write_config(LINT_CONFIG)
    up(project.config(), "test")
    db.execute("ANALYZE orders")
    project.write_migration(
        "002_index.sql", "CREATE INDEX orders_customer_idx ON orders (customer_id);", "DROP INDEX orders_customer_idx;"
    )
    config = project.config()
    applied, pending = discover(project.migrations)[:1], discover(project.migrations)[1:]
    report = lint_migrations(config, pending, "test", include_down=False, context=applied)
    [error] = report.errors
    line = finding_line(error)
    assert "002_index.sql:2:1: error [create-index-not-concurrently]" in line and "about 4.0k rows" in line, line
    assert report.context_files == [str(applied[0].path)]
    # a reasoned ignore lets it through
    project.write_migration(
        "002_index.sql",
        "-- pgwarden:ignore create-index-not-concurrently orders is "
        "write-frozen during the release window\n"
        "CREATE INDEX orders_customer_idx ON orders (customer_id);",
        "DROP INDEX orders_customer_idx;",
    )
    report = lint_migrations(config, discover(project.migrations)[1:], "test", include_down=False, context=applied)
    assert report.errors == [] and report.suppressed[0].reason == "orders is write-frozen during the release window"
    assert db.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_customer_idx'").fetchone() == (0,)


def test_migrate_up_reports_findings_as_warnings_when_unprotected(project, db) -> None:  # type: ignore[no-untyped-def]
    _migrations(project)
    project.write_migration(
        "002_fk.sql",
        """
        CREATE TABLE customers (id bigint PRIMARY KEY);
        ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id)
            NOT VALID;
        ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;
    """,
    )
    project.write_config(LINT_CONFIG)
    result = up(project.config(), "test")
    assert [s.version for s in result.steps] == ["001", "002"]
    # orders is created by the pending 001: new and empty, so nothing to warn about
    assert not [w for w in result.lint_warnings if "set-not-null" in w]
    project.write_migration(
        "003_nn.sql",
        "ALTER TABLE orders ALTER COLUMN customer_id DROP NOT NULL;\n"
        "ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;",
    )
    db.execute("ANALYZE orders")
    result = up(project.config(), "test")
    assert any("003_nn.sql:3:1: error [set-not-null]" in w for w in result.lint_warnings), result.lint_warnings
    assert db.execute(
        "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'customer_id'"
    ).fetchone() == (True,)


def test_migrate_up_lint_can_be_switched_off(project, db) -> None:  # type: ignore[no-untyped-def]
    _migrations(project)
    project.write_migration("002_drop.sql", "DROP TABLE orders;")
    project.write_config()
    text = project.config_path.read_text().replace("[migrate]\n", "[migrate]\nlint = false\n")
    project.config_path.write_text(text)
    result = up(project.config(), "test")
    assert not [w for w in result.lint_warnings if "[drop-table]" in w]
    assert db.execute("SELECT to_regclass('orders')").fetchone() == (None,)


def test_lint_without_paths_lints_the_project(project, db) -> None:  # type: ignore[no-untyped-def]
    _migrations(project)
    project.write_config(LINT_CONFIG)
    up(project.config(), "test")
    db.execute("ANALYZE orders")
    project.write_migration(
        "002_index.sql", "CREATE INDEX orders_customer_idx ON orders (customer_id);", "DROP INDEX orders_customer_idx;"
    )
    pending = json.loads(project.cli("lint", "--env", "test", "--json", check_exit=1).stdout)
    assert [(f["rule"], f["severity"], f["section"]) for f in pending["findings"]] == [
        ("create-index-not-concurrently", "error", "up"),
        ("drop-index-not-concurrently", "info", "down"),
    ]
    assert pending["summary"]["files"] == 1 and "about 4.0k rows" in pending["findings"][0]["message"]
    # without --env (and outside git) the latest file is linted; 001 is context: orders exists, size unknown
    offline = json.loads(project.cli("lint", "--json", check_exit=1).stdout)
    assert offline["selection"].startswith("linting 1 file(s) (the latest file")
    assert offline["summary"]["files"] == 1 and offline["summary"]["context_files"] == 1
    [finding] = [f for f in offline["findings"] if f["severity"] == "error"]
    assert finding["rule"] == "create-index-not-concurrently" and "size unknown" in finding["message"]


def test_env_knows_partitioned_tables(project, db) -> None:  # type: ignore[no-untyped-def]
    db.execute("CREATE TABLE events (id bigint, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at)")
    db.execute("CREATE TABLE sessions (id bigint PRIMARY KEY, expires_at timestamptz)")
    project.write_config(LINT_CONFIG)
    path = project.root / "parts.sql"
    path.write_text(
        "SET lock_timeout = '2s';\n"
        "ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (id);\n"
        "CREATE TABLE sessions_2025 PARTITION OF sessions\n"
        "  FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n"
        "CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n"
        "CREATE INDEX CONCURRENTLY events_id_idx ON events (id);\n"
    )
    report = lint_paths([path], config=project.config(), env="test")
    assert [(f.rule, f.line) for f in report.errors] == [
        ("partition-key-not-in-unique", 2),
        ("partition-of-non-partitioned", 3),
        ("concurrent-index-on-partitioned", 6),
    ]
