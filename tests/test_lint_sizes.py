"""Sizes that are right (--env): never-analyzed tables, partitioned parents, data changes graded by EXPLAIN."""

from __future__ import annotations

import re

from pgwarden.lint.api import lint_paths

LINT_CONFIG = '\n[lint]\nsmall_table_rows = 10000\nsmall_table_size = "10MB"\n'


def test_never_analyzed_table_is_sized_from_its_pages(project, db) -> None:  # type: ignore[no-untyped-def]
    db.execute("CREATE TABLE loaded (id bigint, note text)")
    db.execute("INSERT INTO loaded SELECT g, repeat('x', 80) FROM generate_series(1, 50000) g")
    assert db.execute("SELECT reltuples FROM pg_class WHERE relname = 'loaded'").fetchone() == (-1,)
    project.write_config(LINT_CONFIG)
    path = project.root / "index.sql"
    path.write_text("SET lock_timeout = '2s';\nCREATE INDEX loaded_id_idx ON loaded (id);\n")
    [finding] = lint_paths([path], config=project.config(), env="test").active
    # the planner's page-based estimate, not reltuples = -1 (which graded it small before)
    assert finding.severity == "error" and "estimated: never analyzed" in finding.message, finding.message
    rows = float(re.search(r"about ([\d.]+)k rows", finding.message).group(1))  # type: ignore[union-attr]
    assert 25 < rows < 100
    db.execute("ANALYZE loaded")
    [analyzed] = lint_paths([path], config=project.config(), env="test").active
    assert "about 50.0k rows" in analyzed.message and "never analyzed" not in analyzed.message


def test_partitioned_parent_is_the_sum_of_its_partitions(project, db) -> None:  # type: ignore[no-untyped-def]
    db.execute("CREATE TABLE events (id bigint, at date NOT NULL, body text) PARTITION BY RANGE (at)")
    db.execute("CREATE TABLE events_a PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')")
    db.execute("CREATE TABLE events_b PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')")
    db.execute(
        "INSERT INTO events SELECT g, DATE '2024-01-01' + g % 700, repeat('y', 100) FROM generate_series(1, 30000) g"
    )
    db.execute("ANALYZE events_a")
    db.execute("ANALYZE events_b")
    project.write_config(LINT_CONFIG)
    path = project.root / "check.sql"
    path.write_text("SET lock_timeout = '2s';\nALTER TABLE events ADD CONSTRAINT events_body CHECK (body <> '');\n")
    [finding] = lint_paths([path], config=project.config(), env="test").active
    total = db.execute(
        "SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('events') WHERE isleaf"
    ).fetchone()[0]
    assert total > 3_000_000 and "0 bytes" not in finding.message
    assert "about 30.0k rows" in finding.message and finding.severity == "error", finding.message


def test_big_update_is_graded_on_the_target_and_its_rewrite_runs(project, db) -> None:  # type: ignore[no-untyped-def]
    from pgwarden.migrations.api import up

    project.write_config(LINT_CONFIG)
    project.write_migration(
        "001_orders.sql",
        """
        CREATE TABLE orders (order_no bigint PRIMARY KEY, status text NOT NULL, created_at date NOT NULL);
        INSERT INTO orders SELECT g, 'open', DATE '2024-01-01' + g % 700 FROM generate_series(1, 30000) g;
    """,
    )
    up(project.config(), "test")
    db.execute("ANALYZE orders")
    project.write_migration("002_archive.sql", "UPDATE orders SET status = 'archived' WHERE created_at < '2025-06-01';")
    out = project.cli("lint", "--env", "test", "--json", check_exit=1)
    import json

    [finding] = [f for f in json.loads(out.stdout)["findings"] if f["rule"] == "large-data-change"]
    assert "EXPLAIN on test" in finding["message"] and finding["severity"] == "error"
    rewrite = finding["safe_rewrite"]
    expected = (
        "-- pgwarden:backfill table=public.orders set='status = ''archived''' "
        "where='created_at < ''2025-06-01''' batch=10000"
    )
    assert rewrite.splitlines()[-1] == expected, rewrite
    assert db.execute("SELECT count(*) FROM orders WHERE status = 'archived'").fetchone() == (0,)  # not run
    # the rewrite, applied instead, passes lint and archives exactly the same rows through `migrate up`
    (project.migrations / "002_archive.sql").write_text(rewrite + "\n", encoding="utf-8")
    assert json.loads(project.cli("lint", "--env", "test", "--json", check_exit=0).stdout)["summary"]["errors"] == 0
    up(project.config(), "test")
    expected = db.execute("SELECT count(*) FROM orders WHERE created_at < '2025-06-01'").fetchone()
    assert db.execute("SELECT count(*) FROM orders WHERE status = 'archived'").fetchone() == expected
    assert expected[0] > 10000
