"""Run health checks concurrently, each on its own pooled connection, and build the report.

Guarantees: every check runs in its own read-only transaction whose
``statement_timeout`` and ``lock_timeout`` (thresholds of the same names) are
set with ``SET LOCAL`` semantics, so nothing outlives the check, even when a
transaction pooler hands the server connection to another client; checks
run on a small thread pool with one connection per worker; a check that raises
or times out is reported with status ``error`` and never hides the others; the
report lists checks in registry order. Only an unreachable database stops the
run (Unreachable, exit 3).
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pgwarden.db import Intent, connect, redact, resolve_target
from pgwarden.doctor.model import CheckResult, DoctorReport, Outcome
from pgwarden.doctor.registry import Check, CheckContext, all_checks
from pgwarden.doctor.thresholds import resolve
from pgwarden.errors import BadInput, ConfigError
from pgwarden.units import postgres_duration

if TYPE_CHECKING:
    import psycopg

    from pgwarden.config import Config

APPLICATION_NAME = "pgwarden:doctor"


def select_checks(names: Sequence[str] | None, disabled: Sequence[str] = (), *, source: str = "config") -> list[Check]:
    """The checks to run: ``names`` (all when empty) minus ``disabled``; unknown names are errors."""
    known = all_checks()
    for name in disabled:
        if name not in known:
            raise ConfigError(f"{source}: doctor.checks_disabled: no check named {name!r} (known: {', '.join(known)})")
    for name in names or ():
        if name not in known:
            raise BadInput(f"--check {name}: no such check", hint=f"known checks: {', '.join(known)}")
    if names:
        return [known[n] for n in known if n in names]
    return [c for n, c in known.items() if n not in disabled]


class _Pool:
    """Connections for the workers: created on demand, reused, closed at the end."""

    def __init__(self, url: str, thresholds: dict[str, float]):
        self.url = url
        self.thresholds = thresholds
        self._idle: queue.SimpleQueue[psycopg.Connection[Any]] = queue.SimpleQueue()
        self._all: list[psycopg.Connection[Any]] = []

    def open(self) -> psycopg.Connection[Any]:
        conn = connect(self.url, application_name=APPLICATION_NAME)
        self._all.append(conn)
        return conn

    @contextmanager
    def read_only(self, conn: psycopg.Connection[Any]) -> Iterator[None]:
        """One read-only transaction on ``conn`` with transaction-local timeouts and UTC.

        Transaction-local settings (``set_config(..., true)``) end with the transaction, so a pooler
        in transaction mode never passes them on to the next client of the server connection.
        """
        with conn.transaction():
            conn.execute(
                "SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true),"
                " set_config('transaction_read_only', 'on', true), set_config('TimeZone', 'UTC', true)",
                [
                    postgres_duration(self.thresholds["statement_timeout"]),
                    postgres_duration(self.thresholds["lock_timeout"]),
                ],
            )
            yield

    def get(self) -> psycopg.Connection[Any]:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return self.open()

    def put(self, conn: psycopg.Connection[Any]) -> None:
        if not conn.closed and not conn.broken:
            self._idle.put(conn)

    def close(self) -> None:
        for conn in self._all:
            conn.close()


def _describe_error(exc: BaseException, thresholds: dict[str, float]) -> str:
    import psycopg

    if isinstance(exc, psycopg.errors.QueryCanceled):
        return (
            f"its query hit statement_timeout ({thresholds['statement_timeout']:g}s); raise the "
            "statement_timeout threshold or run this check alone with --check"
        )
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        return (
            f"could not get a lock within {thresholds['lock_timeout']:g}s (DDL holds or waits for a lock on a "
            "table it reads; see blocked_queries)"
        )
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return redact(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def _run_one(check: Check, pool: _Pool, base: dict[str, Any]) -> CheckResult:
    started = time.monotonic()
    conn = None
    try:
        conn = pool.get()
        with pool.read_only(conn):
            outcome = check.fn(CheckContext(conn=conn, **base))
    except Exception as exc:  # noqa: BLE001 - one failing check never hides the others
        outcome = Outcome("error", _describe_error(exc, base["thresholds"]))
    finally:
        if conn is not None:
            pool.put(conn)
    return CheckResult(
        check.name,
        check.category,
        outcome.status,
        outcome.summary,
        check.why,
        outcome.evidence,
        outcome.fix,
        round(time.monotonic() - started, 3),
    )


def run_checks(
    url: str,
    checks: Sequence[Check],
    thresholds: dict[str, float],
    *,
    config: Config | None = None,
    env_name: str | None = None,
    protected: bool = False,
    on_result: Callable[[CheckResult], None] | None = None,
    now: datetime | None = None,
) -> DoctorReport:
    """Run ``checks`` against ``url`` concurrently and return the report (see module guarantees).

    ``now`` is the moment the checks judge against (partition periods, backup ages); default: the clock.
    """
    started_at = now if now is not None else datetime.now(UTC)
    started = time.monotonic()
    pool = _Pool(url, thresholds)
    first = pool.open()  # raises Unreachable (exit 3) before any check runs
    database = first.info.dbname
    server_version = str(first.info.parameter_status("server_version") or first.info.server_version)
    pool.put(first)
    base = {"thresholds": thresholds, "config": config, "env_name": env_name, "protected": protected, "now": started_at}
    workers = max(1, min(int(thresholds["workers"]), len(checks)))
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pgwarden-doctor") as executor:
            heavy_first = sorted(checks, key=lambda c: not c.heavy)  # stable: registry order otherwise
            by_name = {c.name: executor.submit(_run_one, c, pool, base) for c in heavy_first}
            futures = [by_name[c.name] for c in checks]
            results = []
            for future in futures:
                result = future.result()
                results.append(result)
                if on_result:
                    on_result(result)
    finally:
        pool.close()
    counts = {s: sum(1 for r in results if r.status == s) for s in ("ok", "warn", "fail", "error")}
    exit_code = 1 if counts["fail"] or counts["error"] else 0
    return DoctorReport(
        env_name, database, server_version, started_at, round(time.monotonic() - started, 3), results, counts, exit_code
    )


def run_doctor(
    config: Config,
    env: str | None = None,
    *,
    checks: Sequence[str] | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
    now: datetime | None = None,
) -> DoctorReport:
    """``pgwarden doctor``: run the selected checks (all enabled ones by default) on ``env``.

    Thresholds come from ``[doctor] thresholds`` over the documented defaults;
    ``[doctor] checks_disabled`` is skipped unless a check is named explicitly.
    """
    settings = config.settings.doctor
    thresholds = resolve(settings.thresholds, source=str(config.source))
    selected = select_checks(checks, settings.checks_disabled, source=str(config.source))
    target = resolve_target(config, env, intent=Intent.READ)
    return run_checks(
        target.url,
        selected,
        thresholds,
        config=config,
        env_name=target.env_name,
        protected=target.env.protected,
        on_result=on_result,
        now=now,
    )
