"""Drift detection: pgwarden's catalog snapshot + diff against the usual `pg_dump --schema-only` + text diff.

One throw-away embedded server, three measurements in one run:

1. time on the example projects (each built twice from its migrations, then compared);
2. time on a schema of TABLES tables (default 5,000: columns, identity, defaults, indexes,
   foreign keys, views, a partitioned table) with three hand changes;
3. the ten hand-made changes of the drift report (index, default, row security, policy,
   grant, domain, composite type, comment, rule, statistics target) plus two cosmetic
   differences (column order, whitespace in a function body): how many of the ten each
   way finds, and how much noise it reports (text lines, or objects, that are not one of
   the ten).

    python benchmarks/schema_drift.py [TABLES]
"""

from __future__ import annotations

import difflib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg

from pgwarden.schema import diff, snapshot_of
from pgwarden.server import FAST_SETTINGS, EmbeddedServer, bin_dir
from pgwarden.sources import discover

RUNS = 3
ROOT = Path(__file__).resolve().parent.parent

BASE = """
CREATE ROLE bench_reader NOLOGIN;
"""
TEN_BASE = """
CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL,
                    status text DEFAULT 'new', score int, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id), total numeric(12,2));
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.created_at := now();
    RETURN NEW;
END
$$;
"""
# The same schema with the columns of `orders` in another order and the function on one line.
TEN_BASE_COSMETIC = TEN_BASE.replace(
    "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id), total numeric(12,2));",
    "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric(12,2), user_id bigint REFERENCES users (id));",
).replace(
    "$$\nBEGIN\n    NEW.created_at := now();\n    RETURN NEW;\nEND\n$$",
    "$$BEGIN NEW.created_at := now(); RETURN NEW; END$$",
)

# (statement, the kind pgwarden must report, a text that marks it in pg_dump's output)
TEN_CHANGES = [
    ("CREATE INDEX users_email_idx ON users (email)", "indexes", "users_email_idx"),
    ("ALTER TABLE users ALTER COLUMN status SET DEFAULT 'active'", "columns", "'active'"),
    ("ALTER TABLE orders ENABLE ROW LEVEL SECURITY", "tables", "ROW LEVEL SECURITY"),
    ("CREATE POLICY own_orders ON orders USING (user_id = 1)", "policies", "own_orders"),
    ("GRANT SELECT ON users TO bench_reader", "grants", "bench_reader"),
    ("CREATE DOMAIN email_address AS text CHECK (VALUE LIKE '%@%')", "domains", "email_address"),
    ("CREATE TYPE money_pair AS (amount numeric, currency text)", "composites", "money_pair"),
    ("COMMENT ON TABLE users IS 'people who sign in'", "comments", "people who sign in"),
    ("CREATE RULE orders_keep AS ON DELETE TO orders DO INSTEAD NOTHING", "rules", "orders_keep"),
    ("ALTER TABLE users ALTER COLUMN score SET STATISTICS 500", "columns", "STATISTICS 500"),
]


def big_schema(tables: int) -> str:
    parts = ["CREATE TYPE state AS ENUM ('new', 'paid', 'void');"]
    for i in range(tables):
        ref = f", parent_id bigint REFERENCES t{i - 1} (id)" if i else ""
        parts.append(
            f"CREATE TABLE t{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL,"
            f" state state NOT NULL DEFAULT 'new', amount numeric(12,2), created_at timestamptz NOT NULL"
            f" DEFAULT now(){ref});"
        )
        parts.append(f"CREATE INDEX t{i}_created_idx ON t{i} (created_at);")
        if i % 10 == 0:
            parts.append(f"CREATE VIEW v{i} AS SELECT id, name FROM t{i} WHERE state = 'paid';")
    parts.append("CREATE TABLE events (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at);")
    for month in range(1, 13):
        parts.append(
            f"CREATE TABLE events_{month:02d} PARTITION OF events FOR VALUES FROM "
            f"('2025-{month:02d}-01') TO ('{2025 + month // 12}-{month % 12 + 1:02d}-01');"
        )
    return "\n".join(parts)


def pgwarden_way(url_a: str, url_b: str) -> list[Any]:
    with ThreadPoolExecutor(max_workers=2) as pool:  # both catalogs read at once, as `check` does
        a, b = pool.map(snapshot_of, (url_a, url_b))
    return [d for d in diff(a, b) if d.severity == "drift"]


def _dump(url: str) -> list[str]:
    return subprocess.run(
        [str(bin_dir() / "pg_dump"), "--schema-only", "--dbname", url], check=True, capture_output=True, text=True
    ).stdout.splitlines()


def pg_dump_way(url_a: str, url_b: str) -> list[str]:
    with ThreadPoolExecutor(max_workers=2) as pool:  # both dumps at once too
        dumps = list(pool.map(_dump, (url_a, url_b)))
    return [
        line
        for line in difflib.unified_diff(dumps[0], dumps[1], lineterm="", n=0)
        if line[:1] in "+-"
        and not line.startswith(("+++", "---"))
        and line[1:].strip()
        and not line[1:].startswith(("--", "\\restrict", "\\unrestrict"))
    ]  # comments, pg_dump 17+ keys


def timed(fn: Callable[[str, str], Any], a: str, b: str) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(RUNS):
        started = time.perf_counter()
        result = fn(a, b)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


def _database(server: EmbeddedServer, name: str, ddl: str | None = None) -> str:
    with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    if ddl:
        lines = ddl.splitlines()
        with psycopg.connect(server.url(name), autocommit=True) as conn:
            for start in range(0, len(lines), 500):  # one transaction per chunk: bounded lock table use
                conn.execute("\n".join(lines[start : start + 500]))
    return server.url(name)


def _build_from_migrations(url: str, folder: Path) -> int:
    files = discover(folder)
    with psycopg.connect(url, autocommit=True) as conn:
        for migration in files:
            for statement in migration.up.statements:
                conn.execute(statement.sql)
    return len(files)


def _row(label: str, ours: float, found: int, peer: float, lines: int) -> None:
    print(
        f"  {label:<34} pgwarden {ours * 1000:8.1f} ms ({found} differences)   "
        f"pg_dump+diff {peer * 1000:8.1f} ms ({lines} changed lines)   ratio {peer / ours:5.2f}x"
    )


def examples(server: EmbeddedServer) -> None:
    print("example projects (built twice from their migrations, no change: 0 is right):")
    for project in sorted((ROOT / "examples").glob("*/migrations")):
        name = project.parent.name
        a = _database(server, f"ex_{name}_a")
        b = _database(server, f"ex_{name}_b")
        count = _build_from_migrations(a, project)
        _build_from_migrations(b, project)
        ours, found = timed(pgwarden_way, a, b)
        peer, lines = timed(pg_dump_way, a, b)
        _row(f"{name} ({count} migrations)", ours, len(found), peer, len(lines))


def big(server: EmbeddedServer, tables: int) -> None:
    ddl = big_schema(tables)
    a, b = _database(server, "big_a", ddl), _database(server, "big_b", ddl)
    with psycopg.connect(b, autocommit=True) as conn:
        conn.execute(
            "ALTER TABLE t7 ALTER COLUMN name DROP NOT NULL; ALTER TABLE t9 ADD COLUMN note text;"
            "CREATE INDEX t3_name_idx ON t3 (name)"
        )
    ours, found = timed(pgwarden_way, a, b)
    peer, lines = timed(pg_dump_way, a, b)
    print(
        f"{tables} tables (+ {tables} indexes, {tables - 1} FKs, {tables // 10} views, 12 partitions), 3 hand changes:"
    )
    _row(f"{tables}-table schema", ours, len(found), peer, len(lines))


def ten(server: EmbeddedServer) -> None:
    a = _database(server, "ten_a", TEN_BASE)
    cosmetic = _database(server, "ten_cosmetic", TEN_BASE_COSMETIC)
    b = _database(server, "ten_b", TEN_BASE_COSMETIC)
    with psycopg.connect(b, autocommit=True) as conn:
        for statement, _, _ in TEN_CHANGES:
            conn.execute(statement)
    ours, found = timed(pgwarden_way, a, b)
    peer, lines = timed(pg_dump_way, a, b)
    kinds = [d.kind for d in found]
    ours_found = 0
    for _, kind, _ in TEN_CHANGES:
        if kind in kinds:
            kinds.remove(kind)
            ours_found += 1
    text_found = sum(1 for _, _, marker in TEN_CHANGES if any(marker in line for line in lines))
    # Noise: what each way reports for two schemas that differ only cosmetically.
    ours_noise, text_noise = pgwarden_way(a, cosmetic), pg_dump_way(a, cosmetic)
    print(
        "the ten hand-made changes, on a copy that also differs cosmetically (column order, function-body whitespace):"
    )
    _row("10-change scenario", ours, len(found), peer, len(lines))
    print(
        f"  found: pgwarden {ours_found}/10 with the right kind ({len(kinds)} other); "
        f"pg_dump+diff {text_found}/10 visible somewhere in {len(lines)} changed lines"
    )
    print(
        f"  noise (cosmetic differences only, nothing to report): pgwarden {len(ours_noise)} drift difference(s), "
        f"pg_dump+diff {len(text_noise)} changed line(s)"
    )
    for line in text_noise[:4]:
        print(f"    text noise: {line[:100]}")


def main() -> None:
    tables = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    with tempfile.TemporaryDirectory(prefix="pgwarden-bench-") as folder:
        # pg_dump locks every table in one transaction: room for 5,000 of them.
        server = EmbeddedServer(Path(folder) / "data", settings={**FAST_SETTINGS, "max_locks_per_transaction": "1024"})
        server.start()
        try:
            with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
                admin.execute(BASE)
            print(
                f"median of {RUNS} runs each; pgwarden = two catalog snapshots + diff, "
                "peer = two `pg_dump --schema-only` + unified text diff (each way reads both databases at once)"
            )
            examples(server)
            ten(server)
            big(server, tables)
        finally:
            server.stop(mode="immediate")


if __name__ == "__main__":
    main()
