"""The runner's connections: one run at a time, no orphan of an earlier run, the same session state each time.

Guarantees:
- runs on one database are serialised by the session advisory lock ``pgwarden:migrate``
  (held on its own idle connection);
- the work connection holds a session advisory lock of its own, ``pgwarden:migrate:work``,
  taken outside any transaction (``CREATE INDEX CONCURRENTLY`` is unaffected), and is
  named ``pgwarden:migrate:<run id>``. When a runner dies, PostgreSQL keeps its work
  backend running until the statement in flight ends; a new run waits for every such
  orphan (or ends it with ``terminate_orphans``) before it reads any history, so a
  statement is never run while an earlier run may still commit it;
- the server aborts the work connection's statement soon after its client disappears
  (``client_connection_check_interval``, PostgreSQL 14+);
- :func:`reset_session` gives every migration the same session state (settings, role,
  temporary objects, prepared plans) without releasing the run's locks.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg

from pgwarden.config import Config
from pgwarden.db import BlockerWatch, LockRetryPolicy, Target, advisory_lock, connect, lock_key, watch_interval
from pgwarden.errors import LockTimeoutGaveUp, Refused, Unreachable
from pgwarden.migrations import history
from pgwarden.migrations.runner import ExecutionContext, Reporter
from pgwarden.redact import redact
from pgwarden.units import parse_duration

RUNNER_LOCK = "pgwarden:migrate"
WORK_LOCK = "pgwarden:migrate:work"
WORK_APPLICATION_PREFIX = "pgwarden:migrate:"
CLIENT_CHECK_INTERVAL = "1s"

# DISCARD ALL without pg_advisory_unlock_all(): the run keeps its locks.
_RESET = (
    "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DEALLOCATE ALL; UNLISTEN *; "
    "DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES"
)

_ORPHANS = """
SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.state, ''), left(coalesce(a.query, ''), 200)
FROM pg_stat_activity a
WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
  AND (a.pid IN (SELECT l.pid FROM pg_locks l
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                   AND l.classid::bigint = %(hi)s AND l.objid::bigint = %(lo)s)
       OR (a.application_name LIKE %(prefix)s AND a.state IS DISTINCT FROM 'idle'))
ORDER BY a.pid
"""


def _key_parts(name: str) -> tuple[int, int]:
    unsigned = lock_key(name) & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


def orphans(conn: psycopg.Connection[Any]) -> list[tuple[int, str, str, str]]:
    """``(pid, application_name, state, query)`` of work backends of earlier runs still alive in this database."""
    hi, lo = _key_parts(WORK_LOCK)
    rows = conn.execute(_ORPHANS, {"hi": hi, "lo": lo, "prefix": WORK_APPLICATION_PREFIX + "%"}).fetchall()
    return [(r[0], r[1], r[2], redact(r[3])) for r in rows]


def _take_work_lock(conn: psycopg.Connection[Any], *, timeout: float, terminate: bool, reporter: Reporter) -> None:
    """Hold WORK_LOCK on ``conn`` once no orphan of an earlier run is left (see module guarantees)."""
    key = lock_key(WORK_LOCK)
    deadline = time.monotonic() + timeout
    told = False
    while True:
        left = orphans(conn)
        if not left:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
            if row and row[0]:
                return
        elif not told:
            reporter.waiting_for_orphans([pid for pid, *_ in left], terminate)
            told = True
        if left and terminate:
            for pid, *_ in left:
                try:
                    conn.execute("SELECT pg_terminate_backend(%s)", [pid])
                except psycopg.errors.InsufficientPrivilege:
                    raise Refused(
                        f"cannot end the orphaned backend pid {pid}: permission denied",
                        hint="ask a superuser to run SELECT pg_terminate_backend(pid), or wait",
                    ) from None
        if time.monotonic() > deadline:
            described = "; ".join(f"pid {pid} ({state}): {query}" for pid, _app, state, query in left) or "unknown"
            raise LockTimeoutGaveUp(
                f"a backend of an earlier, stopped pgwarden run is still working; gave up after {timeout:.0f}s: "
                f"{described}",
                hint="wait for it to finish, or run again with --terminate-orphans to end it (its transaction "
                "rolls back; an interrupted CONCURRENTLY build is dropped and rebuilt)",
            )
        time.sleep(0.2 * (0.5 + random.random()))


def reset_session(conn: psycopg.Connection[Any]) -> None:
    """Give the next migration the session state a fresh connection would have (locks are kept)."""
    conn.execute(_RESET)
    if conn.info.server_version >= 140000:
        conn.execute(f"SET client_connection_check_interval = '{CLIENT_CHECK_INTERVAL}'")


def _statement_timeout(config: Config) -> float | None:
    value = config.settings.migrate.statement_timeout
    return parse_duration(value) if value else None


@contextmanager
def runner(
    config: Config, target: Target, reporter: Reporter, *, terminate_orphans: bool = False
) -> Iterator[ExecutionContext]:
    """Hold the runner lock and yield a work connection with no orphan left and the history schema in place.

    A connection lost while the body runs becomes Unreachable (exit 3) with one line.
    """
    timeout = parse_duration(config.settings.migrate.runner_lock_timeout)
    run_id = uuid.uuid4().hex[:12]
    with advisory_lock(target.url, RUNNER_LOCK, timeout=timeout, on_wait=reporter.waiting_for_runner_lock) as lock:
        conn = connect(target.url, autocommit=True, application_name=f"{WORK_APPLICATION_PREFIX}{run_id}")
        conn.prepare_threshold = None  # reset_session deallocates prepared statements
        policy = LockRetryPolicy.from_config(config, target.env)
        try:
            _take_work_lock(conn, timeout=timeout, terminate=terminate_orphans, reporter=reporter)
            reset_session(conn)
            history.ensure_schema(conn)
            # The lock connection is idle while we hold the lock: it samples who blocks the work connection.
            with BlockerWatch(lock, conn.info.backend_pid, watch_interval(policy.lock_timeout)) as watch:
                yield ExecutionContext(conn, watch, policy, _statement_timeout(config), reporter, run_id)
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            if not conn.closed and not lock.closed:
                raise
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise Unreachable(
                f"lost the connection to {target.env_name} ({redact(target.url)}): {redact(first)}",
                hint="run `pgwarden migrate status` when the database is back: the history says what was kept",
            ) from None
        finally:
            if not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                # release it now: the next runner must not mistake this closing backend for an orphan
                with suppress(psycopg.Error):
                    conn.execute("SELECT pg_advisory_unlock(%s)", [lock_key(WORK_LOCK)])
            conn.close()
