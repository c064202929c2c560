"""Schema comparison: pgwarden's catalog snapshot + diff against the usual `pg_dump --schema-only` text diff.

Builds two databases with the same schema (TABLES tables with columns, indexes, foreign keys,
views and a partitioned table) on a throw-away embedded server, alters one by hand, then times
both ways of finding the difference (median of RUNS). Prints the figures and the ratio.

    python benchmarks/schema_drift.py [TABLES]
"""

from __future__ import annotations

import difflib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from pgwarden.schema import diff
from pgwarden.schema.snapshot import snapshot_of
from pgwarden.server import FAST_SETTINGS, EmbeddedServer, bin_dir

RUNS = 5


def schema_sql(tables: int) -> str:
    parts = ["CREATE TYPE state AS ENUM ('new', 'paid', 'void');"]
    for i in range(tables):
        ref = f", parent_id bigint REFERENCES t{i - 1} (id)" if i else ""
        parts.append(f"CREATE TABLE t{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL,"
                     f" state state NOT NULL DEFAULT 'new', amount numeric(12,2), created_at timestamptz NOT NULL"
                     f" DEFAULT now(){ref});")
        parts.append(f"CREATE INDEX t{i}_created_idx ON t{i} (created_at);")
        if i % 10 == 0:
            parts.append(f"CREATE VIEW v{i} AS SELECT id, name FROM t{i} WHERE state = 'paid';")
    parts.append("CREATE TABLE events (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at);")
    for month in range(1, 13):
        parts.append(f"CREATE TABLE events_{month:02d} PARTITION OF events FOR VALUES FROM "
                     f"('2025-{month:02d}-01') TO ('{2025 + month // 12}-{month % 12 + 1:02d}-01');")
    return "\n".join(parts)


def pgwarden_way(url_a: str, url_b: str) -> int:
    return len(diff(snapshot_of(url_a), snapshot_of(url_b)))


def pg_dump_way(url_a: str, url_b: str) -> int:
    dumps = [subprocess.run([str(bin_dir() / "pg_dump"), "--schema-only", "--no-owner", "--dbname", url],
                            check=True, capture_output=True, text=True).stdout.splitlines() for url in (url_a, url_b)]
    changed = [line for line in difflib.unified_diff(dumps[0], dumps[1], lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    return len(changed)


def timed(fn, *args) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    samples, result = [], 0
    for _ in range(RUNS):
        started = time.perf_counter()
        result = fn(*args)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


def main() -> None:
    tables = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with tempfile.TemporaryDirectory(prefix="pgwarden-bench-") as folder:
        server = EmbeddedServer(Path(folder) / "data", settings=FAST_SETTINGS)
        server.start()
        try:
            with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
                for name in ("bench_a", "bench_b"):
                    admin.execute(f"CREATE DATABASE {name}")
            ddl = schema_sql(tables)
            for name in ("bench_a", "bench_b"):
                with psycopg.connect(server.url(name), autocommit=True) as conn:
                    conn.execute(ddl)
            with psycopg.connect(server.url("bench_b"), autocommit=True) as conn:
                conn.execute("ALTER TABLE t7 ALTER COLUMN name DROP NOT NULL; ALTER TABLE t9 ADD COLUMN note text;"
                             "CREATE INDEX t3_name_idx ON t3 (name)")
            a, b = server.url("bench_a"), server.url("bench_b")
            ours, found = timed(pgwarden_way, a, b)
            peer, lines = timed(pg_dump_way, a, b)
        finally:
            server.stop(mode="immediate")
    print(f"schema: {tables} tables (+ indexes, FKs, {tables // 10} views, 12 partitions); 3 manual changes")
    print(f"pgwarden snapshot+diff : {ours * 1000:8.1f} ms median of {RUNS}, {found} differences (objects)")
    print(f"pg_dump -s + text diff : {peer * 1000:8.1f} ms median of {RUNS}, {lines} changed lines (text)")
    print(f"ratio pg_dump/pgwarden : {peer / ours:.2f}x")


if __name__ == "__main__":
    main()
