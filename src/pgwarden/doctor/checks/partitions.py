"""Partitioned tables from ``[[partitions]]``: partitions for the current and coming periods, rows in the
default partition, hash partition count.

Everything partition-specific comes from :mod:`pgwarden.partition`: the entries as validated
layouts (``schema.table`` parsed once), the partitions with bounds parsed by
:mod:`pgwarden.partition.inspect`, the periods and the fix DDL. This check only judges.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pgwarden.doctor.checks._util import plural
from pgwarden.doctor.model import Outcome, Status, ok
from pgwarden.doctor.registry import CheckContext, check

DEFAULT_ROWS_LIMIT = 100_000
_ORDER = {"ok": 0, "warn": 1, "fail": 2}


def _worse(a: Status, b: Status) -> Status:
    return a if _ORDER[a] >= _ORDER[b] else b


def _range_problems(
    ctx: CheckContext, layout: Any, table: Any, parts: list[Any], now: datetime
) -> tuple[Status, list[str], list[str]]:
    """Status, problems and fixes for a range-partitioned table at ``now``."""
    from pgwarden.partition.api import missing_periods

    has_default = any(p.is_default for p in parts)
    status: Status = "ok"
    problems: list[str] = []
    fixes: list[str] = []
    for index, wanted, fix in missing_periods(ctx.conn, layout, table, parts, now):
        when = "current" if index == 0 else f"+{index}"
        problems.append(f"no partition for the {when} period starting {wanted.lower:%Y-%m-%d}")
        status = _worse(status, "fail" if index == 0 and not has_default else "warn")
        fixes.append(fix)
    return status, problems, fixes


def _default_rows(ctx: CheckContext, parts: list[Any]) -> tuple[Status, list[str], list[str]]:
    from psycopg import sql

    status: Status = "ok"
    problems: list[str] = []
    fixes: list[str] = []
    for part in (p for p in parts if p.is_default):
        count = ctx.run(
            sql.SQL("SELECT count(*) AS n FROM (SELECT 1 FROM {} LIMIT %(limit)s) x").format(
                sql.Identifier(part.schema, part.name)
            ),
            {"limit": DEFAULT_ROWS_LIMIT},
        )[0]["n"]
        if count:
            problems.append(
                f"{count}{'+' if count >= DEFAULT_ROWS_LIMIT else ''} rows in the default partition {part.name}"
            )
            status = "warn"
            fixes.append(
                f"move the rows of {part.name} into proper partitions "
                "(pgwarden partition maintain), then keep the default empty"
            )
    return status, problems, fixes


def _one(ctx: CheckContext, layout: Any, now: datetime) -> tuple[Status, list[str], list[str], int]:
    from pgwarden.partition.inspect import find_table, partitions

    table = find_table(ctx.conn, layout.name)
    if table is None or not table.partitioned:
        return (
            "warn",
            [f"{layout.name} does not exist or is not partitioned"],
            [f"pgwarden partition create {layout.name.shell()}  (or convert the existing table)"],
            0,
        )
    parts = partitions(ctx.conn, table.oid, exact_below=None)
    status: Status = "ok"
    problems: list[str] = []
    fixes: list[str] = []
    if layout.interval:
        status, problems, fixes = _range_problems(ctx, layout, table, parts, now)
    else:
        hashed = [p for p in parts if not p.is_default]
        if len(hashed) != layout.modulus:
            status = "warn"
            problems.append(f"{len(hashed)} hash partitions, config says modulus {layout.modulus}")
    default_status, default_problems, default_fixes = _default_rows(ctx, parts)
    status = _worse(status, default_status)
    problems += default_problems
    fixes += default_fixes
    if problems and layout.interval:
        fixes.insert(0, "pgwarden partition maintain")
    return status, problems, fixes, len(parts)


@check("partitions", "partitions")
def partitions(ctx: CheckContext) -> Outcome:
    """Tables of ``[[partitions]]``: a missing partition for the current period makes inserts fail (or land
    in the default partition), one missing for the coming periods will; rows in the default partition
    block creating the partition they belong to."""
    from pgwarden.partition.spec import configured

    layouts = configured(ctx.config) if ctx.config is not None else []
    if not layouts:
        return ok("no [[partitions]] configured")
    now = ctx.now
    evidence: list[dict[str, Any]] = []
    fix: list[str] = []
    worst: Status = "ok"
    for layout in layouts:
        status, problems, fixes, count = _one(ctx, layout, now)
        evidence.append({"table": str(layout.name), "status": status, "partitions": count, "problems": problems})
        fix += fixes
        worst = _worse(worst, status)
    problems_all = [f"{e['table']}: {p}" for e in evidence for p in e["problems"]]
    if worst == "ok":
        return ok(f"{plural(len(layouts), 'partitioned table')} covered for the coming periods", evidence)
    return Outcome(worst, "; ".join(problems_all[:3]) + (" ..." if len(problems_all) > 3 else ""), evidence, fix)
