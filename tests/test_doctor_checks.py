"""Each health check against a problem created for real on the embedded server, then fixed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from helpers import backend_running_longer_than, wait_until
from pgwarden.doctor.model import CheckResult
from pgwarden.doctor.registry import all_checks
from pgwarden.doctor.runner import run_checks
from pgwarden.doctor.thresholds import resolve

Conn = psycopg.Connection[tuple[Any, ...]]


def check(url: str, name: str, **thresholds: str | int | float) -> CheckResult:
    """Run one check with lowered thresholds; the report must hold exactly that check."""
    report = run_checks(url, [all_checks()[name]], resolve(thresholds))
    assert [r.name for r in report.checks] == [name]
    return report.checks[0]


def flush_stats(db: Conn) -> None:
    """Make this session's pending table statistics visible to other sessions now."""
    db.execute("SELECT pg_stat_force_next_flush()")


@pytest.fixture
def side(db_url: str) -> Iterator[Conn]:
    """A second connection with explicit transactions (autocommit off)."""
    with psycopg.connect(db_url, autocommit=False) as conn:
        yield conn


def test_invalid_index_from_failed_concurrent_build_fails_then_fix_clears_it(db: Conn, db_url: str) -> None:
    db.execute("CREATE TABLE accounts (id int, email text)")
    db.execute("INSERT INTO accounts VALUES (1, 'a@x'), (2, 'a@x')")
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email)")
    assert db.execute(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_email_key'::regclass"
    ).fetchone() == (False,)

    result = check(db_url, "invalid_indexes")
    assert result.status == "fail"
    assert result.evidence[0]["index"] == "accounts_email_key"
    assert result.fix[0] == 'DROP INDEX CONCURRENTLY IF EXISTS "public"."accounts_email_key";'
    assert "CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON public.accounts" in result.fix[1]

    db.execute(result.fix[0])  # the fix it prints works as printed
    assert db.execute("SELECT to_regclass('accounts_email_key')").fetchone() == (None,)
    assert check(db_url, "invalid_indexes").status == "ok"


def test_sequence_at_95_percent_of_int_column_fed_by_bigint_sequence_fails(db: Conn, db_url: str) -> None:
    db.execute("CREATE TABLE orders (id int NOT NULL, note text)")
    db.execute("CREATE SEQUENCE orders_id_seq AS bigint")
    db.execute("ALTER TABLE orders ALTER COLUMN id SET DEFAULT nextval('orders_id_seq')")
    db.execute("SELECT setval('orders_id_seq', %s)", [int(2147483647 * 0.95)])
    db.execute("CREATE TABLE small (id serial PRIMARY KEY)")
    db.execute("SELECT setval('small_id_seq', %s)", [int(2147483647 * 0.80)])

    result = check(db_url, "sequences")
    assert result.status == "fail"
    by_name = {r["sequence"]: r for r in result.evidence}
    assert set(by_name) == {"orders_id_seq", "small_id_seq"}
    assert by_name["orders_id_seq"]["used_pct"] == pytest.approx(95.0, abs=0.01)
    assert by_name["orders_id_seq"]["column_type"] == "integer"
    assert by_name["orders_id_seq"]["sequence_type"] == "bigint"
    assert by_name["small_id_seq"]["used_pct"] == pytest.approx(80.0, abs=0.01)
    assert any('ALTER TABLE "public"."orders" ALTER COLUMN "id" TYPE bigint' in f for f in result.fix)

    db.execute("ALTER TABLE orders ALTER COLUMN id TYPE bigint")
    db.execute("ALTER TABLE small ALTER COLUMN id TYPE bigint")
    db.execute("ALTER SEQUENCE small_id_seq AS bigint")
    result = check(db_url, "sequences")
    assert result.status == "ok", result.summary
    assert result.summary.startswith("no sequence past 75% of its range (0 used sequences")


def test_blocked_query_fails_with_its_blocker_then_ok_once_released(db: Conn, db_url: str, side: Conn) -> None:
    db.execute("CREATE TABLE stock (id int PRIMARY KEY, qty int)")
    db.execute("INSERT INTO stock VALUES (1, 10)")
    side.execute("UPDATE stock SET qty = 9 WHERE id = 1")  # holds the row lock, transaction left open
    blocker_pid = side.info.backend_pid
    errors: list[BaseException] = []

    def blocked_update() -> None:
        try:
            with psycopg.connect(db_url, autocommit=True) as waiter:
                waiter.execute("UPDATE stock SET qty = 8 WHERE id = 1")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=blocked_update)
    thread.start()
    try:
        wait_until(
            lambda: (
                db.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                ).fetchone()
                == (1,)
            )
        )
        time.sleep(0.4)
        result = check(db_url, "blocked_queries", blocked_query_warn="100ms", blocked_query_fail="300ms")
        assert result.status == "fail"
        assert result.evidence[0]["blocked_by"] == [blocker_pid]
        assert result.evidence[0]["blockers"][0]["pid"] == blocker_pid
        assert result.evidence[0]["waiting_seconds"] >= 0.3
        assert f"pg_cancel_backend({blocker_pid})" in result.fix[0]
        lenient = check(db_url, "blocked_queries", blocked_query_warn="1h", blocked_query_fail="2h")
        assert lenient.status == "ok" and "waiting for a lock" in lenient.summary
    finally:
        side.rollback()
        thread.join(timeout=10)
    assert not errors
    assert check(db_url, "blocked_queries", blocked_query_warn="100ms").status == "ok"
    assert db.execute("SELECT qty FROM stock").fetchone() == (8,)


def test_idle_in_transaction_warns_then_fails_then_ok_after_commit(db_url: str, side: Conn) -> None:
    side.execute("SELECT 1")  # opens a transaction and leaves it idle
    time.sleep(0.4)
    warn = check(db_url, "idle_in_transaction", idle_in_transaction_warn="200ms", idle_in_transaction_fail="1h")
    assert warn.status == "warn"
    assert [r["pid"] for r in warn.evidence] == [side.info.backend_pid]
    assert warn.fix[0] == f"SELECT pg_terminate_backend({side.info.backend_pid});"
    fail = check(db_url, "idle_in_transaction", idle_in_transaction_warn="100ms", idle_in_transaction_fail="200ms")
    assert fail.status == "fail"
    side.commit()
    assert check(db_url, "idle_in_transaction", idle_in_transaction_warn="100ms").status == "ok"


def test_long_running_query_is_reported_while_it_runs(db: Conn, db_url: str) -> None:
    errors: list[BaseException] = []

    def sleeper() -> None:
        try:
            with psycopg.connect(db_url, autocommit=True) as conn:
                conn.execute("SELECT pg_sleep(60)")
        except psycopg.errors.QueryCanceled:
            pass
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=sleeper)
    thread.start()
    pid = None
    try:
        wait_until(lambda: backend_running_longer_than(db, "SELECT pg_sleep(60)%", 0.3))
        pid = backend_running_longer_than(db, "SELECT pg_sleep(60)%", 0.3)
        result = check(db_url, "long_running_queries", long_query_warn="300ms")
        assert result.status == "warn"
        assert [r["pid"] for r in result.evidence] == [pid]
        assert "pg_sleep(60)" in result.evidence[0]["query"]
        assert check(db_url, "long_running_queries", long_query_warn="100ms", long_query_fail="200ms").status == "fail"
    finally:
        db.execute(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%' "
            "AND datname = current_database() AND pid <> pg_backend_pid()"
        )
        thread.join(timeout=30)
    assert not errors and not thread.is_alive()
    assert check(db_url, "long_running_queries", long_query_warn="300ms").status == "ok"


def test_dead_tuples_warn_until_vacuumed(db: Conn, db_url: str) -> None:
    db.execute("CREATE TABLE events (id int PRIMARY KEY, payload text) WITH (autovacuum_enabled = off)")
    db.execute("INSERT INTO events SELECT g, 'x' FROM generate_series(1, 2000) g")
    db.execute("DELETE FROM events WHERE id > 500")
    flush_stats(db)
    result = check(db_url, "dead_tuples", dead_tuples_min=100)
    assert result.status == "warn"
    row = result.evidence[0]
    assert (row["table"], row["dead_rows"], row["autovacuum_enabled"]) == ("events", 1500, "off")
    assert 'VACUUM (ANALYZE) "public"."events";' in result.fix
    assert 'ALTER TABLE "public"."events" RESET (autovacuum_enabled);' in result.fix[1]

    db.execute("VACUUM (ANALYZE) events")
    assert check(db_url, "dead_tuples", dead_tuples_min=100).status == "ok"


def test_unused_and_duplicate_indexes_warn_until_dropped(db: Conn, db_url: str) -> None:
    db.execute("CREATE TABLE people (id int PRIMARY KEY, last text, first text)")
    db.execute("CREATE INDEX people_last ON people (last)")
    db.execute("CREATE INDEX people_last_again ON people (last)")
    db.execute("CREATE INDEX people_last_first ON people (last, first)")

    unused = check(db_url, "unused_indexes", unused_index_min_size=0)
    assert unused.status == "warn"
    assert {r["index"] for r in unused.evidence} == {"people_last", "people_last_again", "people_last_first"}
    assert check(db_url, "unused_indexes").status == "ok"  # default: only from 10MB

    dup = check(db_url, "duplicate_indexes")
    assert dup.status == "warn"
    found = {(r["index"], r["kind"]) for r in dup.evidence}
    assert ("people_last_again", "duplicate") in found
    assert ("people_last", "prefix") in found
    assert "people_pkey" not in {r["index"] for r in dup.evidence}

    for statement in dup.fix:
        db.execute(statement.split("--")[0])
    assert check(db_url, "duplicate_indexes").status == "ok"
    db.execute("DROP INDEX people_last_first")
    assert check(db_url, "unused_indexes", unused_index_min_size=0).status == "ok"


def test_unique_index_with_plain_copy_keeps_the_unique_one(db: Conn, db_url: str) -> None:
    db.execute("CREATE TABLE tokens (id int PRIMARY KEY, token text UNIQUE)")
    db.execute("CREATE INDEX tokens_token_plain ON tokens (token)")
    result = check(db_url, "duplicate_indexes")
    assert [(r["index"], r["covered_by"]) for r in result.evidence] == [("tokens_token_plain", "tokens_token_key")]


def test_missing_index_hint_for_large_table_read_by_seq_scans(db: Conn, db_url: str) -> None:
    db.execute("CREATE TABLE visits (id int, page int)")
    db.execute("INSERT INTO visits SELECT g, g % 100 FROM generate_series(1, 2000) g")
    db.execute("ANALYZE visits")
    for _ in range(3):
        db.execute("SELECT count(*) FROM visits WHERE page = 5")
    flush_stats(db)
    result = check(db_url, "missing_indexes", missing_index_min_rows=1000, missing_index_min_seq_scans=3)
    assert result.status == "warn"
    assert result.evidence[0]["table"] == "visits" and result.evidence[0]["seq_scan"] >= 3

    db.execute("CREATE INDEX visits_page ON visits (page)")
    db.execute("SET enable_seqscan = off")
    for _ in range(6):
        db.execute("SELECT count(*) FROM visits WHERE page = 5")
    flush_stats(db)
    assert check(db_url, "missing_indexes", missing_index_min_rows=1000, missing_index_min_seq_scans=3).status == "ok"


def test_bloat_estimate_after_mass_delete_then_vacuum_full(db: Conn, db_url: str) -> None:
    db.execute("CREATE TABLE logs (id int PRIMARY KEY, line text) WITH (autovacuum_enabled = off)")
    db.execute("INSERT INTO logs SELECT g, repeat('x', 100) FROM generate_series(1, 40000) g")
    db.execute("DELETE FROM logs WHERE id % 4 <> 0")
    db.execute("VACUUM ANALYZE logs")
    result = check(db_url, "bloat", bloat_min_size="1MB")
    assert result.status == "warn"
    table_row = next(r for r in result.evidence if r["kind"] == "table")
    assert table_row["table"] == "logs" and 60 <= table_row["wasted_pct"] <= 90
    db.execute("VACUUM (FULL, ANALYZE) logs")
    assert check(db_url, "bloat", bloat_min_size="100kB").status == "ok"


def test_vacuum_staleness_reports_unanalyzed_changes(db: Conn, db_url: str) -> None:
    db.execute("CREATE TABLE notes (id int) WITH (autovacuum_enabled = off)")
    db.execute("INSERT INTO notes SELECT generate_series(1, 1000)")
    flush_stats(db)
    result = check(db_url, "vacuum_staleness", vacuum_stale=0)
    assert result.status == "warn"
    assert result.evidence[0]["table"] == "notes" and result.evidence[0]["needs_analyze"]
    assert result.fix == ['ANALYZE "public"."notes";']
    assert check(db_url, "vacuum_staleness").status == "ok"  # default 7 days: the server is younger
    db.execute(result.fix[0])
    assert check(db_url, "vacuum_staleness", vacuum_stale=0).status == "ok"


def test_pg_stat_statements_missing_says_how_to_enable_then_lists_queries(db: Conn, db_url: str) -> None:
    db.execute("DROP EXTENSION IF EXISTS pg_stat_statements")
    missing = check(db_url, "slow_queries")
    assert missing.status == "warn"
    assert "not created in this database" in missing.summary
    assert missing.fix == ["CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"]

    db.execute(missing.fix[0])
    db.execute("CREATE TABLE t (x int)")
    for _ in range(3):
        db.execute("SELECT count(*) FROM t WHERE x > 1")
    fine = check(db_url, "slow_queries")
    assert fine.status == "ok"
    slow = check(db_url, "slow_queries", slow_query_mean="0ms", slow_query_calls=3)
    assert slow.status == "warn"
    assert any("FROM t WHERE x >" in r["query"] for r in slow.evidence if r["ranking"] == "mean")


def test_enable_steps_when_not_preloaded() -> None:
    from pgwarden.doctor.checks.statements import enable_steps

    steps = enable_steps("auto_explain", True)
    assert steps[0] == "ALTER SYSTEM SET shared_preload_libraries = 'auto_explain, pg_stat_statements';"
    assert steps[1].startswith("restart PostgreSQL")
    assert steps[-1] == "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"


def test_connections_wraparound_and_cache_ratio_follow_thresholds(db_url: str) -> None:
    assert check(db_url, "connections").status == "ok"
    assert check(db_url, "connections", connections_warn_pct=0).status == "warn"
    assert check(db_url, "connections", connections_warn_pct=0, connections_fail_pct=0).status == "fail"
    ok = check(db_url, "wraparound")
    assert ok.status == "ok" and ok.evidence
    failing = check(db_url, "wraparound", xid_age_warn_pct=0, xid_age_fail_pct=0)
    assert failing.status == "fail"
    assert any(f.startswith("VACUUM (FREEZE, VERBOSE)") for f in failing.fix)
    assert check(db_url, "cache_hit_ratio").status == "ok"


def test_largest_tables_sums_partitions_into_their_table(db: Conn, db_url: str) -> None:
    db.execute("CREATE TABLE measures (at date NOT NULL, v int) PARTITION BY RANGE (at)")
    db.execute("CREATE TABLE measures_a PARTITION OF measures FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')")
    db.execute("CREATE TABLE measures_b PARTITION OF measures FOR VALUES FROM ('2026-02-01') TO ('2026-03-01')")
    db.execute("INSERT INTO measures SELECT '2026-01-15'::date + (g % 30), g FROM generate_series(1, 5000) g")
    db.execute("ANALYZE measures")  # sizes are estimated from pg_class.relpages (no locks)
    result = check(db_url, "largest_tables")
    assert result.status == "ok"
    row = next(r for r in result.evidence if r["table"] == "measures")
    assert row["partitions"] == 2 and row["total_bytes"] > 100_000
    assert "measures_a" not in {r["table"] for r in result.evidence}
