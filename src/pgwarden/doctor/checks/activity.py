"""Sessions: connection usage, long-running statements, idle transactions, lock waits."""

from __future__ import annotations

from pgwarden.doctor.checks._util import plural, qname, seconds
from pgwarden.doctor.model import Outcome, Status, ok
from pgwarden.doctor.registry import CheckContext, check


@check("connections", "activity")
def connections(ctx: CheckContext) -> Outcome:
    """Client connections against max_connections: at the limit, new connections (deploys, cron jobs,
    the application after a restart) are refused."""
    row = ctx.rows("connections")[0]
    usable = max(1, row["max_connections"] - row["superuser_reserved"] - row["role_reserved"])
    pct = 100.0 * row["used"] / usable
    evidence = ctx.rows("connections_by_client")
    summary = f"{row['used']} of {usable} usable connections in use ({pct:.0f}%)"
    fix = [
        "put a connection pooler (PgBouncer, transaction mode) in front of the application",
        "lower the application's pool size, or raise max_connections (restart needed; see `pgwarden tune`)",
    ]
    if pct >= ctx.thresholds["connections_fail_pct"]:
        return Outcome("fail", summary, evidence, fix)
    if pct >= ctx.thresholds["connections_warn_pct"]:
        return Outcome("warn", summary, evidence, fix)
    return ok(summary)


def _sessions_too_long(
    ctx: CheckContext,
    query: str,
    threshold: str,
    *,
    age_column: str,
    noun: str,
    what: str,
    end_session: str,
    ceiling: str,
) -> Outcome:
    """Sessions of ``query`` older than ``<threshold>_warn`` (fail past ``<threshold>_fail``), with fixes."""
    warn_after, fail_after = ctx.thresholds[f"{threshold}_warn"], ctx.thresholds[f"{threshold}_fail"]
    rows = ctx.rows(query, {"min_seconds": warn_after})
    if not rows:
        return ok(f"no {noun} {what} {seconds(warn_after)}")
    worst = rows[0][age_column]
    status: Status = "fail" if worst >= fail_after else "warn"
    database = qname(ctx.conn, ctx.conn.info.dbname)
    roles = sorted({str(r["user"]) for r in rows if r.get("user")})
    ceilings = (
        [ceiling.format(db=database, role=qname(ctx.conn, role)) for role in roles or ["<app_role>"]]
        if "{role}" in ceiling
        else [ceiling.format(db=database)]
    )
    fix = [f"SELECT {end_session}({r['pid']});" for r in rows[:10]] + ceilings
    return Outcome(
        status, f"{plural(len(rows), noun)} {what} {seconds(warn_after)} (longest {seconds(worst)})", rows, fix
    )


@check("long_running_queries", "activity")
def long_running_queries(ctx: CheckContext) -> Outcome:
    """Statements running for a long time: they hold locks and snapshots, which keeps vacuum from removing
    dead rows everywhere in the cluster."""
    return _sessions_too_long(
        ctx,
        "long_running_queries",
        "long_query",
        age_column="seconds",
        noun="statement",
        what="running longer than",
        end_session="pg_cancel_backend",
        ceiling="ALTER ROLE {role} SET statement_timeout = '30s';  -- a ceiling for application statements",
    )


@check("idle_in_transaction", "activity")
def idle_in_transaction(ctx: CheckContext) -> Outcome:
    """Sessions idle inside an open transaction: they keep every lock they took and stop vacuum, usually
    an application that forgot to commit or roll back."""
    return _sessions_too_long(
        ctx,
        "idle_in_transaction",
        "idle_in_transaction",
        age_column="idle_seconds",
        noun="session",
        what="idle in a transaction longer than",
        end_session="pg_terminate_backend",
        ceiling="ALTER DATABASE {db} SET idle_in_transaction_session_timeout = '5min';  -- ends them automatically",
    )


@check("blocked_queries", "activity")
def blocked_queries(ctx: CheckContext) -> Outcome:
    """Statements waiting for a lock held by another session, with their blockers: the application is
    stalled until the blocker commits or is ended."""
    warn_after, fail_after = ctx.thresholds["blocked_query_warn"], ctx.thresholds["blocked_query_fail"]
    rows = ctx.rows("blocked_queries")
    if not rows:
        return ok("no statement is waiting for a lock")
    worst = rows[0]["waiting_seconds"]
    waiting = [r for r in rows if r["waiting_seconds"] >= warn_after]
    summary = (
        f"{plural(len(rows), 'statement')} waiting for a lock (longest {seconds(worst)}), "
        f"blocked by pid {', '.join(str(p) for p in sorted({b for r in rows for b in r['blocked_by']}))}"
    )
    if not waiting:
        return Outcome("ok", summary + f"; none longer than {seconds(warn_after)}", rows)
    roots = sorted({b["pid"] for r in rows for b in (r["blockers"] or []) if not b.get("blocked")})
    fix = [
        f"SELECT pg_cancel_backend({pid});  -- or pg_terminate_backend({pid}) if it is idle in transaction"
        for pid in roots
    ]
    return Outcome("fail" if worst >= fail_after else "warn", summary, rows, fix)
