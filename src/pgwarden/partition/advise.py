"""``partition advise``: which tables to partition, by which key and interval, with projected sizes.

Thresholds are the usual rule of thumb for when to partition: more than 1M rows, more than
10 GB, more than 100k rows a month of growth, and sequential scans on large
tables. Read-only: catalog and statistics views, plus ``min``/``max`` of candidate
key columns under a short ``statement_timeout`` (skipped when too slow).

Key choice: the timestamp/date column most used in WHERE clauses according to
``pg_stat_statements`` when that extension is installed; otherwise the NOT NULL
time column whose name says "creation" (created_at, inserted_at, ...), else the
first time column; with no time column, hash partitioning on the primary key.
Interval: the longest of year, month, week, day that keeps a partition under
``max_partition_rows`` rows at the observed growth.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from psycopg import sql

from pgwarden.partition.inspect import TIME_TYPES, open_session

if TYPE_CHECKING:
    import psycopg

    from pgwarden.config import Config

PREFERRED = ("created_at", "inserted_at", "occurred_at", "logged_at", "timestamp", "ts", "time", "at", "date")


@dataclass(frozen=True)
class Thresholds:
    """When a table deserves partitioning (the usual rule-of-thumb numbers by default)."""

    rows: int = 1_000_000
    bytes: int = 10 * 1024**3
    monthly_rows: int = 100_000
    seq_scan_rows: int = 100_000  # a table this large being scanned sequentially
    seq_scans: int = 50
    max_partition_rows: int = 20_000_000


@dataclass
class Advice:
    """One table: why to partition it, how, and what partitions would look like."""

    table: str
    rows: int
    size_bytes: int
    seq_scans: int
    monthly_rows: int | None
    reasons: list[str] = field(default_factory=list)
    key: str | None = None
    key_source: str | None = None
    interval: str | None = None
    modulus: int | None = None
    partition_rows: int | None = None
    partition_bytes: int | None = None
    command: str | None = None


@dataclass
class AdviseResult:
    """``partition advise``: tables worth partitioning, most urgent first."""

    env: str
    pg_stat_statements: bool
    advice: list[Advice]


_TABLES_SQL = """
SELECT n.nspname, c.relname, c.oid, greatest(c.reltuples, coalesce(s.n_live_tup, 0))::bigint,
       pg_total_relation_size(c.oid), coalesce(s.seq_scan, 0)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE c.relkind = 'r' AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgwarden') AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY pg_total_relation_size(c.oid) DESC
"""

_TIME_COLUMNS_SQL = """
SELECT a.attname, a.attnotnull FROM pg_attribute a
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped AND format_type(a.atttypid, NULL) = ANY(%s)
ORDER BY a.attnum
"""

_PK_SQL = """
SELECT a.attname FROM pg_constraint con JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
WHERE con.conrelid = %s AND con.contype = 'p'
"""


def _statements(conn: psycopg.Connection[Any]) -> list[tuple[str, int]] | None:
    try:
        with conn.transaction():
            rows = conn.execute("SELECT query, calls FROM pg_stat_statements").fetchall()
    except Exception:  # noqa: BLE001 - not installed or not preloaded: advise without it
        return None
    return [(str(q), int(c)) for q, c in rows]


def _where_uses(statements: list[tuple[str, int]], table: str, column: str) -> int:
    pattern = re.compile(rf"\bwhere\b.*\b{re.escape(column)}\b", re.I | re.S)
    return sum(calls for query, calls in statements
               if re.search(rf"\b{re.escape(table)}\b", query) and pattern.search(query))


def _pick_key(columns: list[tuple[str, bool]], table: str,
              statements: list[tuple[str, int]] | None) -> tuple[str | None, str | None]:
    if not columns:
        return None, None
    if statements:
        used = sorted(((_where_uses(statements, table, name), name) for name, _nn in columns), reverse=True)
        if used[0][0] > 0:
            return used[0][1], f"pg_stat_statements: in WHERE clauses of {used[0][0]} calls"
    ranked = sorted(columns, key=lambda c: (not c[1], PREFERRED.index(c[0]) if c[0] in PREFERRED else len(PREFERRED)))
    return ranked[0][0], "column name and NOT NULL" if ranked[0][1] else "column name"


def _months(first: datetime, last: datetime) -> float:
    return max((last - first).total_seconds() / (30.44 * 86400), 1.0)


def choose_interval(monthly_rows: int, max_rows: int) -> tuple[str, float]:
    """The longest interval whose partitions stay under ``max_rows``; returns (interval, months per partition)."""
    for interval, months in (("1 year", 12.0), ("1 month", 1.0), ("1 week", 7 / 30.44)):
        if monthly_rows * months <= max_rows:
            return interval, months
    return "1 day", 1 / 30.44


def advise(config: Config, env: str | None, *, thresholds: Thresholds | None = None) -> AdviseResult:
    """Tables past a threshold that are not partitioned yet, with key, interval and projected partition sizes."""
    from pgwarden.db import resolve_target
    from pgwarden.units import human_size

    limits = thresholds or Thresholds()
    target = resolve_target(config, env)
    conn = open_session(target.url)
    out: list[Advice] = []
    try:
        statements = _statements(conn)
        for schema, name, oid, rows, size, seq_scans in conn.execute(_TABLES_SQL).fetchall():
            advice = Advice(f"{schema}.{name}", int(rows), int(size), int(seq_scans), None)
            columns = [(c, bool(nn)) for c, nn in conn.execute(_TIME_COLUMNS_SQL, [oid, list(TIME_TYPES)]).fetchall()]
            key, source = _pick_key(columns, name, statements)
            first = last = None
            if key:
                try:
                    with conn.transaction():
                        conn.execute("SET LOCAL statement_timeout = '5s'")
                        first, last = conn.execute(sql.SQL("SELECT min({k}), max({k}) FROM {t}").format(
                            k=sql.Identifier(key), t=sql.Identifier(schema, name))).fetchone() or (None, None)
                except Exception:  # noqa: BLE001 - too slow without an index: no growth figure
                    first = last = None
            if first is not None and last is not None:
                first_dt = first if isinstance(first, datetime) else datetime.combine(first, datetime.min.time())
                last_dt = last if isinstance(last, datetime) else datetime.combine(last, datetime.min.time())
                advice.monthly_rows = int(rows / _months(first_dt, last_dt))
            if rows > limits.rows:
                advice.reasons.append(f"{rows:,} rows (> {limits.rows:,})")
            if size > limits.bytes:
                advice.reasons.append(f"{human_size(size)} (> {human_size(limits.bytes)})")
            if advice.monthly_rows is not None and advice.monthly_rows > limits.monthly_rows:
                advice.reasons.append(f"~{advice.monthly_rows:,} new rows a month (> {limits.monthly_rows:,})")
            if seq_scans >= limits.seq_scans and rows >= limits.seq_scan_rows:
                advice.reasons.append(f"{seq_scans:,} sequential scans on a {rows:,}-row table")
            if not advice.reasons:
                continue
            bytes_per_row = size / rows if rows else 0
            if key:
                advice.key, advice.key_source = key, source
                monthly = advice.monthly_rows or rows
                advice.interval, months = choose_interval(monthly, limits.max_partition_rows)
                advice.partition_rows = int(monthly * months)
                advice.command = (f"pgwarden partition convert {schema}.{name} --key {key} "
                                  f"--interval '{advice.interval}'")
            else:
                pk = conn.execute(_PK_SQL, [oid]).fetchone()
                if pk:
                    advice.key, advice.key_source = str(pk[0]), "primary key (no time column: hash)"
                    advice.modulus = max(4, 2 ** math.ceil(math.log2(max(1, rows / limits.max_partition_rows * 4))))
                    advice.partition_rows = int(rows / advice.modulus)
                    advice.command = (f"pgwarden partition convert {schema}.{name} --key {pk[0]} "
                                      f"--modulus {advice.modulus}")
            if advice.partition_rows is not None:
                advice.partition_bytes = int(advice.partition_rows * bytes_per_row)
            out.append(advice)
    finally:
        conn.close()
    return AdviseResult(target.env_name, statements is not None, out)
