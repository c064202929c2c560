"""Counters that run out: transaction IDs (wraparound) and sequences feeding integer columns."""

from __future__ import annotations

from pgwarden.doctor.checks._util import plural, qname
from pgwarden.doctor.model import Outcome, Status, ok
from pgwarden.doctor.registry import CheckContext, check

WRAPAROUND = 2**31
INT8_MAX = 2**63 - 1


@check("wraparound", "maintenance")
def wraparound(ctx: CheckContext) -> Outcome:
    """Transaction ID (and multixact) age against the 2^31 wraparound limit: near it PostgreSQL stops
    accepting writes until a freezing vacuum completes."""
    databases = ctx.rows("wraparound_databases")
    worst = max(databases, key=lambda r: max(r["xid_age"], r["mxid_age"]))
    age = max(worst["xid_age"], worst["mxid_age"])
    pct = 100.0 * age / WRAPAROUND
    evidence = [
        {
            **r,
            "xid_pct": round(100.0 * r["xid_age"] / WRAPAROUND, 3),
            "mxid_pct": round(100.0 * r["mxid_age"] / WRAPAROUND, 3),
        }
        for r in databases
    ]
    summary = f"oldest: database {worst['database']} at {age:,} ({pct:.2f}% of wraparound)"
    if pct < ctx.thresholds["xid_age_warn_pct"]:
        return ok(summary, evidence)
    tables = ctx.rows("wraparound_tables")
    holders = ctx.rows("wraparound_holders")
    evidence += [{"oldest_table": f"{t['schema']}.{t['table']}", "xid_age": t["xid_age"]} for t in tables]
    evidence += [
        {"holding_back": h["kind"], "name": h["name"], "xmin_age": h["xmin_age"], "detail": h["detail"]}
        for h in holders
    ]
    fix = [
        "end what holds back the xmin horizon first (long transactions, prepared transactions, "
        "inactive replication slots listed in the evidence)"
    ]
    fix += [f"VACUUM (FREEZE, VERBOSE) {qname(ctx.conn, t['schema'], t['table'])};" for t in tables]
    status: Status = "fail" if pct >= ctx.thresholds["xid_age_fail_pct"] else "warn"
    return Outcome(status, summary, evidence, fix)


def sequence_usage(row: dict[str, object]) -> tuple[float, int]:
    """Percent of the usable range consumed and the limit that applies (column type or sequence)."""
    last = int(row["last_value"])  # type: ignore[call-overload]
    if int(row["increment_by"]) > 0:  # type: ignore[call-overload]
        limits = [int(row["max_value"])]  # type: ignore[call-overload]
        if row["column_max"] is not None:
            limits.append(int(row["column_max"]))  # type: ignore[call-overload]
        limit = min(limits)
        return (100.0 * last / limit if limit > 0 else 100.0), limit
    limits = [int(row["min_value"])]  # type: ignore[call-overload]
    if row["column_min"] is not None:
        limits.append(int(row["column_min"]))  # type: ignore[call-overload]
    limit = max(limits)
    return (100.0 * last / limit if limit < 0 else 100.0), limit


@check("sequences", "maintenance", heavy=True)
def sequences(ctx: CheckContext) -> Outcome:
    """Sequences near the end of their range, compared with the type of the column they feed (an integer
    column fed by a bigint sequence fails at 2^31): once exhausted, every insert fails."""
    rows = ctx.rows("sequences")
    hot = []
    for row in rows:
        pct, limit = sequence_usage(row)
        if pct >= ctx.thresholds["sequence_warn_pct"]:
            hot.append({**row, "used_pct": round(pct, 2), "limit": limit})
    if not hot:
        return ok(
            f"no sequence past {ctx.thresholds['sequence_warn_pct']:g}% of its range "
            f"({plural(len(rows), 'used sequence')} can run out: int2/int4 columns or a limit under 2^62)"
        )
    hot.sort(key=lambda r: -r["used_pct"])
    fix = []
    for r in hot:
        if r["table"] and r["column_max"] is not None:
            fix.append(
                f"ALTER TABLE {qname(ctx.conn, r['schema'], r['table'])} ALTER COLUMN "
                f"{qname(ctx.conn, r['column'])} TYPE bigint;  -- rewrites the table under an exclusive "
                "lock; on a big table add a bigint column and backfill instead"
            )
            if r["sequence_type"] != "bigint":
                fix.append(f"ALTER SEQUENCE {qname(ctx.conn, r['sequence_schema'], r['sequence'])} AS bigint;")
        else:
            fix.append(
                f"ALTER SEQUENCE {qname(ctx.conn, r['sequence_schema'], r['sequence'])} AS bigint "
                "MAXVALUE 9223372036854775807;"
            )
    status: Status = "fail" if hot[0]["used_pct"] >= ctx.thresholds["sequence_fail_pct"] else "warn"
    names = ", ".join(f"{r['sequence_schema']}.{r['sequence']} {r['used_pct']:g}%" for r in hot[:5])
    return Outcome(status, f"{plural(len(hot), 'sequence')} near exhaustion: {names}", hot, fix)
