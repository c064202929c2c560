"""Catalog reads about tables and their partitions (read-only; AccessShare locks at most).

Guarantees: bounds are read from ``pg_get_expr(relpartbound)`` on a session
whose TimeZone is UTC (see :func:`open_session`), so timestamptz bounds parse to
the instants PostgreSQL routes by; gaps and overlaps are computed on those
parsed bounds, never on names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from pgwarden.errors import BadInput
from pgwarden.partition.naming import as_utc
from pgwarden.partition.qualified import QualifiedName

if TYPE_CHECKING:
    import psycopg

_RANGE = re.compile(r"^FOR VALUES FROM \((?P<lo>.*)\) TO \((?P<hi>.*)\)$")
_HASH = re.compile(r"^FOR VALUES WITH \(modulus (?P<m>\d+), remainder (?P<r>\d+)\)$")
_MIN = datetime(1, 1, 1, tzinfo=UTC)
TIME_TYPES = ("timestamp with time zone", "timestamp without time zone", "date")


def open_session(url: str) -> psycopg.Connection[Any]:
    """An autocommit connection (via :func:`pgwarden.db.connect`) with TimeZone UTC."""
    from pgwarden.db import connect

    conn = connect(url, application_name="pgwarden:partition")
    conn.execute("SET TimeZone = 'UTC'")
    return conn


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    generated: bool
    identity: bool


@dataclass(frozen=True)
class TableInfo:
    """What partition commands need to know about one table."""

    schema: str
    name: str
    oid: int
    partitioned: bool
    strategy: str | None  # 'range' | 'hash' | 'list' | None
    key: list[str]
    key_type: str | None
    columns: list[Column]
    primary_key: list[str]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def qualified_name(self) -> QualifiedName:
        return QualifiedName(self.schema, self.name)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise BadInput(f"{self.qualified}: no column {name!r}")


_TABLE_SQL = """
SELECT c.oid, c.relkind,
       CASE pt.partstrat WHEN 'r' THEN 'range' WHEN 'h' THEN 'hash' WHEN 'l' THEN 'list' END,
       coalesce((SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(pt.partattrs) WITH ORDINALITY k(att, ord)
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.att), '{}'),
       coalesce((SELECT array_agg(a.attname ORDER BY k.ord)
                 FROM pg_constraint con, unnest(con.conkey) WITH ORDINALITY k(att, ord)
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.att
                 WHERE con.conrelid = c.oid AND con.contype = 'p'), '{}')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_partitioned_table pt ON pt.partrelid = c.oid
WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')
"""

_COLUMNS_SQL = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attgenerated <> '', a.attidentity <> ''
FROM pg_attribute a WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
"""


def find_table(conn: psycopg.Connection[Any], name: QualifiedName) -> TableInfo | None:
    """Describe ``name``, or None when no such (plain or partitioned) table exists."""
    schema, table = name.schema, name.name
    row = conn.execute(_TABLE_SQL, [schema, table]).fetchone()
    if row is None:
        return None
    oid, relkind, strategy, key, pk = row
    columns = [Column(*r) for r in conn.execute(_COLUMNS_SQL, [oid]).fetchall()]
    key_type = None
    if key:
        key_type = next((c.type for c in columns if c.name == key[0]), None)
    return TableInfo(schema, table, oid, relkind == "p", strategy, list(key), key_type, columns, list(pk))


def table_info(conn: psycopg.Connection[Any], name: QualifiedName) -> TableInfo:
    """Describe ``name``; BadInput (exit 2) when it does not exist."""
    info = find_table(conn, name)
    if info is None:
        raise BadInput(f"table {name} does not exist")
    return info


@dataclass
class PartitionInfo:
    """One partition of a partitioned table, with its parsed bounds and size."""

    schema: str
    name: str
    bound: str
    is_default: bool
    detach_pending: bool
    lower: datetime | None = None  # None = MINVALUE (range) or not a range
    upper: datetime | None = None  # None = MAXVALUE
    modulus: int | None = None
    remainder: int | None = None
    rows: int = 0
    rows_exact: bool = False
    size_bytes: int = 0
    flags: list[str] = field(default_factory=list)


_PARTITIONS_SQL = """
SELECT n.nspname, c.relname, pg_get_expr(c.relpartbound, c.oid), i.inhdetachpending,
       c.reltuples::bigint, pg_total_relation_size(c.oid)
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.inhparent = %s
ORDER BY c.relname
"""


def parse_bound_value(text: str) -> datetime | None:
    """One bound value of a time range (``'2026-11-01 00:00:00+00'``) as UTC; None for MINVALUE/MAXVALUE."""
    text = text.strip()
    if text.upper() in ("MINVALUE", "MAXVALUE"):
        return None
    value = text.strip("'")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
    return as_utc(parsed)


def partitions(
    conn: psycopg.Connection[Any], parent_oid: int, *, exact_below: int | None = 100_000
) -> list[PartitionInfo]:
    """Every partition of ``parent_oid`` with parsed bounds (the one bound parser of pgwarden).

    Row counts are exact (``count(*)``) for partitions below ``exact_below`` estimated
    rows; ``exact_below=None`` never counts (catalog reads only).
    """
    from psycopg import sql

    out: list[PartitionInfo] = []
    for schema, name, bound, pending, reltuples, size in conn.execute(_PARTITIONS_SQL, [parent_oid]).fetchall():
        info = PartitionInfo(schema, name, bound, bound == "DEFAULT", bool(pending), size_bytes=int(size))
        match = _RANGE.match(bound)
        if match:
            try:
                info.lower = parse_bound_value(match["lo"])
                info.upper = parse_bound_value(match["hi"])
            except ValueError:
                info.flags.append("bounds not a time range")
        hashed = _HASH.match(bound)
        if hashed:
            info.modulus, info.remainder = int(hashed["m"]), int(hashed["r"])
        if exact_below is not None and reltuples < exact_below:
            counted = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, name))).fetchone()
            info.rows, info.rows_exact = int(counted[0]) if counted else 0, True
        else:
            info.rows = int(reltuples)
        if pending:
            info.flags.append("detach pending (interrupted DETACH CONCURRENTLY)")
        out.append(info)
    return out


@dataclass
class ListResult:
    """``partition list``: the partitions in bound order plus the gaps and overlaps between them."""

    table: str
    strategy: str | None
    key: list[str]
    partitions: list[PartitionInfo]
    gaps: list[tuple[datetime, datetime]]
    overlaps: list[tuple[str, str]]

    @property
    def ok(self) -> bool:
        return not self.gaps and not self.overlaps


def find_gaps(parts: list[PartitionInfo]) -> tuple[list[tuple[datetime, datetime]], list[tuple[str, str]]]:
    """Gaps (uncovered ranges) and overlaps (pairs of names) between consecutive range partitions."""
    ranged = sorted(
        (p for p in parts if not p.is_default and (p.lower or p.upper)),
        key=lambda p: (p.lower is not None, p.lower or _MIN),
    )
    gaps: list[tuple[datetime, datetime]] = []
    overlaps: list[tuple[str, str]] = []
    for before, after in zip(ranged, ranged[1:], strict=False):
        if before.upper is None or (after.lower is not None and before.upper > after.lower):
            overlaps.append((before.name, after.name))
        elif after.lower is not None and before.upper < after.lower:
            gaps.append((before.upper, after.lower))
    return gaps, overlaps


def list_partitions(conn: psycopg.Connection[Any], name: QualifiedName) -> ListResult:
    """``partition list``: BadInput when the table is not partitioned."""
    info = table_info(conn, name)
    if not info.partitioned:
        raise BadInput(
            f"{info.qualified} is not partitioned",
            hint=f"convert it online: pgwarden partition convert {info.qualified_name.shell()} --key K --interval I",
        )
    parts = partitions(conn, info.oid)
    ordered = sorted(
        parts,
        key=lambda p: (
            p.is_default,
            p.remainder if p.remainder is not None else -1,
            p.lower is not None,
            p.lower or _MIN,
            p.name,
        ),
    )
    gaps, overlaps = find_gaps(parts)
    for lo, hi in gaps:
        for p in ordered:
            if p.upper == lo:
                p.flags.append(f"gap after: no partition for [{lo:%Y-%m-%d %H:%M}, {hi:%Y-%m-%d %H:%M})")
    for a, _b in overlaps:
        for p in ordered:
            if p.name == a:
                p.flags.append("overlaps the next partition")
    if info.strategy == "hash" and parts:
        modulus = max(p.modulus or 0 for p in parts)
        present = {p.remainder for p in parts if p.modulus == modulus}
        missing = sorted(set(range(modulus)) - present)
        if missing:
            ordered[0].flags.append(f"missing hash remainders {missing}")
    return ListResult(info.qualified, info.strategy, info.key, ordered, gaps, overlaps)


def covers(parts: list[PartitionInfo], moment: datetime) -> bool:
    """Whether a range partition (not the default one) holds ``moment``."""
    return any(
        not p.is_default
        and (p.lower or p.upper)
        and (p.lower is None or p.lower <= moment)
        and (p.upper is None or moment < p.upper)
        for p in parts
    )


@dataclass
class ManagedTable:
    """What pgwarden manages around one configured partitioned table (expected, not drift)."""

    parent: str
    attached: list[str] = field(default_factory=list)  # partitions, as schema.name
    detached: list[str] = field(default_factory=list)  # standalone tables named like its partitions (retention)
    kept_originals: list[str] = field(default_factory=list)  # ``<table>_pgw_old`` kept by convert

    @property
    def names(self) -> set[str]:
        """Every managed relation as ``schema.name``."""
        return set(self.attached) | set(self.detached) | set(self.kept_originals)


_STANDALONE_SQL = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname ~ %s
ORDER BY 1
"""


def child_name_pattern(table: str) -> str:
    """A regex for the names :mod:`pgwarden.partition.naming` gives the partitions of ``table``."""
    return "^" + re.escape(table) + r"_(p\d{4}(_\d{2}(_\d{2})?|w\d{2}|q[1-4])?|h\d+|default)$"


def managed(conn: psycopg.Connection[Any], name: QualifiedName) -> ManagedTable:
    """The partitions of ``name``, detached tables named like them and a kept original (catalog reads only)."""
    from pgwarden.partition.naming import shorten

    out = ManagedTable(str(name))
    info = find_table(conn, name)
    if info is not None and info.partitioned:
        out.attached = sorted(f"{p.schema}.{p.name}" for p in partitions(conn, info.oid, exact_below=None))
    out.detached = [
        f"{name.schema}.{r[0]}"
        for r in conn.execute(_STANDALONE_SQL, [name.schema, child_name_pattern(name.name)]).fetchall()
    ]
    old = name.sibling(shorten(name.name, "_pgw_old"))
    if find_table(conn, old) is not None:
        out.kept_originals = [str(old)]
    return out
