"""Query statistics from pg_stat_statements, and the buffer cache hit ratio."""

from __future__ import annotations

from pgwarden.doctor.checks._util import plural
from pgwarden.doctor.model import Outcome, ok
from pgwarden.doctor.registry import CheckContext, check, load_sql

TOP = 10


def enable_steps(preload: str, available: bool) -> list[str]:
    """The exact steps that turn pg_stat_statements on, given the current shared_preload_libraries."""
    steps: list[str] = []
    if not available:
        steps.append("install the contrib package of your PostgreSQL (e.g. apt-get install postgresql-contrib)")
    libraries = [lib.strip() for lib in preload.split(",") if lib.strip()]
    if "pg_stat_statements" not in libraries:
        wanted = ", ".join([*libraries, "pg_stat_statements"])
        steps.append(f"ALTER SYSTEM SET shared_preload_libraries = '{wanted}';")
        steps.append(
            "restart PostgreSQL (pg_ctl restart, systemctl restart postgresql; on a managed service "
            "set shared_preload_libraries in its parameter group and reboot)"
        )
    steps.append("CREATE EXTENSION IF NOT EXISTS pg_stat_statements;")
    return steps


@check("slow_queries", "queries")
def slow_queries(ctx: CheckContext) -> Outcome:
    """The statements that cost the most time in total and per call (pg_stat_statements): where tuning
    pays off first."""
    import psycopg
    from psycopg import sql

    setup = ctx.rows("statements_setup")[0]
    preload = setup["preload"]
    if preload is None:  # this role may not read shared_preload_libraries
        return _unreadable_setup(ctx, setup)
    loaded = "pg_stat_statements" in [s.strip() for s in preload.split(",")]
    if setup["schema"] is None or not loaded:
        missing = "not created in this database" if loaded else "not in shared_preload_libraries"
        return Outcome(
            "warn",
            f"pg_stat_statements is {missing}: slow queries cannot be listed",
            [
                {
                    "shared_preload_libraries": preload,
                    "extension_available": setup["available"],
                    "extension_schema": setup["schema"],
                }
            ],
            enable_steps(preload, setup["available"]),
        )
    query = sql.SQL(load_sql("slow_queries")).format(schema=sql.Identifier(setup["schema"]))
    try:
        rows = ctx.run(query, {"top": TOP, "min_calls": int(ctx.thresholds["slow_query_calls"])})
    except psycopg.errors.InsufficientPrivilege:
        return _unreadable_setup(ctx, setup)
    limit_ms = ctx.thresholds["slow_query_mean"] * 1000
    slow = [r for r in rows if r["ranking"] == "mean" and r["mean_ms"] >= limit_ms]
    if slow:
        return Outcome(
            "warn",
            f"{plural(len(slow), 'statement')} called at least "
            f"{ctx.thresholds['slow_query_calls']:g} times with a mean over {limit_ms:g} ms "
            f"(worst {slow[0]['mean_ms']:g} ms)",
            rows,
            [
                "EXPLAIN (ANALYZE, BUFFERS) <the statement>;  -- find the missing index or bad plan",
                "SELECT pg_stat_statements_reset();  -- after fixing, to measure afresh",
            ],
        )
    return ok(
        f"no statement with a mean over {limit_ms:g} ms among those called "
        f"{ctx.thresholds['slow_query_calls']:g}+ times",
        rows,
    )


def _unreadable_setup(ctx: CheckContext, setup: dict[str, object]) -> Outcome:
    """A warning with setup steps for a role that may not see the settings or the statistics."""
    import psycopg
    from psycopg import sql

    role = sql.Identifier(str(setup["user"])).as_string(ctx.conn)
    steps = [
        f"as a superuser: GRANT pg_read_all_settings, pg_read_all_stats TO {role};  "
        "-- lets this role read shared_preload_libraries and every statement's statistics"
    ]
    if setup["schema"] is not None:
        query = sql.SQL("SELECT 1 FROM {}.pg_stat_statements LIMIT 1").format(sql.Identifier(str(setup["schema"])))
        try:
            ctx.run(query)
        except psycopg.errors.ObjectNotInPrerequisiteState:  # created but not preloaded
            steps += enable_steps("", bool(setup["available"]))
        except psycopg.errors.InsufficientPrivilege:
            pass
        else:
            steps.append("then run pgwarden doctor again to list slow statements")
    else:
        steps += enable_steps("", bool(setup["available"]))
    evidence = [{"role": setup["user"], "extension_schema": setup["schema"], "extension_available": setup["available"]}]
    return Outcome(
        "warn",
        f"role {setup['user']} cannot read shared_preload_libraries or pg_stat_statements: "
        "slow queries cannot be checked",
        evidence,
        steps,
    )


@check("cache_hit_ratio", "queries", heavy=True)
def cache_hit_ratio(ctx: CheckContext) -> Outcome:
    """Share of table and index reads served from shared_buffers: below 99% for an OLTP application the
    working set usually no longer fits in memory."""
    rows = ctx.rows("cache_hit_ratio")
    evidence = []
    low = []
    for row in rows:
        total = row["hit"] + row["read"]
        ratio = 100.0 * row["hit"] / total if total else None
        evidence.append(
            {
                "kind": row["kind"],
                "hit_blocks": int(row["hit"]),
                "read_blocks": int(row["read"]),
                "hit_pct": None if ratio is None else round(ratio, 2),
            }
        )
        if (
            ratio is not None
            and total >= ctx.thresholds["cache_hit_min_blocks"]
            and ratio < ctx.thresholds["cache_hit_ratio_warn_pct"]
        ):
            low.append(f"{row['kind']} {ratio:.1f}%")
    if low:
        return Outcome(
            "warn",
            f"cache hit ratio below {ctx.thresholds['cache_hit_ratio_warn_pct']:g}%: " + ", ".join(low),
            evidence,
            [
                "raise shared_buffers (see `pgwarden tune`) or add memory",
                "look for sequential scans of large tables (missing_indexes check)",
            ],
        )
    parts = [f"{e['kind']} {e['hit_pct']:.2f}%" for e in evidence if e["hit_pct"] is not None]
    return ok("cache hit ratio " + (", ".join(parts) if parts else "not measurable yet (no reads)"), evidence)
