"""Partitioned tables from ``[[partitions]]``: partitions for the current and coming periods, rows in the
default partition, hash partition count.

Period arithmetic comes from :mod:`pgwarden.partition.naming` (``period``, ``shift``, ``bound_literal``);
when that module is unavailable or the interval is not one it supports, the check falls back to
"now" and "now + interval" computed by the server and names no partition in its fix.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pgwarden.doctor.checks._util import plural, qname
from pgwarden.doctor.model import Outcome, Status, ok
from pgwarden.doctor.registry import CheckContext, check

_RANGE = re.compile(r"FROM \((.+?)\) TO \((.+?)\)$")
DEFAULT_ROWS_LIMIT = 100_000


def _bound(text: str) -> datetime | str | None:
    """A single-column range bound as an aware datetime, or 'MINVALUE'/'MAXVALUE'; None if not a time."""
    text = text.strip()
    if text in ("MINVALUE", "MAXVALUE"):
        return text
    if not (text.startswith("'") and text.endswith("'")) or "," in text:
        return None
    try:
        value = datetime.fromisoformat(text[1:-1])
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _covers(lo: datetime | str, hi: datetime | str, moment: datetime) -> bool:
    return (lo == "MINVALUE" or (isinstance(lo, datetime) and lo <= moment)) and \
           (hi == "MAXVALUE" or (isinstance(hi, datetime) and moment < hi))


def _periods(ctx: CheckContext, table: str, interval: str, premake: int) -> list[dict[str, Any]]:
    """The current period and ``max(premake, 1)`` periods ahead, each with its start (and name if known)."""
    now = datetime.now(UTC)
    ahead = max(premake, 1)
    try:
        from pgwarden.partition import naming

        unit = naming.parse_interval(interval)
        return [{"name": p.name, "lower": p.lower, "upper": p.upper}
                for p in naming.wanted_periods(table, unit, now, ahead)]
    except (ImportError, AttributeError, ValueError):
        rows = ctx.run("SELECT now() + %(i)s::interval * g AS at FROM generate_series(0, %(n)s) g",
                       {"i": interval, "n": ahead})
        return [{"name": None, "lower": r["at"], "upper": None} for r in rows]


def _range_problems(ctx: CheckContext, spec: Any, parts: list[dict[str, Any]],
                    key_type: str) -> tuple[Status, list[str], list[str]]:
    """Status, problems and fixes for a range-partitioned table."""
    bounds = []
    for p in parts:
        match = _RANGE.search(p["bound"] or "")
        if match:
            lo, hi = _bound(match.group(1)), _bound(match.group(2))
            if lo is not None and hi is not None:
                bounds.append((lo, hi))
    has_default = any(p["bound"] == "DEFAULT" for p in parts)
    problems: list[str] = []
    fixes: list[str] = []
    status: Status = "ok"
    for index, wanted in enumerate(_periods(ctx, spec.table, spec.interval, spec.premake)):
        if any(_covers(lo, hi, wanted["lower"]) for lo, hi in bounds):
            continue
        when = "current" if index == 0 else f"+{index}"
        problems.append(f"no partition for the {when} period starting {wanted['lower']:%Y-%m-%d}")
        if index == 0 and not has_default:
            status = "fail"
        elif status == "ok":
            status = "warn"
        if wanted["name"] and wanted["upper"]:
            from pgwarden.partition.naming import bound_literal

            lo_text, hi_text = bound_literal(wanted["lower"], key_type), bound_literal(wanted["upper"], key_type)
            fixes.append(f"CREATE TABLE {qname(ctx.conn, spec.schema_name, wanted['name'])} PARTITION OF "
                         f"{qname(ctx.conn, spec.schema_name, spec.table)} "
                         f"FOR VALUES FROM ('{lo_text}') TO ('{hi_text}');")
    return status, problems, fixes


@check("partitions", "partitions")
def partitions(ctx: CheckContext) -> Outcome:
    """Tables of ``[[partitions]]``: a missing partition for the current period makes inserts fail (or land
    in the default partition), one missing for the coming periods will; rows in the default partition
    block creating the partition they belong to."""
    from psycopg import sql

    default_rows_sql = sql.SQL("SELECT count(*) AS n FROM (SELECT 1 FROM {} LIMIT %(limit)s) x")
    from pgwarden.partition.spec import entries

    specs = entries(ctx.config) if ctx.config is not None else []
    if not specs:
        return ok("no [[partitions]] configured")
    evidence: list[dict[str, Any]] = []
    fix: list[str] = []
    worst: Status = "ok"
    order = {"ok": 0, "warn": 1, "fail": 2}
    for spec in specs:
        name = qname(ctx.conn, spec.schema_name, spec.table)
        parts = [p for p in ctx.rows("partition_children", {"table": name})]
        status: Status = "ok"
        problems: list[str] = []
        fixes: list[str] = []
        if not parts:
            status, problems = "warn", [f"{spec.schema_name}.{spec.table} does not exist or is not partitioned"]
            fixes = [f"pgwarden partition create {spec.table}  (or convert the existing table)"]
        else:
            children = [p for p in parts if p["partition"] is not None]
            if spec.interval:
                status, problems, fixes = _range_problems(ctx, spec, children, parts[0]["key_type"] or "")
            elif spec.modulus and len([p for p in children if p["bound"] != "DEFAULT"]) != spec.modulus:
                status = "warn"
                problems.append(f"{len(children)} hash partitions, config says modulus {spec.modulus}")
            for p in children:
                if p["bound"] == "DEFAULT":
                    count = ctx.run(default_rows_sql.format(sql.Identifier(p["partition_schema"], p["partition"])),
                                    {"limit": DEFAULT_ROWS_LIMIT})[0]["n"]
                    if count:
                        problems.append(f"{count}{'+' if count >= DEFAULT_ROWS_LIMIT else ''} rows in the "
                                        f"default partition {p['partition']}")
                        status = "warn" if status == "ok" else status
                        fixes.append(f"move the rows of {p['partition']} into proper partitions "
                                     "(pgwarden partition maintain), then keep the default empty")
            if problems and spec.interval:
                fixes.insert(0, "pgwarden partition maintain")
        evidence.append({"table": f"{spec.schema_name}.{spec.table}", "status": status,
                         "partitions": len([p for p in parts if p["partition"]]), "problems": problems})
        fix += fixes
        if order[status] > order[worst]:
            worst = status
    problems_all = [f"{e['table']}: {p}" for e in evidence for p in e["problems"]]
    if worst == "ok":
        return ok(f"{plural(len(specs), 'partitioned table')} covered for the coming periods", evidence)
    return Outcome(worst, "; ".join(problems_all[:3]) + (" ..." if len(problems_all) > 3 else ""), evidence, fix)
