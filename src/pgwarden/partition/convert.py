"""``partition convert``: turn a live table into a partitioned one while reads and writes go on.

Method: build a partitioned twin, capture changes with a trigger, backfill in
keyset batches, catch up, verify, swap under a short lock. Why this and not
"attach the old table as one partition and split it": splitting the big
partition later needs either ACCESS EXCLUSIVE on it while rows move or the
very same copy, and the old table would need the partition key in its primary
key first (a rewrite of the index under lock). Copying into a twin keeps the
original untouched until one short swap, and makes ``--abort`` trivial.

Phases (persisted in ``pgwarden.partition_conversions``, so ``--resume`` continues
after a crash or ``kill -9`` and ``--abort`` restores the original):

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
             original to ``<t>_pgw_old``, the twin to ``<t>``, move sequences
             and index names
done         drop log and function; ``--drop-old`` drops ``<t>_pgw_old``           none
===========  =====================================================================  =================================

Writers therefore never wait longer than lock_timeout plus the swap itself;
the default convert lock_timeout is 500 ms (``--lock-timeout``). Before each swap
attempt the log is caught up outside the lock, so the locked part replays at
most a few hundred rows; a swap that cannot get its lock is retried with backoff
and finally gives up (exit 4) leaving the conversion resumable.

Also guaranteed: ``TRUNCATE`` of the table is refused while it is being copied
(the trigger could not capture it); a row written meanwhile outside every
planned partition gets its partition added to the twin (not yet in use, so no
one waits) and the copy continues; tables without a primary key, referenced by
foreign keys, used by views, with user triggers or exclusion constraints are
refused up front (exit 5) and nothing is created.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from psycopg import sql

from pgwarden.errors import BadInput, ProblemsFound, Refused
from pgwarden.partition import capture, ddl
from pgwarden.partition.create import check_key, partition_statements
from pgwarden.partition.inspect import open_session, table_info
from pgwarden.partition.naming import as_utc, shorten

if TYPE_CHECKING:
    import psycopg

    from pgwarden.config import Config
    from pgwarden.db import LockRetryPolicy
    from pgwarden.partition.inspect import TableInfo
    from pgwarden.partition.spec import Layout

FAILPOINT_ENV = "PGWARDEN_FAILPOINT"  # tests: kill -9 ourselves at a named point (e.g. "backfill:3", "swap")
STATE_SQL = """
CREATE TABLE IF NOT EXISTS pgwarden.partition_conversions (
    table_schema text NOT NULL,
    table_name   text NOT NULL,
    layout       jsonb NOT NULL,
    new_name     text NOT NULL,
    old_name     text NOT NULL,
    log_name     text NOT NULL,
    function_name text NOT NULL,
    trigger_name text NOT NULL,
    twin         jsonb NOT NULL,
    phase        text NOT NULL CHECK (phase IN ('backfill', 'catchup', 'swapped', 'done')),
    cursor       jsonb,
    rows_copied  bigint NOT NULL DEFAULT 0,
    batches      integer NOT NULL DEFAULT 0,
    replayed     bigint NOT NULL DEFAULT 0,
    started_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (table_schema, table_name)
)
"""

Progress = Callable[[str, int, int], None]


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
    swap_seconds: float | None = None
    seconds: float = 0.0
    resumed_from: str | None = None
    phase_seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class _State:
    schema: str
    table: str
    layout: dict[str, Any]
    new_name: str
    old_name: str
    log_name: str
    function_name: str
    trigger_name: str
    twin: dict[str, Any]
    phase: str
    cursor: Any
    rows_copied: int
    batches: int
    replayed: int


def failpoint(name: str) -> None:
    """``kill -9`` this process when ``$PGWARDEN_FAILPOINT`` equals ``name`` (crash tests only)."""
    if os.environ.get(FAILPOINT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _load_state(conn: psycopg.Connection[Any], schema: str, table: str) -> _State | None:
    if not conn.execute("SELECT to_regclass('pgwarden.partition_conversions') IS NOT NULL").fetchone()[0]:  # type: ignore[index]
        return None
    row = conn.execute("SELECT table_schema, table_name, layout, new_name, old_name, log_name, function_name, "
                       "trigger_name, twin, phase, cursor, rows_copied, batches, replayed "
                       "FROM pgwarden.partition_conversions WHERE table_schema = %s AND table_name = %s",
                       [schema, table]).fetchone()
    return _State(*row) if row else None


def _twin_from(data: dict[str, Any]) -> ddl.Twin:
    return ddl.Twin(renames=[tuple(r) for r in data["renames"]],
                    key_changes=[ddl.KeyChange(**c) for c in data["key_changes"]],
                    owned_sequences=[tuple(s) for s in data["owned_sequences"]],
                    identity_columns=list(data["identity_columns"]))


def _layout_json(layout: Layout) -> dict[str, Any]:
    return {"key": layout.key, "interval": layout.interval.value if layout.interval else None,
            "modulus": layout.modulus, "premake": layout.premake, "default_partition": layout.default_partition}


class Converter:
    """One conversion run (prepare, backfill, catch-up, verify, swap, finish) on one table."""

    def __init__(self, conn: psycopg.Connection[Any], url: str, info: TableInfo, policy: LockRetryPolicy, *,
                 batch: int, progress: Progress | None):
        self.conn = conn
        self.url = url
        self.info = info
        self.policy = policy
        self.batch = batch
        self.progress = progress or (lambda phase, done, total: None)
        self.columns = [c.name for c in info.columns if not c.generated]
        self.all_columns = [c.name for c in info.columns]
        self.total = self._estimate()

    def _estimate(self) -> int:
        row = self.conn.execute("SELECT greatest(reltuples::bigint, 0) FROM pg_class WHERE oid = %s",
                                [self.info.oid]).fetchone()
        return int(row[0]) if row else 0

    # -- prepare ------------------------------------------------------------------------------------------------
    def prepare(self, layout: Layout, now: datetime) -> _State:
        info, conn = self.info, self.conn
        if not info.primary_key:
            raise Refused(f"{info.qualified} has no primary key; online conversion needs one to copy in batches "
                          "and replay changes", hint="add a primary key first (pgwarden lint explains how, online)")
        check_key(info, layout)
        key = sql.Identifier(layout.key)
        table = ddl.ident(info.schema, info.name)
        if not layout.default_partition and not info.column(layout.key).not_null:
            nulls = conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {} IS NULL)").format(
                table, key)).fetchone()
            if nulls and nulls[0]:
                raise Refused(f"{info.qualified}.{layout.key} has NULLs; they fit no range partition",
                              hint="fill them in, or pass --default to keep a default partition for them")
        first = last = None
        if layout.interval:
            bounds = conn.execute(sql.SQL("SELECT min({k}), max({k}) FROM {t}").format(k=key, t=table)).fetchone()
            if bounds and bounds[0] is not None:
                first, last = as_utc(bounds[0]), as_utc(bounds[1])
        new_name = shorten(info.name, "_pgw_new")
        twin = ddl.partitioned_twin(conn, info, new_name, layout.strategy, [layout.key])
        parts, names, default = partition_statements(layout, info.column(layout.key).type, new_name, now, first, last)
        tag = f"cv{info.oid}"
        state = _State(info.schema, info.name, {**_layout_json(layout), "partitions": names + ([default] if default
                                                                                            else [])},
                       new_name, shorten(info.name, "_pgw_old"), f"{tag}_log", f"{tag}_capture",
                       f"pgwarden_{tag}_capture", {
                           "renames": twin.renames, "key_changes": [c.__dict__ for c in twin.key_changes],
                           "owned_sequences": twin.owned_sequences, "identity_columns": twin.identity_columns},
                       "backfill", None, 0, 0, 0)
        install = capture.install_statements(conn, info, state.log_name, state.function_name, state.trigger_name)
        # no autovacuum on the twin while it is bulk-filled (it would compete with the copy); reset in finish()
        quiet = [sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = false)").format(ddl.ident(info.schema, name))
                 for name in names + ([default] if default else [])]

        def build() -> None:
            conn.execute(STATE_SQL)
            for statement in [*twin.create, *parts, *quiet, *install]:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO pgwarden.partition_conversions (table_schema, table_name, layout, new_name, old_name, "
                "log_name, function_name, trigger_name, twin, phase) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [state.schema, state.table, json.dumps(state.layout), state.new_name, state.old_name, state.log_name,
                 state.function_name, state.trigger_name, json.dumps(state.twin), state.phase])

        conn.execute("CREATE SCHEMA IF NOT EXISTS pgwarden")
        ddl.run_locked(conn, build, self.policy, what=f"install change capture on {info.qualified}")
        failpoint("prepare")
        return state

    # -- backfill -----------------------------------------------------------------------------------------------
    def backfill(self, state: _State, replay_every: int = 8) -> None:
        info, conn = self.info, self.conn
        pk = info.primary_key
        pk_cols = sql.SQL(", ").join(sql.Identifier(c) for c in pk)
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in self.columns)
        desc = sql.SQL(", ").join(sql.SQL("{} DESC").format(sql.Identifier(c)) for c in pk)
        old, new = ddl.ident(info.schema, info.name), ddl.ident(info.schema, state.new_name)
        while state.phase == "backfill":
            with conn.transaction():
                where: sql.Composable = sql.SQL("")
                params = self.cursor_values(state)
                if params is not None:
                    where = sql.SQL("WHERE ({}) > ({})").format(
                        pk_cols, sql.SQL(", ").join(sql.Placeholder() * len(pk)))
                row = conn.execute(sql.SQL(
                    "WITH batch AS (SELECT {cols} FROM {old} {where} ORDER BY {pk} LIMIT {n}), "
                    "ins AS (INSERT INTO {new} ({cols}) OVERRIDING SYSTEM VALUE SELECT {cols} FROM batch) "
                    "SELECT (SELECT count(*) FROM batch), "
                    "(SELECT to_jsonb(b) FROM (SELECT {pk} FROM batch ORDER BY {desc} LIMIT 1) b)").format(
                    cols=cols, old=old, where=where, pk=pk_cols, n=sql.Literal(self.batch), new=new, desc=desc),
                    params).fetchone()
                count, cursor = (int(row[0]), row[1]) if row else (0, None)
                phase = "backfill" if count == self.batch else "catchup"
                conn.execute("UPDATE pgwarden.partition_conversions SET cursor = coalesce(%s::jsonb, cursor), "
                             "rows_copied = rows_copied + %s, batches = batches + 1, phase = %s, updated_at = now() "
                             "WHERE table_schema = %s AND table_name = %s",
                             [json.dumps(cursor) if cursor is not None else None, count, phase, info.schema, info.name])
            state.cursor = cursor if cursor is not None else state.cursor
            state.rows_copied += count
            state.batches += 1
            state.phase = phase
            self.progress("backfill", state.rows_copied, max(self.total, state.rows_copied))
            failpoint(f"backfill:{state.batches}")
            if state.batches % replay_every == 0:
                self.replay(state, rounds=1)

    def cursor_values(self, state: _State) -> list[Any] | None:
        """The backfill cursor as typed primary-key values (None before the first batch)."""
        if state.cursor is None:
            return None
        pk_cols = sql.SQL(", ").join(sql.Identifier(c) for c in self.info.primary_key)
        values = self.conn.execute(sql.SQL("SELECT {} FROM jsonb_populate_record(NULL::{}, %s::jsonb)").format(
            pk_cols, ddl.ident(self.info.schema, self.info.name)), [json.dumps(state.cursor)]).fetchone()
        return list(values or ())

    # -- catch-up -------------------------------------------------------------------------------------------------
    def replay(self, state: _State, *, rounds: int, until: int = 0) -> int:
        """Replay log batches (each its own transaction) for ``rounds`` rounds or until the backlog <= ``until``."""
        total = 0
        for _ in range(rounds):
            with self.conn.transaction():
                backfilling = state.phase == "backfill"
                done = capture.replay_batch(self.conn, self.info, state.new_name, state.log_name, self.columns,
                                            self.batch, backfilling=backfilling,
                                            behind=self.cursor_values(state) if backfilling else None)
                if done:
                    self.conn.execute("UPDATE pgwarden.partition_conversions SET replayed = replayed + %s, "
                                      "updated_at = now() WHERE table_schema = %s AND table_name = %s",
                                      [done, self.info.schema, self.info.name])
            total += done
            state.replayed += done
            if done < self.batch and capture.backlog(self.conn, state.log_name) <= until:
                break
        return total

    def verify(self, state: _State) -> tuple[int, bool]:
        """Count and checksum both tables in one snapshot, leaving out keys still in the log."""
        import threading

        conn, info = self.conn, self.info
        other = open_session(self.url)
        found: dict[str, Any] = {}

        binary = capture.binary_hash_works(conn, info.schema, info.name, self.all_columns)

        def scan(session: psycopg.Connection[Any], table: str) -> None:
            try:
                found[table] = session.execute(capture.checksum_sql(
                    info.schema, table, state.log_name, self.all_columns, info.primary_key,
                    binary_hash=binary)).fetchone()
            except Exception as exc:  # noqa: BLE001 - re-raised in the caller's thread
                found[table] = exc

        try:
            with conn.transaction(), other.transaction():  # two scans in parallel, one snapshot
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
                other.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                other.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
                side = threading.Thread(target=scan, args=(other, state.new_name))
                side.start()
                scan(conn, info.name)
                side.join()
        finally:
            other.close()
        old, new = found[info.name], found[state.new_name]
        for value in (old, new):
            if isinstance(value, Exception):
                raise value
        return int(old[0]), tuple(old) == tuple(new)

    # -- swap -----------------------------------------------------------------------------------------------------
    def swap(self, state: _State) -> float:
        info, conn = self.info, self.conn
        twin = _twin_from(state.twin)
        statements = ddl.swap_statements(conn, info, twin, state.new_name, state.old_name)
        spent = {"seconds": 0.0}

        def attempt() -> None:
            conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(ddl.ident(info.schema, info.name)))
            started = time.monotonic()
            while capture.replay_batch(conn, info, state.new_name, state.log_name, self.columns, None):
                pass
            for statement in capture.drop_triggers(info, info.name, state.trigger_name):
                conn.execute(statement)
            for statement in statements:
                conn.execute(statement)
            conn.execute("UPDATE pgwarden.partition_conversions SET phase = 'swapped', updated_at = now() "
                         "WHERE table_schema = %s AND table_name = %s", [info.schema, info.name])
            spent["seconds"] = time.monotonic() - started

        from dataclasses import replace

        from pgwarden.errors import LockTimeoutGaveUp

        single = replace(self.policy, retries=0)
        for retry in range(self.policy.retries + 1):
            try:  # each attempt first catches up outside the lock, so the locked part stays short
                self.replay(state, rounds=50, until=min(200, self.batch // 10))
                ddl.run_locked(conn, attempt, single, what=f"swap {info.qualified} for its partitioned twin")
                break
            except LockTimeoutGaveUp:
                if retry == self.policy.retries:
                    raise
                time.sleep(self.policy.delay(retry + 1))
        state.phase = "swapped"
        failpoint("swap")
        return spent["seconds"]

    def extend_twin(self, state: _State) -> list[str]:
        """Add the twin's missing range partitions for the original's current min..max key; their names.

        The twin is not in use yet, so ``CREATE TABLE ... PARTITION OF`` locks nobody else out.
        """
        from pgwarden.partition.inspect import partitions
        from pgwarden.partition.naming import parse_interval

        interval = state.layout.get("interval")
        if not interval:
            return []
        from pgwarden.partition.maintain import key_expr
        from pgwarden.partition.naming import period as period_of

        key_type = self.info.column(state.layout["key"]).type
        unit = parse_interval(interval)
        twin_oid = self.conn.execute("SELECT %s::regclass::oid", [
            sql.Identifier(self.info.schema, state.new_name).as_string(self.conn)]).fetchone()[0]  # type: ignore[index]
        have = [(p.lower, p.upper) for p in partitions(self.conn, twin_oid, exact_below=0)]
        starts = self.conn.execute(sql.SQL("SELECT DISTINCT {} FROM {} WHERE {} IS NOT NULL").format(
            key_expr(self.info, unit, state.layout["key"]), ddl.ident(self.info.schema, self.info.name),
            sql.Identifier(state.layout["key"]))).fetchall()
        added: list[str] = []
        with self.conn.transaction():
            for (start,) in starts:
                period = period_of(self.info.name, unit, as_utc(start))
                if any((lo is None or lo < period.upper) and (hi is None or hi > period.lower) for lo, hi in have):
                    continue
                self.conn.execute(ddl.partition_of(self.info.schema, state.new_name, period.name,
                                                   ddl.range_bounds(period.lower, period.upper, key_type)))
                have.append((period.lower, period.upper))
                added.append(period.name)
        return added

    def finish(self, state: _State, drop_old: bool) -> None:
        """Drop log and capture function, re-enable autovacuum on the partitions, forget the conversion.

        Autovacuum then analyzes the partitions; run ``ANALYZE <table>`` for parent-level statistics.
        """
        from pgwarden.partition.inspect import partitions

        table_oid = self.conn.execute("SELECT %s::regclass::oid", [
            sql.Identifier(self.info.schema, self.info.name).as_string(self.conn)]).fetchone()[0]  # type: ignore[index]
        for part in partitions(self.conn, table_oid, exact_below=0):  # SHARE UPDATE EXCLUSIVE: DML goes on
            ddl.run_locked(self.conn, [sql.SQL("ALTER TABLE {} RESET (autovacuum_enabled)").format(
                ddl.ident(part.schema, part.name))], self.policy, what=f"re-enable autovacuum on {part.name}")
        for statement in capture.cleanup_statements(state.log_name, state.function_name):
            self.conn.execute(statement)
        if drop_old:
            ddl.run_locked(self.conn, [ddl.drop(self.info.schema, state.old_name)], self.policy,
                           what=f"drop {self.info.schema}.{state.old_name}")
        self.conn.execute("DELETE FROM pgwarden.partition_conversions WHERE table_schema = %s AND table_name = %s",
                          [self.info.schema, self.info.name])
        state.phase = "done"


def convert(config: Config, env: str | None, layout: Layout, *, batch: int = 10_000, resume: bool = False,
            abort: bool = False, drop_old: bool = False, lock_timeout: float | None = 0.5,
            now: datetime | None = None, progress: Progress | None = None, swap_backlog: int = 2_000,
            max_catchup_rounds: int = 200) -> ConvertResult:
    """Convert ``layout.table`` online (see the module doc), or ``resume`` / ``abort`` an earlier run.

    Raises Refused (exit 5) when a conversion is already recorded and neither
    ``resume`` nor ``abort`` is given, ProblemsFound (exit 1) when verification
    finds a difference (nothing is swapped then; ``--abort`` cleans up), and
    LockTimeoutGaveUp (exit 4) when a short lock cannot be had.
    """
    from pgwarden.db import LockRetryPolicy, advisory_lock, resolve_target
    from pgwarden.events import record_event

    started = time.monotonic()
    target = resolve_target(config, env)
    policy = LockRetryPolicy.from_config(config, target.env)
    if lock_timeout is not None:
        policy.lock_timeout = min(policy.lock_timeout, lock_timeout)
    qualified = layout.qualified
    with advisory_lock(target.url, f"pgwarden:partition-convert:{qualified}", timeout=5):
        conn = open_session(target.url)
        try:
            state = _load_state(conn, layout.schema, layout.table)
            if abort:
                return _abort(conn, state, layout, policy, started)
            if state is not None and not resume:
                raise Refused(f"a conversion of {qualified} is already in progress (phase {state.phase})",
                              hint=f"continue it: pgwarden partition convert {qualified} --resume "
                                   f"(or undo it: --abort)")
            if state is None and resume:
                raise BadInput(f"no conversion of {qualified} to resume")
            info = table_info(conn, layout.schema, layout.table)  # after a swap: the new, partitioned table
            if info.partitioned and state is None:
                raise Refused(f"{qualified} is already partitioned")
            worker = Converter(conn, target.url, info, policy, batch=batch, progress=progress)
            result = ConvertResult(qualified, "converted", resumed_from=state.phase if state else None)
            if state is None:
                state = worker.prepare(layout, as_utc(now or datetime.now(UTC)))
                result.phase_seconds["prepare"] = round(time.monotonic() - started, 3)
            result.partitions = list(state.layout.get("partitions", []))
            result.key_changes = _twin_from(state.twin).key_changes
            if state.phase in ("backfill", "catchup"):
                for attempt in range(4):
                    try:
                        _copy_verify_swap(worker, state, result, swap_backlog, max_catchup_rounds)
                        break
                    except psycopg_errors().CheckViolation as exc:  # a row outside every partition of the twin
                        added = worker.extend_twin(state) if attempt < 3 and "no partition" in str(exc) else []
                        if not added:
                            raise ProblemsFound(f"{qualified}: a row fits no partition of the new table: "
                                                f"{str(exc).splitlines()[0]}",
                                                hint=f"pgwarden partition convert {qualified} --abort") from None
                        worker.progress(f"added partitions {', '.join(added)}", 0, 1)
                if result.checksum_equal is False:
                    record_event(conn, "partition.convert", qualified, "failed",
                                 {"reason": "checksum differs", "rows": result.verified_rows})
                    raise ProblemsFound(f"{qualified}: the copy differs from the original (count or checksum); "
                                        "nothing was swapped",
                                        hint=f"pgwarden partition convert {qualified} --abort, then report it")
            worker.finish(state, drop_old)
            result.rows_copied, result.rows_replayed, result.batches = state.rows_copied, state.replayed, state.batches
            result.old_table = None if drop_old else f"{layout.schema}.{state.old_name}"
            result.seconds = round(time.monotonic() - started, 3)
            record_event(conn, "partition.convert", qualified, "ok",
                         {"rows_copied": result.rows_copied, "replayed": result.rows_replayed,
                          "verified_rows": result.verified_rows, "swap_seconds": result.swap_seconds,
                          "key_changes": [c.__dict__ for c in result.key_changes], "old_table": result.old_table})
            return result
        finally:
            conn.close()


def psycopg_errors() -> Any:
    """``psycopg.errors`` (imported lazily)."""
    import psycopg.errors

    return psycopg.errors


def _copy_verify_swap(worker: Converter, state: _State, result: ConvertResult, swap_backlog: int,
                      max_rounds: int) -> None:
    """Backfill, catch up, verify and (only when equal) swap; sets the figures on ``result``."""
    mark = time.monotonic()

    def lap(phase: str) -> None:
        nonlocal mark
        now = time.monotonic()
        result.phase_seconds[phase] = round(result.phase_seconds.get(phase, 0.0) + now - mark, 3)
        mark = now

    worker.backfill(state)
    lap("backfill")
    rounds = 0
    while worker.replay(state, rounds=1, until=swap_backlog) and rounds < max_rounds:
        rounds += 1
        if capture.backlog(worker.conn, state.log_name) <= swap_backlog:
            break
    failpoint("catchup")
    lap("catchup")
    worker.progress("verify", 0, 1)
    result.verified_rows, result.checksum_equal = worker.verify(state)
    lap("verify")
    if not result.checksum_equal:
        return
    worker.progress("swap", 0, 1)
    result.swap_seconds = round(worker.swap(state), 4)
    lap("swap")


def _abort(conn: psycopg.Connection[Any], state: _State | None, layout: Layout, policy: LockRetryPolicy,
           started: float) -> ConvertResult:
    """Undo a conversion that has not swapped yet: drop trigger, twin, log; the original was never changed."""
    from pgwarden.events import record_event

    if state is None:
        raise BadInput(f"no conversion of {layout.qualified} to abort")
    if state.phase in ("swapped", "done"):
        raise Refused(f"the conversion of {layout.qualified} already swapped; the original is kept as "
                      f"{layout.schema}.{state.old_name} (frozen at the swap)",
                      hint="finish it with --resume; to go back, rename the tables yourself")
    info = table_info(conn, layout.schema, layout.table)
    ddl.run_locked(conn, capture.drop_triggers(info, info.name, state.trigger_name), policy,
                   what=f"drop the capture trigger of {info.qualified}")
    for statement in [sql.SQL("DROP TABLE IF EXISTS {}").format(ddl.ident(info.schema, state.new_name)),
                      *capture.cleanup_statements(state.log_name, state.function_name)]:
        conn.execute(statement)
    conn.execute("DELETE FROM pgwarden.partition_conversions WHERE table_schema = %s AND table_name = %s",
                 [layout.schema, layout.table])
    record_event(conn, "partition.convert", layout.qualified, "aborted", {"phase": state.phase})
    return ConvertResult(layout.qualified, "aborted", rows_copied=state.rows_copied,
                         seconds=round(time.monotonic() - started, 3))
