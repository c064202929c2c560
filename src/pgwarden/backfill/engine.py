"""The batched, resumable backfill: keyset pagination on the primary key, one short transaction per batch.

Guarantees:
- Each batch is one transaction under ``lock_timeout``: it updates at most ``batch`` rows, the ones
  that follow the last committed key in primary-key order, and advances the stored key in the same
  transaction. A crash (kill -9 included) loses at most the batch in flight, which rolled back, and
  the next run resumes right after the last committed batch: no row skipped, none updated twice.
- Pagination is by key, never by OFFSET, so rows inserted, updated or deleted by the application
  while the backfill runs cannot shift a page: rows inserted behind the current key are the
  application's to write (the expand phase), rows ahead of it are reached.
- A lock timeout rolls the batch back and retries it with backoff (exit 4 after the last retry).
- When the batch makes other sessions wait on its row locks, or a replica lags more than allowed,
  the run pauses and shrinks its batches, and says so.
- The SET list must be idempotent (applying it twice gives the same row). On the first batch the
  engine applies it a second time inside a savepoint and compares the rows; a SET that changes them
  again (``n = n + 1``, ``random()``) is refused before anything is committed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import psycopg
from psycopg import sql

from pgwarden.backfill.spec import BackfillSpec, TableName
from pgwarden.backfill.store import BackfillStore, Progress
from pgwarden.db import LockRetryPolicy, retry_on_lock_timeout, watch_lock_waits
from pgwarden.errors import BadInput

MIN_BATCH = 100

_KEY_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_index i
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
WHERE i.indrelid = %s::regclass AND i.indisprimary
ORDER BY array_position(i.indkey::int2[], a.attnum)
"""

_REPLICA_LAG = "SELECT COALESCE(max(EXTRACT(epoch FROM replay_lag)), 0)::float8 FROM pg_stat_replication"
_WAITING_ON_ME = "SELECT count(*) FROM pg_stat_activity WHERE pg_backend_pid() = ANY (pg_blocking_pids(pid))"


@dataclass(frozen=True)
class KeyColumn:
    """A primary-key column and its SQL type as the catalog prints it."""

    name: str
    type: str


@dataclass(frozen=True)
class Throttle:
    """When to pause: replica lag over ``max_lag`` seconds, or over ``max_waiters`` sessions waiting on a batch."""

    max_lag: float = 10.0
    max_waiters: int = 0
    pause: float = 0.5


@dataclass
class BatchReport:
    """Progress after one committed batch (what a progress bar shows)."""

    rows_done: int
    batches: int
    rows_per_second: float
    estimated_rows: int
    batch_size: int
    paused: str | None = None

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the current rate, or None before any rate is known."""
        if self.rows_per_second <= 0:
            return None
        return max(0.0, (self.estimated_rows - self.rows_done) / self.rows_per_second)


@dataclass
class RunStats:
    """What one run did (a resumed run counts only its own batches in ``rows``/``batches``)."""

    rows: int = 0
    batches: int = 0
    pauses: list[str] = field(default_factory=list)
    paused_seconds: float = 0.0
    idempotency_checked: bool = False


def key_columns(conn: psycopg.Connection[Any], table: TableName) -> list[KeyColumn]:
    """The table's primary-key columns in key order; BadInput when the table is missing or has no primary key."""
    regclass = _regclass(table)
    try:
        rows = conn.execute(_KEY_COLUMNS, (regclass,)).fetchall()
    except psycopg.errors.UndefinedTable:
        raise BadInput(f"table {table}: does not exist") from None
    if not rows:
        raise BadInput(
            f"table {table}: has no primary key; a keyset backfill pages on it "
            "(add one, or backfill through a unique NOT NULL column turned into the key)",
            hint=f"ALTER TABLE {table} ADD PRIMARY KEY (...)",
        )
    return [KeyColumn(name, type_) for name, type_ in rows]


def estimate_rows(conn: psycopg.Connection[Any], spec: BackfillSpec) -> int:
    """The planner's estimate of rows the backfill will touch (EXPLAIN, nothing executed)."""
    query = sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {} WHERE {}").format(
        _ident(spec.table), sql.SQL(spec.where) if spec.where else sql.SQL("true")
    )
    row = conn.execute(query).fetchone()
    assert row is not None
    plan = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    return int(plan[0]["Plan"]["Plan Rows"])


def _scope(
    spec: BackfillSpec, keys: list[KeyColumn], after: list[str] | None, upto: list[str] | None = None
) -> sql.Composable:
    """``keys > after AND keys <= upto AND (where)``: a key range the primary-key index answers."""
    names = sql.SQL(", ").join(sql.Identifier(k.name) for k in keys)
    conditions: list[sql.Composable] = []
    if after is not None:
        conditions.append(sql.SQL("({}) > ({})").format(names, _key_literal(keys, after)))
    if upto is not None:
        conditions.append(sql.SQL("({}) <= ({})").format(names, _key_literal(keys, upto)))
    if spec.where:
        conditions.append(sql.SQL("({})").format(sql.SQL(spec.where)))
    return sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")


def next_key_statement(
    spec: BackfillSpec, keys: list[KeyColumn], *, after: list[str] | None, limit: int
) -> sql.Composed:
    """The last key of the next batch: the ``limit``-th row after ``after`` in key order (an index scan).

    Key values are literals cast to the key's type, so the statements run without client-side
    parameters and a ``%`` in the user's SET or WHERE needs no escaping. Returns no row when no
    rows are left.
    """
    names = sql.SQL(", ").join(sql.Identifier(k.name) for k in keys)
    return sql.SQL(
        "SELECT ARRAY[{texts}] FROM (SELECT {names} FROM {table} WHERE {scope} ORDER BY {names} LIMIT {limit}) b "
        "ORDER BY {desc} LIMIT 1"
    ).format(
        texts=sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(k.name)) for k in keys),
        names=names,
        table=_ident(spec.table),
        scope=_scope(spec, keys, after),
        limit=sql.Literal(limit),
        desc=sql.SQL(", ").join(sql.SQL("{} DESC").format(sql.Identifier(k.name)) for k in keys),
    )


def update_statement(
    spec: BackfillSpec, keys: list[KeyColumn], *, after: list[str] | None, upto: list[str]
) -> sql.Composed:
    """``UPDATE table SET … WHERE keys in (after, upto] AND (where)``: one batch, by key range."""
    return sql.SQL("UPDATE {} SET {} WHERE {}").format(
        _ident(spec.table), sql.SQL(spec.set_clause), _scope(spec, keys, after, upto)
    )


def run(
    conn: psycopg.Connection[Any],
    spec: BackfillSpec,
    progress: Progress,
    keys: list[KeyColumn],
    *,
    policy: LockRetryPolicy,
    throttle: Throttle,
    estimated_rows: int,
    on_batch: Callable[[BatchReport], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunStats:
    """Run batches from ``progress`` until a batch finds no row; returns what this run did.

    ``conn`` is an autocommit connection used only by this backfill; each batch opens its own
    transaction on it.
    """
    stats = RunStats()
    last_key = progress.last_key
    batch_size = spec.batch
    started = time.monotonic()
    done_before = progress.rows_done
    while True:
        paused = _wait_for_replicas(conn, throttle, stats, sleep)
        attempt = partial(
            _one_batch,
            conn,
            spec,
            keys,
            last_key,
            batch_size,
            policy.lock_timeout,
            check_idempotent=last_key is None and not stats.idempotency_checked,
            stats=stats,
        )
        rows, new_key, waiters = retry_on_lock_timeout(attempt, policy, what=f"backfill batch on {spec.table}")
        if new_key is None:
            return stats
        last_key = new_key
        stats.rows += rows
        stats.batches += 1
        if waiters > throttle.max_waiters:
            batch_size = max(MIN_BATCH, batch_size // 2)
            paused = f"{waiters} session(s) waited on the batch's row locks: batch size now {batch_size}"
            stats.pauses.append(paused)
            stats.paused_seconds += throttle.pause
            sleep(throttle.pause)
        elif batch_size < spec.batch:
            batch_size = min(spec.batch, batch_size + max(MIN_BATCH, batch_size // 4))
        elapsed = max(time.monotonic() - started, 1e-6)
        if on_batch:
            on_batch(
                BatchReport(
                    done_before + stats.rows,
                    progress.batches + stats.batches,
                    stats.rows / elapsed,
                    max(estimated_rows, done_before + stats.rows),
                    batch_size,
                    paused,
                )
            )
        if spec.sleep:
            sleep(spec.sleep)


def _one_batch(
    conn: psycopg.Connection[Any],
    spec: BackfillSpec,
    keys: list[KeyColumn],
    last_key: list[str] | None,
    batch_size: int,
    lock_timeout: float,
    *,
    check_idempotent: bool,
    stats: RunStats,
) -> tuple[int, list[str] | None, int]:
    with watch_lock_waits(None, conn.info.backend_pid, lock_timeout), conn.transaction():
        conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(f"{int(lock_timeout * 1000)}ms")))
        row = conn.execute(next_key_statement(spec, keys, after=last_key, limit=batch_size)).fetchone()
        if row is None:
            return 0, None, 0
        new_key = list(row[0])
        rows = conn.execute(update_statement(spec, keys, after=last_key, upto=new_key)).rowcount
        if check_idempotent:
            _check_idempotent(conn, spec, keys, new_key)
            stats.idempotency_checked = True
        waiters_row = conn.execute(_WAITING_ON_ME).fetchone()
        BackfillStore.record_batch(conn, spec.backfill_id, list(new_key), rows)
    return rows, list(new_key), int(waiters_row[0]) if waiters_row else 0


def _check_idempotent(
    conn: psycopg.Connection[Any], spec: BackfillSpec, keys: list[KeyColumn], last_key: list[str]
) -> None:
    """Apply SET again to the first batch's rows inside a savepoint; BadInput when the rows change again."""
    names = sql.SQL(", ").join(sql.Identifier(k.name) for k in keys)
    scope = _scope(spec, keys, None, last_key)
    digest = sql.SQL("SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY {}), '')) FROM {} AS t WHERE {}").format(
        names, _ident(spec.table), scope
    )
    before = conn.execute(digest).fetchone()
    conn.execute("SAVEPOINT pgw_idempotency")
    conn.execute(update_statement(spec, keys, after=None, upto=last_key))
    after = conn.execute(digest).fetchone()
    conn.execute("ROLLBACK TO SAVEPOINT pgw_idempotency")
    conn.execute("RELEASE SAVEPOINT pgw_idempotency")
    if before != after:
        raise BadInput(
            f"--set {spec.set_clause!r} is not idempotent: applied twice to the first batch of "
            f"{spec.table} it changed the rows again; nothing was committed",
            hint="write the SET so that running it twice gives the same row "
            "(e.g. total = price * qty, not total = total + 1)",
        )


def _wait_for_replicas(
    conn: psycopg.Connection[Any], throttle: Throttle, stats: RunStats, sleep: Callable[[float], None]
) -> str | None:
    """Pause while the most lagging replica is more than ``throttle.max_lag`` seconds behind."""
    reason = None
    while True:
        try:
            row = conn.execute(_REPLICA_LAG).fetchone()
        except psycopg.errors.InsufficientPrivilege:
            return reason
        lag = float(row[0]) if row and row[0] is not None else 0.0
        if lag <= throttle.max_lag:
            return reason
        reason = f"replica lag {lag:.1f}s > {throttle.max_lag:g}s: paused"
        stats.pauses.append(reason)
        stats.paused_seconds += throttle.pause
        sleep(throttle.pause)


def _key_literal(keys: list[KeyColumn], values: list[str]) -> sql.Composed:
    """``'v1'::type1, 'v2'::type2``: a stored key (text) back in its columns' types."""
    return sql.SQL(", ").join(
        sql.SQL("{}::{}").format(sql.Literal(v), sql.SQL(k.type)) for k, v in zip(keys, values, strict=True)
    )


def _regclass(table: TableName) -> str:
    return sql.SQL("{}.{}").format(sql.Identifier(table.schema), sql.Identifier(table.name)).as_string(None)


def _ident(table: TableName) -> sql.Identifier:
    return sql.Identifier(table.schema, table.name)
