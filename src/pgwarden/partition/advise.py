"""``partition advise``: which tables to partition, by which key and interval, with projected sizes.

Thresholds (:class:`Thresholds`; each a flag of ``partition advise`` and a key of
``[partition] thresholds``): a table past 1M rows or 10 GB, or growing more than
100k rows a month, deserves partitioning; and the same row and size limits bound
each projected partition. Read-only: catalog and statistics views, plus
``min``/``max`` of candidate key columns under a short ``statement_timeout``
(skipped when too slow).

Key choice: the timestamp/date column most used in WHERE clauses according to
``pg_stat_statements`` when that extension is installed; otherwise the NOT NULL
time column whose name says "creation" (created_at, inserted_at, ...), else the
first time column; with no time column, hash partitioning on the primary key.
Interval: the longest of year, quarter, month, week, day whose projected
partitions stay within the row and size thresholds at the observed growth.

The advice never recommends a command that would be refused: a table without a
primary key, referenced by foreign keys, used by views, with user triggers, or
with unique constraints lacking the key gets ``blockers`` (what must change first)
and no command.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from psycopg import sql

from pgwarden.partition.inspect import TIME_TYPES, open_session, table_info
from pgwarden.partition.naming import Interval
from pgwarden.partition.qualified import QualifiedName

if TYPE_CHECKING:
    import psycopg

    from pgwarden.config import Config

PREFERRED = ("created_at", "inserted_at", "occurred_at", "logged_at", "timestamp", "ts", "time", "at", "date")
DAYS_PER_MONTH = 30.44
# longest first: (interval, months in one partition)
CANDIDATES = (
    (Interval.YEAR, 12.0),
    (Interval.QUARTER, 3.0),
    (Interval.MONTH, 1.0),
    (Interval.WEEK, 7 / DAYS_PER_MONTH),
    (Interval.DAY, 1 / DAYS_PER_MONTH),
)


@dataclass(frozen=True)
class Thresholds:
    """When a table deserves partitioning, and how large a projected partition may be."""

    rows: int = 1_000_000  # a table past this; also the most rows a partition should hold
    bytes: int = 10 * 1024**3  # a table past this; also the largest a partition should be
    monthly_rows: int = 100_000  # growth a month that calls for partitioning
    seq_scan_rows: int = 100_000  # a table this large being scanned sequentially ...
    seq_scans: int = 50  # ... this many times


@dataclass
class Advice:
    """One table: why to partition it, how, what partitions would look like, or what must change first."""

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
    command: str | None = None  # None when blocked
    blockers: list[str] = field(default_factory=list)  # what must change before the command can run


@dataclass
class AdviseResult:
    """``partition advise``: tables worth partitioning, most urgent first."""

    env: str
    pg_stat_statements: bool
    thresholds: Thresholds
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
    return sum(
        calls for query, calls in statements if re.search(rf"\b{re.escape(table)}\b", query) and pattern.search(query)
    )


def _pick_key(
    columns: list[tuple[str, bool]], table: str, statements: list[tuple[str, int]] | None
) -> tuple[str | None, str | None]:
    if not columns:
        return None, None
    if statements:
        used = sorted(((_where_uses(statements, table, name), name) for name, _nn in columns), reverse=True)
        if used[0][0] > 0:
            return used[0][1], f"pg_stat_statements: in WHERE clauses of {used[0][0]} calls"
    ranked = sorted(columns, key=lambda c: (not c[1], PREFERRED.index(c[0]) if c[0] in PREFERRED else len(PREFERRED)))
    return ranked[0][0], "column name and NOT NULL" if ranked[0][1] else "column name"


def _months(first: datetime, last: datetime) -> float:
    return max((last - first).total_seconds() / (DAYS_PER_MONTH * 86400), 1.0)


def choose_interval(monthly_rows: int, monthly_bytes: float, limits: Thresholds) -> tuple[Interval, float]:
    """The longest interval whose partitions stay within ``limits.rows`` and ``limits.bytes``; (interval, months)."""
    for interval, months in CANDIDATES:
        if monthly_rows * months <= limits.rows and monthly_bytes * months <= limits.bytes:
            return interval, months
    return CANDIDATES[-1]


def hash_modulus(rows: int, limits: Thresholds) -> int:
    """The smallest power of two (at least 4) that keeps ``rows`` within ``limits.rows`` a partition."""
    return int(max(4, 2 ** math.ceil(math.log2(max(1.0, rows / max(limits.rows, 1))))))


def blockers(conn: psycopg.Connection[Any], name: QualifiedName, key: str) -> list[str]:
    """What must change before ``partition convert`` of ``name`` by ``key`` would be accepted (empty: nothing).

    The same rules ``convert`` applies: a primary key, nothing that prevents the swap
    (:func:`pgwarden.partition.ddl.refusals`), no unique constraint that would lose
    its uniqueness (:func:`pgwarden.partition.ddl.widened_uniques`).
    """
    from pgwarden.partition import ddl

    info = table_info(conn, name)
    out: list[str] = []
    if not info.primary_key:
        out.append("add a primary key (online conversion copies and replays by it)")
    out += [f"{reason}: drop or move it first" for reason in ddl.refusals(conn, info)]
    for change in ddl.widened_uniques(conn, info, [key]):
        out.append(
            f"unique {change.name} ({', '.join(change.before)}) does not include {key}: keep that uniqueness "
            "elsewhere first (a lookup table with the unique constraint), or accept "
            f"UNIQUE ({', '.join(change.after)}) with --widen-unique"
        )
    return out


def advise(config: Config, env: str | None, *, thresholds: Thresholds | None = None) -> AdviseResult:
    """Tables past a threshold that are not partitioned yet, with key, interval, projected partition sizes,
    and either a command that will be accepted or the blockers to remove first."""
    from pgwarden.partition.target import resolve
    from pgwarden.units import human_size

    limits = thresholds or Thresholds()
    target = resolve(config, env, changes=False)
    conn = open_session(target.url)
    out: list[Advice] = []
    try:
        statements = _statements(conn)
        for schema, name, oid, rows, size, seq_scans in conn.execute(_TABLES_SQL).fetchall():
            qualified = QualifiedName(schema, name)
            advice = Advice(str(qualified), int(rows), int(size), int(seq_scans), None)
            columns = [(c, bool(nn)) for c, nn in conn.execute(_TIME_COLUMNS_SQL, [oid, list(TIME_TYPES)]).fetchall()]
            key, source = _pick_key(columns, name, statements)
            first, last = _key_range(conn, qualified, key) if key else (None, None)
            if first is not None and last is not None:
                advice.monthly_rows = int(rows / _months(first, last))
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
                interval, months = choose_interval(monthly, monthly * bytes_per_row, limits)
                advice.interval = interval.value
                advice.partition_rows = int(monthly * months)
                option = f"--interval '{interval.value}'"
            else:
                pk = conn.execute(_PK_SQL, [oid]).fetchone()
                if pk:
                    advice.key, advice.key_source = str(pk[0]), "primary key (no time column: hash)"
                    advice.modulus = hash_modulus(int(rows), limits)
                    advice.partition_rows = int(rows / advice.modulus)
                    option = f"--modulus {advice.modulus}"
            if advice.partition_rows is not None:
                advice.partition_bytes = int(advice.partition_rows * bytes_per_row)
            if advice.key:
                advice.blockers = blockers(conn, qualified, advice.key)
                if not advice.blockers:
                    advice.command = f"pgwarden partition convert {qualified.shell()} --key {advice.key} {option}"
            else:
                advice.blockers = [
                    "no time column and no primary key: add a primary key (then hash partitioning "
                    "by it), or a time column to partition by"
                ]
            out.append(advice)
    finally:
        conn.close()
    return AdviseResult(target.env, statements is not None, limits, out)


def _key_range(conn: psycopg.Connection[Any], name: QualifiedName, key: str) -> tuple[datetime | None, datetime | None]:
    """min/max of ``key`` as naive datetimes, or (None, None) when it takes longer than 5 s or is empty."""
    try:
        with conn.transaction():
            conn.execute("SET LOCAL statement_timeout = '5s'")
            row = conn.execute(
                sql.SQL("SELECT min({k}), max({k}) FROM {t}").format(k=sql.Identifier(key), t=name.ident())
            ).fetchone()
    except Exception:  # noqa: BLE001 - too slow without an index: no growth figure
        return None, None
    if not row or row[0] is None:
        return None, None

    def naive(value: Any) -> datetime:
        return value if isinstance(value, datetime) else datetime.combine(value, datetime.min.time())

    return naive(row[0]), naive(row[1])
