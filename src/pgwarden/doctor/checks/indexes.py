"""Indexes: unused, duplicate or redundant, invalid, and tables that look like they miss one."""

from __future__ import annotations

import re

from pgwarden.doctor.checks._util import plural, qname, size
from pgwarden.doctor.model import Outcome, ok
from pgwarden.doctor.registry import CheckContext, check


@check("unused_indexes", "indexes", heavy=True)
def unused_indexes(ctx: CheckContext) -> Outcome:
    """Indexes never used by a scan since statistics were reset: each one slows every write and takes
    disk and cache for nothing (check replicas too before dropping: their scans are not counted here)."""
    rows = ctx.rows("unused_indexes", {"min_size": int(ctx.thresholds["unused_index_min_size"])})
    floor = size(ctx.thresholds["unused_index_min_size"])
    if not rows:
        return ok(f"no unused index of {floor} or more")
    total = sum(r["size_bytes"] for r in rows)
    fix = [f"DROP INDEX CONCURRENTLY IF EXISTS {qname(ctx.conn, r['schema'], r['index'])};" for r in rows]
    return Outcome("warn", f"{plural(len(rows), 'index')} never scanned ({size(total)})", rows, fix)


@check("duplicate_indexes", "indexes", heavy=True)
def duplicate_indexes(ctx: CheckContext) -> Outcome:
    """Indexes that another index of the same table already covers (same columns, or a leading prefix of
    them): pure write and storage overhead."""
    rows = ctx.rows("duplicate_indexes")
    if not rows:
        return ok("no duplicate or redundant index")
    fix = [
        f"DROP INDEX CONCURRENTLY IF EXISTS {qname(ctx.conn, r['schema'], r['index'])};  "
        f"-- covered by {r['covered_by']}"
        for r in rows
    ]
    kinds = {k: sum(1 for r in rows if r["kind"] == k) for k in ("duplicate", "prefix")}
    return Outcome(
        "warn",
        f"{kinds['duplicate']} duplicate and {kinds['prefix']} redundant (prefix) "
        f"{'index' if len(rows) == 1 else 'indexes'} ({size(sum(r['size_bytes'] for r in rows))})",
        rows,
        fix,
    )


def _concurrently(definition: str) -> str:
    """``CREATE [UNIQUE] INDEX name ON ...`` as ``CREATE [UNIQUE] INDEX CONCURRENTLY name ON ...``."""
    return re.sub(r"^CREATE (UNIQUE )?INDEX ", r"CREATE \1INDEX CONCURRENTLY ", definition) + ";"


@check("invalid_indexes", "indexes")
def invalid_indexes(ctx: CheckContext) -> Outcome:
    """INVALID indexes, left by a failed CREATE INDEX CONCURRENTLY: never used by queries yet still updated
    by every write (and an invalid unique index enforces nothing reliably)."""
    rows = ctx.rows("invalid_indexes")
    broken = [r for r in rows if not r["being_built"]]
    if not rows:
        return ok("no invalid index")
    if not broken:
        return Outcome("warn", f"{plural(len(rows), 'index')} being built right now (invalid until done)", rows)
    fix: list[str] = []
    for r in broken:
        name = qname(ctx.conn, r["schema"], r["index"])
        if r["kind"] == "I":  # partitioned index: attach the missing partitions' indexes
            fix.append(
                f"-- {name} is partitioned: create the index on each partition, then "
                f"ALTER INDEX {name} ATTACH PARTITION <partition_index>;"
            )
            continue
        fix.append(f"DROP INDEX CONCURRENTLY IF EXISTS {name};")
        fix.append(_concurrently(r["definition"]) + "  -- after fixing what made it fail (e.g. duplicate keys)")
    names = ", ".join(f"{r['schema']}.{r['index']}" for r in broken)
    return Outcome("fail", f"{plural(len(broken), 'invalid index')}: {names}", rows, fix)


@check("missing_indexes", "indexes")
def missing_indexes(ctx: CheckContext) -> Outcome:
    """Large tables read mostly by sequential scans: a query filtering them probably lacks an index."""
    rows = ctx.rows(
        "missing_indexes",
        {
            "min_rows": int(ctx.thresholds["missing_index_min_rows"]),
            "min_seq_scans": int(ctx.thresholds["missing_index_min_seq_scans"]),
        },
    )
    if not rows:
        return ok("no large table read mostly by sequential scans")
    names = ", ".join(f"{r['schema']}.{r['table']}" for r in rows[:5])
    return Outcome(
        "warn",
        f"{plural(len(rows), 'large table')} read mostly by sequential scans: {names}",
        rows,
        [
            "find the statements that scan them: SELECT query, calls, rows FROM pg_stat_statements "
            "WHERE query ILIKE '%<table>%' ORDER BY total_exec_time DESC;",
            "EXPLAIN the worst one and CREATE INDEX CONCURRENTLY on its filter columns",
        ],
    )
