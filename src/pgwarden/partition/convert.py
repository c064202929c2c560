"""``partition convert``: turn a live table into a partitioned one while reads and writes go on.

Method: build a partitioned twin, capture changes with a trigger, backfill in
keyset batches, catch up, verify, swap under a short lock. Why this and not
"attach the old table as one partition and split it": splitting the big
partition later needs either ACCESS EXCLUSIVE on it while rows move or the
very same copy, and the old table would need the partition key in its primary
key first (a rewrite of the index under lock). Copying into a twin keeps the
original untouched until one short swap, and makes ``--abort`` trivial.

Phases (persisted in ``pgwarden.partition_conversions`` through :class:`ConversionStore`, so
:func:`resume` continues after a crash or ``kill -9`` and :func:`abort` restores the original):

===========  =====================================================================  =================================
phase        what happens                                                           locks on the original table
===========  =====================================================================  =================================
prepare      one transaction: twin ``<t>_pgw_new`` PARTITION BY ... with indexes    SHARE ROW EXCLUSIVE for the
             on the parent, partitions covering min(key)..now+premake, the log      CREATE TRIGGER only (ms, under
             table, the capture function and trigger, the state row                 lock_timeout, retried)
backfill     batches: ``INSERT INTO twin SELECT ... WHERE pk > cursor ORDER BY      none beyond reads (AccessShare)
             pk LIMIT n`` + cursor update, one transaction each; every few
             batches the log is replayed for keys behind the cursor (keys ahead
             are dropped from the log: the backfill will read them fresh)
catchup      replay the log until it is short; then verify: in one REPEATABLE       none (AccessShare)
             READ snapshot, row count and checksum of both tables, leaving out
             keys still in the log, must be equal (else stop, nothing swapped)
swap         one transaction: LOCK original ACCESS EXCLUSIVE (lock_timeout,         ACCESS EXCLUSIVE for the swap
             retried), replay the last log rows, drop the trigger, rename the       (ms: a few hundred log rows)
             original to ``<t>_pgw_old``, the twin to ``<t>``; sequences and
             index names keep their original names
done         drop log and function; ``--drop-old`` drops ``<t>_pgw_old``           none
===========  =====================================================================  =================================

Writers therefore never wait longer than lock_timeout plus the swap itself;
the default convert lock_timeout is 500 ms (``--lock-timeout``). Before each swap
attempt the log is caught up outside the lock, so the locked part replays at
most a few hundred rows; a swap that cannot get its lock is retried with backoff
by :func:`pgwarden.db.retry_on_lock_timeout` and finally gives up (exit 4)
leaving the conversion resumable. Every tuning number is in :class:`Tuning`.

Also guaranteed: ``TRUNCATE`` of the table is refused while it is being copied
(the trigger could not capture it); a row written meanwhile outside every
planned partition (SQLSTATE 23514 raised on the twin's parent with no constraint
name) gets its partition added to the twin (not yet in use, so no one waits) and
the copy continues; tables without a primary key, referenced by
foreign keys, used by views, with user triggers or exclusion constraints are
refused up front (exit 5) and nothing is created; so is a unique constraint that
would have to be widened with the key, unless ``widen_unique``.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from pgwarden.errors import BadInput, ProblemsFound, Refused
from pgwarden.partition import capture, ddl
from pgwarden.partition.conversions import Conversion, ConversionStore
from pgwarden.partition.create import check_key, partition_statements
from pgwarden.partition.inspect import open_session, partitions, table_info
from pgwarden.partition.naming import as_utc, parse_interval, period, shorten
from pgwarden.partition.qualified import QualifiedName
from pgwarden.partition.target import Where

if TYPE_CHECKING:
    from pgwarden.db import LockRetryPolicy
    from pgwarden.partition.inspect import TableInfo
    from pgwarden.partition.spec import Layout

FAILPOINT_ENV = "PGWARDEN_FAILPOINT"  # tests: kill -9 ourselves at a named point (e.g. "backfill:3", "swap")
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Tuning:
    """Every number that shapes a conversion's speed and lock profile."""

    batch: int = 10_000  # rows per backfill batch and log rows per replay transaction
    lock_timeout: float | None = 0.5  # upper bound on each short lock wait (None: the environment's)
    replay_every: int = 8  # replay the log once every this many backfill batches
    swap_backlog: int = 2_000  # catch up until the log is this short, then verify
    max_catchup_rounds: int = 200  # give up catching up after this many replay rounds (then verify anyway)
    swap_tail: int = 200  # catch up to this many log rows outside the lock before each swap attempt
    extend_attempts: int = 3  # times a row outside every partition may add partitions before giving up


@dataclass
class ConvertResult:
    """What ``partition convert`` did."""

    table: str
    action: str  # converted | aborted
    rows_copied: int = 0
    rows_replayed: int = 0
    batches: int = 0
    partitions: list[str] = field(default_factory=list)
    key_changes: list[ddl.KeyChange] = field(default_factory=list)
    verified_rows: int | None = None
    checksum_equal: bool | None = None
    old_table: str | None = None
    drop_old_sql: str | None = None  # the statement to drop the kept original, identifiers quoted
    swap_seconds: float | None = None
    seconds: float = 0.0
    resumed_from: str | None = None
    phase_seconds: dict[str, float] = field(default_factory=dict)


def failpoint(name: str) -> None:
    """``kill -9`` this process when ``$PGWARDEN_FAILPOINT`` equals ``name`` (crash tests only)."""
    if os.environ.get(FAILPOINT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def fits_no_partition(exc: psycopg.errors.CheckViolation, parent: QualifiedName) -> bool:
    """Whether ``exc`` is "no partition of relation found for row" raised on ``parent``.

    Decided by the diagnostics (SQLSTATE 23514 with no constraint name, on the
    parent table), never by the message, which is translated under other ``lc_messages``.
    """
    diag = exc.diag
    return diag.constraint_name is None and diag.schema_name == parent.schema and diag.table_name == parent.name


def _twin_from(data: dict[str, Any]) -> ddl.Twin:
    return ddl.Twin(
        renames=[tuple(r) for r in data["renames"]],
        key_changes=[ddl.KeyChange(**c) for c in data["key_changes"]],
        owned_sequences=[tuple(s) for s in data["owned_sequences"]],
        identity_columns=list(data["identity_columns"]),
    )


def _layout_json(layout: Layout) -> dict[str, Any]:
    return {
        "key": layout.key,
        "interval": layout.interval.value if layout.interval else None,
        "modulus": layout.modulus,
        "premake": layout.premake,
        "default_partition": layout.default_partition,
    }


class _Laps:
    """Seconds spent per phase."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._mark = time.monotonic()

    def lap(self, phase: str) -> None:
        now = time.monotonic()
        self.seconds[phase] = round(self.seconds.get(phase, 0.0) + now - self._mark, 3)
        self._mark = now


class Converter:
    """The steps of one conversion (prepare, backfill, replay, verify, swap, finish) on one table."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        url: str,
        info: TableInfo,
        policy: LockRetryPolicy,
        tuning: Tuning,
        progress: Progress | None,
    ):
        self.conn = conn
        self.url = url
        self.info = info
        self.policy = policy
        self.tuning = tuning
        self.store = ConversionStore(conn)
        self.progress = progress or (lambda phase, done, total: None)
        self.columns = [c.name for c in info.columns if not c.generated]
        self.all_columns = [c.name for c in info.columns]
        row = conn.execute("SELECT greatest(reltuples::bigint, 0) FROM pg_class WHERE oid = %s", [info.oid]).fetchone()
        self.total = int(row[0]) if row else 0

    @property
    def name(self) -> QualifiedName:
        return self.info.qualified_name

    # -- prepare ------------------------------------------------------------------------------------------------
    def _refuse_nulls(self, layout: Layout) -> None:
        if layout.default_partition or self.info.column(layout.key).not_null:
            return
        nulls = self.conn.execute(
            sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {} IS NULL)").format(
                self.name.ident(), sql.Identifier(layout.key)
            )
        ).fetchone()
        if nulls and nulls[0]:
            raise Refused(
                f"{self.name}.{layout.key} has NULLs; they fit no range partition",
                hint="fill them in, or pass --default to keep a default partition for them",
            )

    def _key_range(self, layout: Layout) -> tuple[datetime | None, datetime | None]:
        if not layout.interval:
            return None, None
        key = sql.Identifier(layout.key)
        bounds = self.conn.execute(
            sql.SQL("SELECT min({k}), max({k}) FROM {t}").format(k=key, t=self.name.ident())
        ).fetchone()
        if not bounds or bounds[0] is None:
            return None, None
        return as_utc(bounds[0]), as_utc(bounds[1])

    def prepare(self, layout: Layout, now: datetime, *, widen_unique: bool) -> Conversion:
        """Build twin, partitions, log, capture trigger and the record in one lock-bounded transaction."""
        info, conn = self.info, self.conn
        if not info.primary_key:
            raise Refused(
                f"{info.qualified} has no primary key; online conversion needs one to copy in batches "
                "and replay changes",
                hint="add a primary key first (pgwarden lint explains how, online)",
            )
        check_key(info, layout)
        self._refuse_nulls(layout)
        first, last = self._key_range(layout)
        new_name = shorten(info.name, "_pgw_new")
        twin = ddl.partitioned_twin(conn, info, new_name, layout.strategy, [layout.key], widen_unique=widen_unique)
        parts, names, default = partition_statements(layout, info.column(layout.key).type, new_name, now, first, last)
        tag = f"cv{info.oid}"
        conversion = Conversion(
            self.name,
            _layout_json(layout),
            new_name,
            shorten(info.name, "_pgw_old"),
            f"{tag}_log",
            f"{tag}_capture",
            f"pgwarden_{tag}_capture",
            {
                "renames": twin.renames,
                "key_changes": [c.__dict__ for c in twin.key_changes],
                "owned_sequences": twin.owned_sequences,
                "identity_columns": twin.identity_columns,
            },
            partitions=names + ([default] if default else []),
        )
        install = capture.install_statements(
            conn, info, conversion.log_name, conversion.function_name, conversion.trigger_name
        )
        # no autovacuum on the twin while it is bulk-filled (it would compete with the copy); reset in finish()
        quiet = [
            sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = false)").format(self.name.sibling(p).ident())
            for p in conversion.partitions
        ]

        def build() -> None:
            self.store.create_table()
            for statement in [*twin.create, *parts, *quiet, *install]:
                conn.execute(statement)
            self.store.insert(conversion)

        conn.execute("CREATE SCHEMA IF NOT EXISTS pgwarden")
        ddl.run_locked(conn, build, self.policy, what=f"install change capture on {info.qualified}")
        failpoint("prepare")
        return conversion

    # -- backfill -----------------------------------------------------------------------------------------------
    def backfill(self, c: Conversion) -> None:
        """Copy in keyset batches (one transaction each, cursor recorded with the batch) until done."""
        pk = self.info.primary_key
        pk_cols = sql.SQL(", ").join(sql.Identifier(col) for col in pk)
        cols = sql.SQL(", ").join(sql.Identifier(col) for col in self.columns)
        desc = sql.SQL(", ").join(sql.SQL("{} DESC").format(sql.Identifier(col)) for col in pk)
        batch = self.tuning.batch
        while c.phase == "backfill":
            with self.conn.transaction():
                params = self.cursor_values(c)
                where: sql.Composable = sql.SQL("")
                if params is not None:
                    where = sql.SQL("WHERE ({}) > ({})").format(
                        pk_cols, sql.SQL(", ").join(sql.Placeholder() * len(pk))
                    )
                row = self.conn.execute(
                    sql.SQL(
                        "WITH batch AS (SELECT {cols} FROM {old} {where} ORDER BY {pk} LIMIT {n}), "
                        "ins AS (INSERT INTO {new} ({cols}) OVERRIDING SYSTEM VALUE SELECT {cols} FROM batch) "
                        "SELECT (SELECT count(*) FROM batch), "
                        "(SELECT to_jsonb(b) FROM (SELECT {pk} FROM batch ORDER BY {desc} LIMIT 1) b)"
                    ).format(
                        cols=cols,
                        old=self.name.ident(),
                        where=where,
                        pk=pk_cols,
                        n=sql.Literal(batch),
                        new=c.new.ident(),
                        desc=desc,
                    ),
                    params,
                ).fetchone()
                count, cursor = (int(row[0]), row[1]) if row else (0, None)
                self.store.record_batch(c, count, cursor, "backfill" if count == batch else "catchup")
            self.progress("backfill", c.rows_copied, max(self.total, c.rows_copied))
            failpoint(f"backfill:{c.batches}")
            if c.batches % self.tuning.replay_every == 0:
                self.replay(c, rounds=1)

    def cursor_values(self, c: Conversion) -> list[Any] | None:
        """The backfill cursor as typed primary-key values (None before the first batch)."""
        if c.cursor is None:
            return None
        pk_cols = sql.SQL(", ").join(sql.Identifier(col) for col in self.info.primary_key)
        values = self.conn.execute(
            sql.SQL("SELECT {} FROM jsonb_populate_record(NULL::{}, %s::jsonb)").format(pk_cols, self.name.ident()),
            [json.dumps(c.cursor)],
        ).fetchone()
        return list(values or ())

    # -- catch-up -------------------------------------------------------------------------------------------------
    def replay(self, c: Conversion, *, rounds: int, until: int = 0) -> int:
        """Replay log batches (each its own transaction) for ``rounds`` rounds or until the backlog <= ``until``."""
        total = 0
        batch = self.tuning.batch
        for _ in range(rounds):
            with self.conn.transaction():
                backfilling = c.phase == "backfill"
                done = capture.replay_batch(
                    self.conn,
                    self.info,
                    c.new_name,
                    c.log_name,
                    self.columns,
                    batch,
                    backfilling=backfilling,
                    behind=self.cursor_values(c) if backfilling else None,
                )
                self.store.record_replayed(c, done)
            total += done
            if done < batch and capture.backlog(self.conn, c.log_name) <= until:
                break
        return total

    def catch_up(self, c: Conversion) -> None:
        """Replay until the log is at most ``swap_backlog`` rows (or ``max_catchup_rounds`` rounds passed)."""
        for _ in range(self.tuning.max_catchup_rounds):
            if not self.replay(c, rounds=1, until=self.tuning.swap_backlog):
                return
            if capture.backlog(self.conn, c.log_name) <= self.tuning.swap_backlog:
                return

    def verify(self, c: Conversion) -> tuple[int, bool]:
        """Count and checksum both tables in one snapshot (two scans in parallel), leaving out logged keys."""
        info = self.info
        binary = capture.binary_hash_works(self.conn, info.schema, info.name, self.all_columns)
        found: dict[str, Any] = {}

        def scan(session: psycopg.Connection[Any], table: str) -> None:
            try:
                found[table] = session.execute(
                    capture.checksum_sql(
                        info.schema, table, c.log_name, self.all_columns, info.primary_key, binary_hash=binary
                    )
                ).fetchone()
            except Exception as exc:  # noqa: BLE001 - re-raised in the caller's thread
                found[table] = exc

        other = open_session(self.url)
        try:
            with self.conn.transaction(), other.transaction():
                self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                snapshot = self.conn.execute("SELECT pg_export_snapshot()").fetchone()
                other.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                other.execute(
                    sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot[0] if snapshot else None))
                )
                side = threading.Thread(target=scan, args=(other, c.new_name))
                side.start()
                scan(self.conn, info.name)
                side.join()
        finally:
            other.close()
        old, new = found[info.name], found[c.new_name]
        for value in (old, new):
            if isinstance(value, Exception):
                raise value
        return int(old[0]), tuple(old) == tuple(new)

    # -- swap -----------------------------------------------------------------------------------------------------
    def swap(self, c: Conversion) -> float:
        """Put the twin in place under a short ACCESS EXCLUSIVE lock; seconds the lock was held.

        Each attempt first catches up outside the lock (so the locked part stays
        short); lock timeouts are retried by :func:`pgwarden.db.retry_on_lock_timeout`.
        """
        from pgwarden.db import retry_on_lock_timeout

        info, conn = self.info, self.conn
        statements = ddl.swap_statements(conn, info, _twin_from(c.twin), c.new_name, c.old_name)
        tail = min(self.tuning.swap_tail, self.tuning.batch // 10)

        def locked() -> float:
            conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(self.name.ident()))
            started = time.monotonic()
            while capture.replay_batch(conn, info, c.new_name, c.log_name, self.columns, None):
                pass
            for statement in [*capture.drop_triggers(info, info.name, c.trigger_name), *statements]:
                conn.execute(statement)
            self.store.mark_swapped(c)
            return time.monotonic() - started

        def attempt() -> float:
            self.replay(c, rounds=50, until=tail)
            ddl.yield_autovacuum(conn, info.schema, [info.name, c.new_name])
            return ddl.attempt_locked(conn, locked, self.policy, watcher=watcher)

        with open_session(self.url) as watcher:  # samples who blocks the LOCK, for the message after a timeout
            held = retry_on_lock_timeout(attempt, self.policy, what=f"swap {info.qualified} for its partitioned twin")
        c.phase = "swapped"
        failpoint("swap")
        return held

    def extend_twin(self, c: Conversion) -> list[str]:
        """Add the twin's missing range partitions for the original's current keys; their names.

        The twin is not in use yet, so ``CREATE TABLE ... PARTITION OF`` locks nobody else out.
        """
        from pgwarden.partition.maintain import key_expr

        interval = c.layout.get("interval")
        if not interval:
            return []
        key = c.layout["key"]
        key_type = self.info.column(key).type
        unit = parse_interval(interval)
        twin = table_info(self.conn, c.new)
        have = [(p.lower, p.upper) for p in partitions(self.conn, twin.oid, exact_below=None)]
        starts = self.conn.execute(
            sql.SQL("SELECT DISTINCT {} FROM {} WHERE {} IS NOT NULL").format(
                key_expr(self.info, unit, key), self.name.ident(), sql.Identifier(key)
            )
        ).fetchall()
        added: list[str] = []
        with self.conn.transaction():
            for (start,) in starts:
                wanted = period(self.info.name, unit, as_utc(start))
                if any((lo is None or lo < wanted.upper) and (hi is None or hi > wanted.lower) for lo, hi in have):
                    continue
                self.conn.execute(
                    ddl.partition_of(
                        self.info.schema,
                        c.new_name,
                        wanted.name,
                        ddl.range_bounds(wanted.lower, wanted.upper, key_type),
                    )
                )
                have.append((wanted.lower, wanted.upper))
                added.append(wanted.name)
            self.store.record_partitions(c, added)
        return added

    def finish(self, c: Conversion, drop_old: bool) -> None:
        """Drop log and capture function, re-enable autovacuum on the partitions, forget the conversion.

        Autovacuum then analyzes the partitions; run ``ANALYZE <table>`` for parent-level statistics.
        """
        table = table_info(self.conn, self.name)
        for part in partitions(self.conn, table.oid, exact_below=None):  # SHARE UPDATE EXCLUSIVE: DML goes on
            ddl.run_locked(
                self.conn,
                [sql.SQL("ALTER TABLE {} RESET (autovacuum_enabled)").format(ddl.ident(part.schema, part.name))],
                self.policy,
                what=f"re-enable autovacuum on {part.name}",
            )
        for statement in capture.cleanup_statements(c.log_name, c.function_name):
            self.conn.execute(statement)
        if drop_old:
            ddl.run_locked(self.conn, [ddl.drop(self.info.schema, c.old_name)], self.policy, what=f"drop {c.old}")
        self.store.forget(self.name)
        c.phase = "done"


@contextmanager
def _session(
    where: Where, name: QualifiedName, tuning: Tuning
) -> Iterator[tuple[psycopg.Connection[Any], LockRetryPolicy]]:
    """The conversion's advisory lock, a UTC session and the lock policy (lock_timeout capped by ``tuning``)."""
    from pgwarden.db import advisory_lock

    policy = where.policy
    if tuning.lock_timeout is not None:
        policy = replace(policy, lock_timeout=min(policy.lock_timeout, tuning.lock_timeout))
    with advisory_lock(where.url, f"pgwarden:partition-convert:{name}", timeout=5):
        conn = open_session(where.url)
        try:
            yield conn, policy
        finally:
            conn.close()


def _record(conn: psycopg.Connection[Any], name: QualifiedName, outcome: str, details: dict[str, Any]) -> None:
    from pgwarden.events import record_event

    record_event(conn, "partition.convert", str(name), outcome, details)


def convert(
    where: Where,
    layout: Layout,
    tuning: Tuning = Tuning(),
    *,
    drop_old: bool = False,
    widen_unique: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ConvertResult:
    """Convert ``layout.name`` online (see the module doc) from start to finish.

    Raises Refused (exit 5) when the table cannot be converted safely or a
    conversion of it is already recorded (then :func:`resume` or :func:`abort`),
    ProblemsFound (exit 1) when verification finds a difference (nothing is
    swapped; :func:`abort` cleans up) and LockTimeoutGaveUp (exit 4) when a short
    lock cannot be had (the conversion stays resumable).
    """
    started = time.monotonic()
    with _session(where, layout.name, tuning) as (conn, policy):
        recorded = ConversionStore(conn).load(layout.name)
        if recorded is not None:
            raise Refused(
                f"a conversion of {layout.name} is already in progress (phase {recorded.phase})",
                hint=f"continue it: pgwarden partition convert {layout.name.shell()} --resume (or undo it: --abort)",
            )
        info = table_info(conn, layout.name)
        if info.partitioned:
            raise Refused(f"{layout.name} is already partitioned")
        worker = Converter(conn, where.url, info, policy, tuning, progress)
        laps = _Laps()
        conversion = worker.prepare(layout, as_utc(now or datetime.now(UTC)), widen_unique=widen_unique)
        laps.lap("prepare")
        return _complete(worker, conversion, drop_old, started, laps, resumed_from=None)


def resume(
    where: Where,
    name: QualifiedName,
    tuning: Tuning = Tuning(),
    *,
    drop_old: bool = False,
    progress: Progress | None = None,
) -> ConvertResult:
    """Continue the recorded conversion of ``name`` from its last committed step (after a crash or exit 4).

    BadInput (exit 2) when no conversion of ``name`` is recorded; otherwise as :func:`convert`.
    """
    started = time.monotonic()
    with _session(where, name, tuning) as (conn, policy):
        conversion = ConversionStore(conn).load(name)
        if conversion is None:
            raise BadInput(f"no conversion of {name} to resume")
        info = table_info(conn, name)  # after a swap: the new, partitioned table
        worker = Converter(conn, where.url, info, policy, tuning, progress)
        return _complete(worker, conversion, drop_old, started, _Laps(), resumed_from=conversion.phase)


def abort(where: Where, name: QualifiedName) -> ConvertResult:
    """Undo a conversion that has not swapped yet: drop trigger, twin, log; the original was never changed.

    BadInput (exit 2) when none is recorded; Refused (exit 5) once it swapped
    (finish it with :func:`resume` instead).
    """
    started = time.monotonic()
    with _session(where, name, Tuning()) as (conn, policy):
        store = ConversionStore(conn)
        c = store.load(name)
        if c is None:
            raise BadInput(f"no conversion of {name} to abort")
        if c.phase in ("swapped", "done"):
            raise Refused(
                f"the conversion of {name} already swapped; the original is kept as {c.old} (frozen at the swap)",
                hint="finish it with --resume; to go back, rename the tables yourself",
            )
        info = table_info(conn, name)
        ddl.run_locked(
            conn,
            capture.drop_triggers(info, info.name, c.trigger_name),
            policy,
            what=f"drop the capture trigger of {name}",
        )
        for statement in [
            sql.SQL("DROP TABLE IF EXISTS {}").format(c.new.ident()),
            *capture.cleanup_statements(c.log_name, c.function_name),
        ]:
            conn.execute(statement)
        store.forget(name)
        _record(conn, name, "aborted", {"phase": c.phase})
        return ConvertResult(
            str(name), "aborted", rows_copied=c.rows_copied, seconds=round(time.monotonic() - started, 3)
        )


def _complete(
    worker: Converter, c: Conversion, drop_old: bool, started: float, laps: _Laps, resumed_from: str | None
) -> ConvertResult:
    """From wherever ``c`` stands: copy, verify, swap, finish; the result with its figures."""
    result = ConvertResult(
        str(c.name), "converted", resumed_from=resumed_from, key_changes=_twin_from(c.twin).key_changes
    )
    if c.phase in ("backfill", "catchup"):
        _copy_verify_swap_extending(worker, c, result, laps)
    worker.finish(c, drop_old)
    result.partitions = list(c.partitions)
    result.rows_copied, result.rows_replayed, result.batches = c.rows_copied, c.replayed, c.batches
    if not drop_old:
        result.old_table = str(c.old)
        result.drop_old_sql = f"DROP TABLE {c.old.sql()};"
    result.phase_seconds = laps.seconds
    result.seconds = round(time.monotonic() - started, 3)
    _record(
        worker.conn,
        c.name,
        "ok",
        {
            "rows_copied": result.rows_copied,
            "replayed": result.rows_replayed,
            "verified_rows": result.verified_rows,
            "swap_seconds": result.swap_seconds,
            "key_changes": [k.__dict__ for k in result.key_changes],
            "old_table": result.old_table,
        },
    )
    return result


def _copy_verify_swap_extending(worker: Converter, c: Conversion, result: ConvertResult, laps: _Laps) -> None:
    """Copy, verify, swap; a row outside every partition of the twin adds partitions and the copy goes on."""
    attempts = worker.tuning.extend_attempts
    for attempt in range(attempts + 1):
        try:
            _copy_verify_swap(worker, c, result, laps)
            return
        except psycopg.errors.CheckViolation as exc:
            if attempt == attempts or not fits_no_partition(exc, c.new):
                raise
            added = worker.extend_twin(c)
            if not added:
                raise ProblemsFound(
                    f"{c.name}: a row fits no partition of the new table",
                    hint=f"pgwarden partition convert {c.name.shell()} --abort",
                ) from None
            worker.progress(f"added partitions {', '.join(added)}", 0, 1)


def _copy_verify_swap(worker: Converter, c: Conversion, result: ConvertResult, laps: _Laps) -> None:
    """Backfill, catch up, verify and (only when equal) swap; sets the figures on ``result``."""
    worker.backfill(c)
    laps.lap("backfill")
    worker.catch_up(c)
    failpoint("catchup")
    laps.lap("catchup")
    worker.progress("verify", 0, 1)
    result.verified_rows, result.checksum_equal = worker.verify(c)
    laps.lap("verify")
    if not result.checksum_equal:
        _record(worker.conn, c.name, "failed", {"reason": "checksum differs", "rows": result.verified_rows})
        raise ProblemsFound(
            f"{c.name}: the copy differs from the original (count or checksum); nothing was swapped",
            hint=f"pgwarden partition convert {c.name.shell()} --abort, then report it",
        )
    worker.progress("swap", 0, 1)
    result.swap_seconds = round(worker.swap(c), 4)
    laps.lap("swap")
