"""Connections, redaction, advisory locks and lock-wait handling.

Guarantees: no password reaches an error message or output (every URL passes
through :func:`redact`); advisory locks are taken by polling
``pg_try_advisory_lock`` on a connection that stays idle outside any transaction,
so they never sit in a lock queue nor hold a snapshot (which would hang
``CREATE INDEX CONCURRENTLY``).
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from pgwarden.errors import LockTimeoutGaveUp, Refused, Unreachable
from pgwarden.guards import Confirm
from pgwarden.guards import Intent as Intent
from pgwarden.redact import redact as redact  # re-exported: callers import it from here

if TYPE_CHECKING:
    import psycopg

    from pgwarden.config import Config, Environment

T = TypeVar("T")
APPLICATION_NAME = "pgwarden"


@dataclass(frozen=True)
class Target:
    """A resolved database to work on: its environment name, settings, connection URL and what was admitted."""

    env_name: str
    env: Environment
    url: str
    intent: Intent = Intent.READ
    backup_id: str | None = None
    """The verified backup the policy took before a schema change (None when none was needed)."""

    @property
    def safe_url(self) -> str:
        return redact(self.url)


def resolve_target(
    config: Config, env_name: str | None = None, *, intent: Intent, yes: bool = False, confirm: Confirm | None = None
) -> Target:
    """The environment's database, admitted by its safety policy for ``intent`` (see :mod:`pgwarden.policy`).

    This is the one way commands obtain an environment's database: an ``embedded``
    environment's server is started on demand, one session checks the policy (TLS,
    confirmation with ``yes``/``confirm`` or the CLI's ``--yes`` and prompt, verified
    backup before a schema change, refusals) and binds the project's event journal.
    Raises Refused (exit 5) with nothing changed, or Unreachable (exit 3).
    """
    from pgwarden import events, policy

    name, env = config.environment(env_name)
    if not env.is_embedded:
        url = session_url(name, env, intent)
    else:
        from pgwarden.server import EmbeddedServer, ensure_database

        server = EmbeddedServer(config.state_path / name)
        server.start()
        ensure_database(server.url("postgres"), env.database)
        url = server.url(env.database)
    target = Target(name, env, url, intent)
    with connect(url) as conn:
        events.bind_project(conn, config.state_path)
        granted = policy.admit(config, target, conn, intent, yes=yes, confirm=confirm)
    return replace(target, backup_id=granted.backup_id)


def session_url(name: str, env: Environment, intent: Intent) -> str:
    """The URL pgwarden's sessions use for ``env``: behind a transaction-mode pooler, ``direct_url``.

    Session advisory locks (the runner and deploy locks) and session settings do not survive
    PgBouncer's transaction pooling (the next transaction may run on another server connection,
    and a SET stays behind for the next client). So with ``pooler = "pgbouncer-transaction"`` every
    pgwarden session goes to ``direct_url``; without one, only reads are allowed (Refused, exit 5).
    """
    if env.pooler != "pgbouncer-transaction":
        return env.url
    if env.direct_url:
        return env.direct_url
    if intent == Intent.READ:
        return env.url
    raise Refused(
        f"environments.{name}: url goes through PgBouncer in transaction mode, and {intent.describe()} "
        "needs one session for its locks and settings; nothing was changed",
        hint=f"set environments.{name}.direct_url to the PostgreSQL server itself (not the pooler)",
    )


def connect(
    url: str, *, autocommit: bool = True, application_name: str = APPLICATION_NAME, connect_timeout: int = 10
) -> psycopg.Connection[Any]:
    """Open a connection; failures raise :class:`Unreachable` with the URL redacted (exit 3)."""
    import psycopg

    try:
        return psycopg.connect(
            url, autocommit=autocommit, application_name=application_name, connect_timeout=connect_timeout
        )
    except psycopg.OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise Unreachable(
            f"cannot connect to {redact(url)}: {redact(first_line)}",
            hint="check that the server runs and accepts this host, port, user and database "
            "(pg_isready -d URL), or fix the environment's url",
        ) from None
    except psycopg.ProgrammingError as exc:
        raise Unreachable(
            f"invalid connection URL {redact(url)}: {redact(str(exc))}",
            hint="write it as postgresql://user@host:port/dbname?sslmode=require",
        ) from None


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


@contextmanager
def advisory_lock(
    url: str, name: str, *, timeout: float, poll: float = 0.1, on_wait: Callable[[], None] | None = None
) -> Iterator[psycopg.Connection[Any]]:
    """Hold the session advisory lock ``name`` on a dedicated autocommit connection.

    Polls ``pg_try_advisory_lock`` until ``timeout`` seconds, then raises
    LockTimeoutGaveUp. The connection is yielded (idle, outside any transaction)
    and closed on exit, which also releases the lock if the process dies.
    """
    key = lock_key(name)
    conn = connect(url, application_name=f"{APPLICATION_NAME}:lock")
    try:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
            if row and row[0]:
                break
            if time.monotonic() > deadline:
                raise LockTimeoutGaveUp(
                    f"another pgwarden holds the {name!r} lock; gave up after {timeout:.0f}s",
                    hint="see who holds it: SELECT * FROM pg_locks WHERE locktype = 'advisory'",
                )
            if on_wait and not told:
                on_wait()
                told = True
            time.sleep(poll * (0.5 + random.random()))
        try:
            yield conn
        finally:
            if not conn.closed:
                # closing the connection releases the lock anyway
                with suppress(Exception):
                    conn.execute("SELECT pg_advisory_unlock(%s)", [key])
    finally:
        conn.close()


@dataclass(frozen=True)
class Blocker:
    """A session that held a lock we waited for."""

    pid: int
    state: str | None
    age_seconds: float | None
    query: str
    application_name: str | None

    def describe(self) -> str:
        age = f"{self.age_seconds:.1f}s" if self.age_seconds is not None else "?"
        from pgwarden.output import sql_excerpt

        return f"pid {self.pid} ({self.state}, transaction open {age}): {sql_excerpt(self.query, 120)}"


_BLOCKERS_SQL = """
SELECT a.pid, a.state, EXTRACT(EPOCH FROM clock_timestamp() - a.xact_start)::float8,
       coalesce(a.query, ''), a.application_name
FROM pg_stat_activity a
WHERE a.pid = ANY (pg_blocking_pids(%s))
ORDER BY a.xact_start
"""


def blockers_of(conn: psycopg.Connection[Any], pid: int) -> list[Blocker]:
    """The sessions blocking ``pid`` right now (via pg_blocking_pids)."""
    rows = conn.execute(_BLOCKERS_SQL, [pid]).fetchall()
    return [Blocker(r[0], r[1], r[2], redact(r[3]), r[4]) for r in rows]


class BlockerWatch:
    """Samples, on a side connection, which sessions block ``pid`` while it runs a statement.

    The sample is what we report after a lock timeout: once the statement gives
    up, pg_blocking_pids can no longer tell who was in the way.
    """

    def __init__(self, watcher: psycopg.Connection[Any], pid: int, interval: float):
        self._watcher = watcher
        self._pid = pid
        self._interval = max(0.01, interval)
        self._stop = threading.Event()
        self._armed = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.seen: list[Blocker] = []

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            if not self._armed.is_set():
                continue
            try:
                found = blockers_of(self._watcher, self._pid)
            except Exception:  # noqa: BLE001 - watching is best effort; never break the migration
                return
            if found and self._armed.is_set():
                self.seen = found

    def arm(self) -> None:
        """Start sampling for a new statement (forgets what the previous one saw)."""
        self.seen = []
        self._armed.set()

    def disarm(self) -> None:
        """Stop sampling until the next :meth:`arm`."""
        self._armed.clear()

    def __enter__(self) -> BlockerWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class LockRetryPolicy:
    """How long each attempt may wait for a lock and how often to retry after a lock timeout."""

    lock_timeout: float
    retries: int
    backoff: float = 0.5
    backoff_max: float = 10.0

    @classmethod
    def from_config(cls, config: Config, env: Environment) -> LockRetryPolicy:
        from pgwarden.units import parse_duration

        m = config.settings.migrate
        return cls(
            config.lock_timeout(env), m.retries, parse_duration(m.retry_backoff), parse_duration(m.retry_backoff_max)
        )

    def delay(self, attempt: int) -> float:
        """Full-jitter exponential backoff for ``attempt`` (1-based)."""
        return random.uniform(self.backoff / 2, min(self.backoff_max, self.backoff * 2 ** (attempt - 1)))


class LockAttemptTimedOut(Exception):
    """One attempt hit lock_timeout; carries the blockers sampled while it waited."""

    def __init__(self, blockers: list[Blocker]):
        super().__init__("lock timeout")
        self.blockers = blockers


def watch_interval(lock_timeout: float) -> float:
    """How often to sample blockers so that a wait of ``lock_timeout`` is seen a few times."""
    return min(0.25, lock_timeout / 4)


@contextmanager
def watch_lock_waits(
    watcher: psycopg.Connection[Any] | BlockerWatch | None, pid: int, lock_timeout: float
) -> Iterator[None]:
    """Run the body while sampling its blockers; a 55P03 becomes :class:`LockAttemptTimedOut`.

    ``watcher`` is a running :class:`BlockerWatch` (reused across statements: no
    thread per statement), a spare connection (a watch is started for the body),
    or None (no sampling).
    """
    import psycopg

    if watcher is None:
        try:
            yield
        except psycopg.errors.LockNotAvailable:
            raise LockAttemptTimedOut([]) from None
        return
    if isinstance(watcher, BlockerWatch):
        watcher.arm()
        try:
            yield
        except psycopg.errors.LockNotAvailable:
            raise LockAttemptTimedOut(watcher.seen) from None
        finally:
            watcher.disarm()
        return
    with (
        BlockerWatch(watcher, pid, interval=watch_interval(lock_timeout)) as watch,
        watch_lock_waits(watch, pid, lock_timeout),
    ):
        yield


def retry_on_lock_timeout(
    attempt_fn: Callable[[], T],
    policy: LockRetryPolicy,
    *,
    what: str,
    on_retry: Callable[[int, list[Blocker], float], None] | None = None,
) -> T:
    """Run ``attempt_fn`` until it stops raising :class:`LockAttemptTimedOut`.

    ``attempt_fn`` must roll back its own work before raising. After
    ``policy.retries`` retries, raises LockTimeoutGaveUp (exit 4) naming the last
    blockers seen; between attempts it sleeps with jittered exponential backoff.
    """
    attempt = 0
    while True:
        try:
            return attempt_fn()
        except LockAttemptTimedOut as exc:
            attempt += 1
            if attempt > policy.retries:
                names = "; ".join(b.describe() for b in exc.blockers) or "no blocker seen"
                raise LockTimeoutGaveUp(
                    f"{what}: could not get its lock within {policy.lock_timeout:g}s, "
                    f"{policy.retries} retries; blocked by {names}",
                    hint="end or wait for the blocking transaction (SELECT pg_terminate_backend(pid)), then retry",
                    details={"blockers": [b.__dict__ for b in exc.blockers]},
                ) from None
            delay = policy.delay(attempt)
            if on_retry:
                on_retry(attempt, exc.blockers, delay)
            time.sleep(delay)
