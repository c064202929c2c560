"""``partition maintain``: premake, rescue rows from the default partition, apply retention.

Guarantees:

* Idempotent from the first run: one run brings each table to its final state and a
  second run with the same ``--now`` changes nothing. No partition is created that
  retention would remove (its whole range lies before the retention cutoff).
* Complete: ``past`` periods back, the current period, ``premake`` ahead, and every
  period between the newest partition and now (a cron job that did not run for a while
  leaves no hole). Older gaps are reported by ``partition list``, not filled.
* Serialised: the whole run holds the advisory lock ``pgwarden:partition-maintain``
  (polled, never queued); a concurrent run waits for it, then finds nothing to do.
* Every DDL runs under ``lock_timeout`` with retries; nothing waits in a lock queue
  longer than ``lock_timeout``.
* Rows are never lost: rows moved out of the default partition are moved in
  transactions (DELETE ... RETURNING into the new partition) and a crash leaves
  them in the not-yet-attached partition, which the next run picks up again.
* Every run is recorded in ``pgwarden.events`` (kind ``partition.maintain``).

Lock profile, step by step:

1. New partition (no rows for it in the default partition): ``CREATE TABLE (LIKE parent)``
   then ``ATTACH PARTITION``: SHARE UPDATE EXCLUSIVE on the parent, so reads and writes
   go on. With a default partition, ATTACH also holds ACCESS EXCLUSIVE on the default
   partition while it checks that none of its rows belong to the new range.
2. Rows found in the default partition for a period: the period's table is created
   detached with a CHECK equal to its bounds; rows are moved in batches of ``batch``
   (row locks on the moved rows only; moved rows are not visible through the parent
   until step 3 commits); then one transaction locks the default partition (ACCESS
   EXCLUSIVE, only that partition), moves the remainder and attaches the table
   (SHARE UPDATE EXCLUSIVE on the parent; no validation scan thanks to the CHECK).
3. Retention without a default partition: ``DETACH PARTITION ... CONCURRENTLY``:
   SHARE UPDATE EXCLUSIVE on the parent only; never blocks reads or writes. An
   interrupted detach (``detach pending``) is completed with ``DETACH ... FINALIZE``.
4. Retention with a default partition (PostgreSQL forbids CONCURRENTLY then): all
   expired partitions are detached together in ONE short transaction (plain DETACH,
   ACCESS EXCLUSIVE on the parent for catalog work only, milliseconds) under
   ``lock_timeout`` with retries. pg_partman takes that lock once per partition and
   waits in the lock queue without a bound; we take it once per run, bounded.
   Better still: do not configure a default partition; ``premake`` covers the future.
5. ``drop``: DROP TABLE of the already detached table (ACCESS EXCLUSIVE on it only).
   ``archive``: :func:`pgwarden.backup.api.archive_partition` detaches the partition
   first (so no write can reach it after the dump), dumps it, verifies the backup and
   only then drops it; an unverified backup keeps the detached table and is reported.
   ``detach``: the table is left in place, detached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from psycopg import sql

from pgwarden.partition import ddl
from pgwarden.partition.inspect import PartitionInfo, open_session, partitions, table_info
from pgwarden.partition.naming import Interval, Period, default_name, hash_name, period, periods, wanted_periods
from pgwarden.partition.qualified import QualifiedName

if TYPE_CHECKING:
    import psycopg

    from pgwarden.config import Config
    from pgwarden.db import LockRetryPolicy
    from pgwarden.partition.inspect import TableInfo
    from pgwarden.partition.spec import Layout

LOCK_NAME = "pgwarden:partition-maintain"
_TRUNC_UNIT = {
    Interval.DAY: "day",
    Interval.WEEK: "week",
    Interval.MONTH: "month",
    Interval.QUARTER: "quarter",
    Interval.YEAR: "year",
}


@dataclass
class TableMaintenance:
    """What maintain did to one table."""

    table: str
    created: list[str] = field(default_factory=list)
    moved_rows: dict[str, int] = field(default_factory=dict)
    detached: list[str] = field(default_factory=list)
    finalized: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    archived: dict[str, str] = field(default_factory=dict)  # partition -> backup id
    problems: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.moved_rows or self.detached or self.finalized or self.dropped)


@dataclass
class MaintainResult:
    """``partition maintain``: one entry per configured table (none when no ``[[partitions]]`` is configured)."""

    env: str
    now: datetime
    tables: list[TableMaintenance]

    @property
    def problems(self) -> list[str]:
        return [f"{t.table}: {p}" for t in self.tables for p in t.problems]


@dataclass(frozen=True)
class MaintainOptions:
    """How a maintain run behaves: the clock, which tables, batch size, how long to wait for another run."""

    now: datetime | None = None
    tables: tuple[str, ...] = ()
    batch: int = 10_000
    lock_wait: float | None = None


@dataclass(frozen=True)
class _Run:
    """What every step of one run shares."""

    conn: psycopg.Connection[Any]
    config: Config
    env: str
    policy: LockRetryPolicy
    now: datetime
    batch: int


@dataclass
class _Table:
    """One table being maintained: its layout, catalog description, partitions and what was done."""

    layout: Layout
    info: TableInfo
    parts: list[PartitionInfo]
    default: PartitionInfo | None
    done: TableMaintenance


def select_layouts(layouts: list[Layout], tables: tuple[str, ...] | list[str]) -> list[Layout]:
    """The layouts named in ``tables`` (all when empty); BadInput naming any without a ``[[partitions]]`` entry."""
    from pgwarden.errors import BadInput

    if not tables:
        return layouts
    wanted = {QualifiedName.parse(t) for t in tables}
    unknown = wanted - {layout.name for layout in layouts}
    if unknown:
        raise BadInput(f"no [[partitions]] entry for {', '.join(sorted(str(u) for u in unknown))}")
    return [layout for layout in layouts if layout.name in wanted]


def maintain(config: Config, env: str | None, options: MaintainOptions = MaintainOptions()) -> MaintainResult:
    """Run maintenance for every ``[[partitions]]`` entry (or only ``options.tables``); see the module doc.

    With no entries configured, returns a result with no tables (nothing is touched).
    """
    from pgwarden.db import advisory_lock
    from pgwarden.events import record_event
    from pgwarden.partition.spec import configured
    from pgwarden.partition.target import resolve
    from pgwarden.units import parse_duration

    now = options.now or datetime.now(UTC)
    layouts = select_layouts(configured(config), options.tables)
    # Only dropping retired partitions can lose rows (archive mode drops after its own verified dump).
    drops = any(layout.retention and layout.retention_mode == "drop" for layout in layouts)
    target = resolve(config, env, changes=True, may_lose_rows=drops)
    if not layouts:
        return MaintainResult(target.env, now, [])
    wait = (
        options.lock_wait
        if options.lock_wait is not None
        else parse_duration(config.settings.migrate.runner_lock_timeout)
    )
    results: list[TableMaintenance] = []
    with advisory_lock(target.url, LOCK_NAME, timeout=wait):
        conn = open_session(target.url)
        try:
            run = _Run(conn, config, target.env, target.policy, now, options.batch)
            for layout in layouts:
                done = TableMaintenance(layout.qualified)
                results.append(done)
                try:
                    _maintain_one(run, layout, done)
                except Exception as exc:  # one table's failure must not stop the others; reported below
                    if conn.info.transaction_status != 0:
                        conn.rollback()
                    done.problems.append(getattr(exc, "message", None) or str(exc).strip().splitlines()[0])
                record_event(
                    conn,
                    "partition.maintain",
                    layout.qualified,
                    "failed" if done.problems else "ok",
                    {
                        "now": now.isoformat(),
                        "created": done.created,
                        "moved_rows": done.moved_rows,
                        "detached": done.detached,
                        "dropped": done.dropped,
                        "archived": done.archived,
                        "finalized": done.finalized,
                        "problems": done.problems,
                    },
                )
        finally:
            conn.close()
    return MaintainResult(target.env, now, results)


def wanted_ranges(layout: Layout, now: datetime, newest: datetime | None, rescued: list[datetime]) -> list[Period]:
    """The range partitions ``layout`` must have at ``now`` (pure; the one rule of what maintain creates).

    ``past`` periods back, the current one and ``premake`` ahead; every period from the
    newest partition's upper bound ``newest`` up to now (no hole after an outage); the
    periods of rows found in the default partition (``rescued`` starts); none of them
    lying wholly before the retention cutoff.
    """
    assert layout.interval is not None
    needed = {p.lower: p for p in wanted_periods(layout.table, layout.interval, now, layout.premake, layout.past)}
    if newest is not None and newest < now:
        for hole in periods(layout.table, layout.interval, newest, now):
            needed.setdefault(hole.lower, hole)
    for start in rescued:
        found = period(layout.table, layout.interval, start)
        needed.setdefault(found.lower, found)
    cutoff = layout.retention.cutoff(now) if layout.retention else None
    return sorted((p for p in needed.values() if cutoff is None or p.upper > cutoff), key=lambda p: p.lower)


def _maintain_one(run: _Run, layout: Layout, done: TableMaintenance) -> None:
    info = table_info(run.conn, layout.name)
    if not info.partitioned:
        done.problems.append("not partitioned (run `pgwarden partition create` or `partition convert`)")
        return
    parts = partitions(run.conn, info.oid, exact_below=0)
    for part in [p for p in parts if p.detach_pending]:
        _finalize(run, info, part.name)
        done.finalized.append(part.name)
    parts = [p for p in parts if not p.detach_pending]
    table = _Table(layout, info, parts, next((p for p in parts if p.is_default), None), done)
    if layout.modulus:
        _ensure_hash(run, table)
        return
    assert layout.interval is not None and info.key_type is not None
    if layout.default_partition and table.default is None:
        name = default_name(layout.table)
        _create_attached(run, info, name, sql.SQL("DEFAULT"))
        done.created.append(name)
        table.default = PartitionInfo(info.schema, name, "DEFAULT", True, False)
    newest = max((p.upper for p in parts if p.upper is not None and not p.is_default), default=None)
    rescued = _default_periods(run.conn, info, table.default, layout.interval) if table.default else []
    for wanted in wanted_ranges(layout, run.now, newest, rescued):
        clash = [p for p in parts if not p.is_default and _overlaps(p, wanted)]
        if any(p.lower == wanted.lower and p.upper == wanted.upper for p in clash):
            continue
        if clash:
            done.problems.append(f"{wanted.name}: range overlaps existing {', '.join(p.name for p in clash)}")
            continue
        moved = _create_period(run, table, wanted)
        done.created.append(wanted.name)
        if moved:
            done.moved_rows[wanted.name] = moved
    if layout.retention:
        _apply_retention(run, table)


def _overlaps(part: PartitionInfo, wanted: Period) -> bool:
    if part.lower is None and part.upper is None:
        return False
    lower_ok = part.upper is None or part.upper > wanted.lower
    upper_ok = part.lower is None or part.lower < wanted.upper
    return lower_ok and upper_ok


def _ensure_hash(run: _Run, table: _Table) -> None:
    modulus = table.layout.modulus
    assert modulus
    present = {p.remainder for p in table.parts if p.modulus == modulus}
    for remainder in range(modulus):
        if remainder not in present:
            name = hash_name(table.layout.table, remainder)
            _create_attached(run, table.info, name, ddl.hash_bounds(modulus, remainder))
            table.done.created.append(name)


def _create_attached(run: _Run, info: TableInfo, name: str, bounds: sql.Composable) -> None:
    """CREATE TABLE (LIKE parent) + ATTACH in one transaction (SHARE UPDATE EXCLUSIVE on the parent)."""
    ddl.run_locked(
        run.conn,
        [ddl.create_like(info.schema, name, info.name), ddl.attach(info.schema, info.name, name, bounds)],
        run.policy,
        what=f"attach {info.schema}.{name}",
    )


def key_expr(info: TableInfo, interval: Interval, key_column: str | None = None) -> sql.Composable:
    """``date_trunc(unit, key)`` in UTC: the start of the period a row belongs to."""
    unit = sql.Literal(_TRUNC_UNIT[interval])
    name = key_column or info.key[0]
    key = sql.Identifier(name)
    key_type = info.column(name).type
    if key_type.startswith("timestamp with time zone"):
        return sql.SQL("date_trunc({}, {}, 'UTC')").format(unit, key)
    return sql.SQL("date_trunc({}, {}::timestamp)").format(unit, key)


def _default_periods(
    conn: psycopg.Connection[Any], info: TableInfo, default: PartitionInfo, interval: Interval
) -> list[datetime]:
    """Starts of the periods that rows in the default partition belong to."""
    rows = conn.execute(
        sql.SQL("SELECT DISTINCT {} FROM {} WHERE {} IS NOT NULL").format(
            key_expr(info, interval), ddl.ident(default.schema, default.name), sql.Identifier(info.key[0])
        )
    ).fetchall()
    return sorted(r[0] for r in rows)


def _exists(conn: psycopg.Connection[Any], schema: str, name: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [sql.Identifier(schema, name).as_string(conn)]).fetchone()
    return bool(row and row[0])


def _move_sql(info: TableInfo, default: PartitionInfo, target: str, wanted: Period, limit: int | None) -> sql.Composed:
    key, key_type = info.key[0], info.key_type or ""
    from pgwarden.partition.naming import bound_literal

    cols = sql.SQL(", ").join(sql.Identifier(c.name) for c in info.columns if not c.generated)
    where = sql.SQL("{k} >= {lo} AND {k} < {hi}").format(
        k=sql.Identifier(key),
        lo=sql.Literal(bound_literal(wanted.lower, key_type)),
        hi=sql.Literal(bound_literal(wanted.upper, key_type)),
    )
    pick = (
        sql.SQL("ctid = ANY (ARRAY(SELECT ctid FROM {d} WHERE {w} LIMIT {n} FOR UPDATE SKIP LOCKED))").format(
            d=ddl.ident(default.schema, default.name), w=where, n=sql.Literal(limit)
        )
        if limit
        else where
    )
    return sql.SQL(
        "WITH moved AS (DELETE FROM {d} WHERE {pick} RETURNING {cols}) "
        "INSERT INTO {t} ({cols}) OVERRIDING SYSTEM VALUE SELECT {cols} FROM moved"
    ).format(d=ddl.ident(default.schema, default.name), pick=pick, cols=cols, t=ddl.ident(info.schema, target))


def _create_period(run: _Run, table: _Table, wanted: Period) -> int:
    """Create the partition of ``wanted``, moving its rows out of the default partition first; rows moved."""
    conn, info, default = run.conn, table.info, table.default
    schema, key_type = info.schema, info.key_type or ""
    bounds = ddl.range_bounds(wanted.lower, wanted.upper, key_type)
    if default is None:
        _create_attached(run, info, wanted.name, bounds)
        return 0
    if not _exists(conn, schema, wanted.name):  # a crashed earlier run may have left it, detached, with rows
        ddl.run_locked(
            conn,
            [
                ddl.create_like(schema, wanted.name, info.name),
                ddl.range_check(schema, wanted.name, info.key[0], wanted.lower, wanted.upper, key_type),
            ],
            run.policy,
            what=f"create {schema}.{wanted.name}",
        )
    moved = 0
    while True:  # batches: short transactions, row locks only
        with conn.transaction():
            count = conn.execute(_move_sql(info, default, wanted.name, wanted, run.batch)).rowcount
        moved += max(count, 0)
        if count < run.batch:
            break

    def finish() -> int:
        conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(ddl.ident(schema, default.name)))
        rest = max(conn.execute(_move_sql(info, default, wanted.name, wanted, None)).rowcount, 0)
        conn.execute(ddl.attach(schema, info.name, wanted.name, bounds))
        conn.execute(ddl.drop_range_check(schema, wanted.name))
        return rest

    from pgwarden.db import retry_on_lock_timeout

    return moved + retry_on_lock_timeout(
        lambda: ddl.attempt_locked(conn, finish, run.policy), run.policy, what=f"attach {schema}.{wanted.name}"
    )


def _finalize(run: _Run, info: TableInfo, name: str) -> None:
    ddl.run_locked(
        run.conn,
        [ddl.detach(info.schema, info.name, name, "FINALIZE")],
        run.policy,
        what=f"detach {info.schema}.{name} finalize",
        transaction=False,
    )


def _detach_concurrently(run: _Run, info: TableInfo, name: str) -> None:
    conn = run.conn

    def attempt() -> None:
        row = conn.execute(
            "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = %s::regclass",
            [sql.Identifier(info.schema, name).as_string(conn)],
        ).fetchone()
        if row is None:
            return  # already detached by an earlier attempt
        conn.execute(ddl.detach(info.schema, info.name, name, "FINALIZE" if row[0] else "CONCURRENTLY"))

    ddl.run_locked(conn, attempt, run.policy, what=f"detach {info.schema}.{name} concurrently", transaction=False)


def expired(layout: Layout, parts: list[PartitionInfo], now: datetime) -> list[PartitionInfo]:
    """The range partitions whose whole range lies before the retention cutoff at ``now``."""
    if layout.retention is None:
        return []
    cutoff = layout.retention.cutoff(now)
    return [p for p in parts if not p.is_default and p.upper is not None and p.upper <= cutoff]


def _apply_retention(run: _Run, table: _Table) -> None:
    info, layout, done = table.info, table.layout, table.done
    old = expired(layout, table.parts, run.now)
    if not old:
        return
    if layout.retention_mode == "archive":
        _archive(run, table, old)
        return
    if table.default is not None:
        ddl.run_locked(
            run.conn,
            [ddl.detach(info.schema, info.name, p.name) for p in old],
            run.policy,
            what=f"detach {len(old)} expired partitions of {info.qualified}",
        )
    else:
        for part in old:
            _detach_concurrently(run, info, part.name)
    done.detached.extend(p.name for p in old)
    if layout.retention_mode == "detach":
        return
    for part in old:
        ddl.run_locked(run.conn, [ddl.drop(part.schema, part.name)], run.policy, what=f"drop {part.schema}.{part.name}")
        done.dropped.append(part.name)


def _archive(run: _Run, table: _Table, old: list[PartitionInfo]) -> None:
    """Retire each expired partition through ``backup.api.archive_partition``: detach first, then dump,
    verify, drop; a partition whose backup does not verify is kept (detached) and reported."""
    from pgwarden.backup.api import archive_partition

    for part in old:
        result = archive_partition(run.config, run.env, part.schema, part.name)
        table.done.archived[part.name] = result.backup_id
        table.done.detached.append(part.name)
        if result.dropped:
            table.done.dropped.append(part.name)
