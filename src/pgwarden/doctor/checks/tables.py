"""Tables: bloat estimates, dead rows, vacuum/analyze staleness, the largest tables and their growth."""

from __future__ import annotations

import json
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from pgwarden.doctor.checks._util import plural, qname, seconds, size
from pgwarden.doctor.model import Outcome, ok
from pgwarden.doctor.registry import CheckContext, check


@check("bloat", "tables")
def bloat(ctx: CheckContext) -> Outcome:
    """Estimated wasted space in tables and btree indexes (from planner statistics): bloat makes scans
    read pages full of dead space and wastes cache."""
    min_size = ctx.thresholds["bloat_min_size"]
    rows = ctx.rows("bloat", {"min_size": int(min_size)})
    bad = [r for r in rows if r["wasted_pct"] >= ctx.thresholds["bloat_warn_pct"] and r["wasted_bytes"] >= min_size]
    if not bad:
        return ok(
            f"no table or index estimated more than {ctx.thresholds['bloat_warn_pct']:g}% bloated "
            f"(from {size(min_size)})",
            rows[:10],
        )
    fix = []
    for r in bad:
        if r["kind"] == "index":
            fix.append(f"REINDEX INDEX CONCURRENTLY {qname(ctx.conn, r['schema'], r['index'])};")
        else:
            fix.append(
                f"-- {r['schema']}.{r['table']}: VACUUM FULL locks the table; prefer pg_repack, "
                f"or: VACUUM (FULL, ANALYZE) {qname(ctx.conn, r['schema'], r['table'])};"
            )
    return Outcome(
        "warn",
        f"{plural(len(bad), 'relation')} estimated over {ctx.thresholds['bloat_warn_pct']:g}% "
        f"bloated ({size(sum(r['wasted_bytes'] for r in bad))} wasted)",
        bad,
        fix,
    )


@check("dead_tuples", "tables", heavy=True)
def dead_tuples(ctx: CheckContext) -> Outcome:
    """Tables with many dead rows: vacuum is not keeping up (or is disabled), so the table grows and
    scans slow down."""
    rows = ctx.rows(
        "dead_tuples",
        {"pct": ctx.thresholds["dead_tuples_warn_pct"], "min_dead": int(ctx.thresholds["dead_tuples_min"])},
    )
    if not rows:
        return ok(f"no table with more than {ctx.thresholds['dead_tuples_warn_pct']:g}% dead rows")
    fix = []
    for r in rows:
        name = qname(ctx.conn, r["schema"], r["table"])
        fix.append(f"VACUUM (ANALYZE) {name};")
        if r["autovacuum_enabled"].lower() in ("off", "false", "0", "no"):
            fix.append(f"ALTER TABLE {name} RESET (autovacuum_enabled);  -- autovacuum is off for it")
    worst = rows[0]
    return Outcome(
        "warn",
        f"{plural(len(rows), 'table')} with many dead rows (worst {worst['schema']}."
        f"{worst['table']}: {worst['dead_rows']} dead, {worst['dead_pct']:g}%)",
        rows,
        fix,
    )


@check("vacuum_staleness", "tables")
def vacuum_staleness(ctx: CheckContext) -> Outcome:
    """Changed tables that have not been vacuumed or analyzed for a long time: stale statistics give bad
    plans, and autovacuum may be blocked or misconfigured."""
    stale = ctx.thresholds["vacuum_stale"]
    rows = ctx.rows("vacuum_staleness", {"stale_seconds": stale})
    if not rows:
        return ok(f"every changed table was vacuumed and analyzed within {seconds(stale)}")
    fix = []
    for r in rows:
        verb = "VACUUM (ANALYZE)" if r["needs_vacuum"] else "ANALYZE"
        fix.append(f"{verb} {qname(ctx.conn, r['schema'], r['table'])};")
    return Outcome(
        "warn", f"{plural(len(rows), 'table')} not vacuumed or analyzed for {seconds(stale)} despite changes", rows, fix
    )


def _snapshots_file(ctx: CheckContext) -> Path | None:
    if ctx.config is None:
        return None
    return ctx.config.state_path / "doctor" / f"table-sizes-{ctx.env_name or 'default'}.json"


def _growth(ctx: CheckContext, rows: list[dict[str, Any]]) -> str | None:
    """Compare with the oldest snapshot of the last 7 days and record this one (at most one per hour)."""
    path = _snapshots_file(ctx)
    if path is None:
        return None
    now = time.time()
    try:
        history: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        history = []
    history = [h for h in history if isinstance(h, dict) and now - h.get("at", 0) <= 30 * 86400]
    base = min((h for h in history if now - h["at"] <= 7 * 86400), key=lambda h: h["at"], default=None)
    for r in rows:
        key = f"{r['schema']}.{r['table']}"
        if base and key in base.get("sizes", {}):
            days = max((now - base["at"]) / 86400, 1 / 24)
            r["growth_bytes_per_day"] = int((r["total_bytes"] - base["sizes"][key]) / days)
    if not history or now - max(h["at"] for h in history) >= 3600:
        history.append({"at": now, "sizes": {f"{r['schema']}.{r['table']}": r["total_bytes"] for r in rows}})
        with suppress(OSError):  # growth tracking is best effort: a read-only project folder only loses it
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(history), encoding="utf-8")
    return None if base is None else f"growth measured since {seconds(now - base['at'])} ago"


@check("largest_tables", "tables", heavy=True)
def largest_tables(ctx: CheckContext) -> Outcome:
    """The largest tables (partitions summed into their table; sizes estimated from pg_class as of the
    last VACUUM/ANALYZE, without taking locks) and how fast they grow, from snapshots pgwarden keeps
    under .pgwarden/doctor/: where disk and backup time go."""
    rows = ctx.rows("largest_tables", {"top": int(ctx.thresholds["largest_tables_count"])})
    if not rows:
        return ok("no user table")
    note = _growth(ctx, rows)
    top = rows[0]
    summary = f"largest: {top['schema']}.{top['table']} about {size(top['total_bytes'])}"
    return ok(summary + (f"; {note}" if note else "; growth shown from the next run on"), rows)
