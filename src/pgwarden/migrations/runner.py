"""Executing one migration section against the database.

Guarantees:
- a transactional section runs in one transaction together with its history
  change; on any error nothing of it is kept;
- a ``transaction:false`` section runs statement by statement; progress is
  recorded after each statement, a failure is recorded as failed at statement K
  and the next ``up`` resumes at K;
- every attempt runs under ``lock_timeout``; a lock timeout is rolled back,
  reported with its blockers and retried with jittered backoff (exit 4 at the end).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import psycopg
from psycopg import sql

from pgwarden import directives
from pgwarden.db import (
    Blocker,
    BlockerWatch,
    LockAttemptTimedOut,
    LockRetryPolicy,
    retry_on_lock_timeout,
    watch_lock_waits,
)
from pgwarden.errors import MigrationFailed
from pgwarden.migrations import history
from pgwarden.sources import MigrationFile, Section, Statement
from pgwarden.sources.directives import directive_of, is_directive
from pgwarden.units import postgres_duration


class Reporter(Protocol):
    """Receives progress while migrations run (the CLI prints it; the library stays silent)."""

    def migration_started(self, migration: MigrationFile, direction: str) -> None: ...
    def lock_retry(self, what: str, attempt: int, blockers: list[Blocker], delay: float) -> None: ...
    def waiting_for_runner_lock(self) -> None: ...


class SilentReporter:
    """A Reporter that reports nothing."""

    def migration_started(self, migration: MigrationFile, direction: str) -> None:
        return None

    def lock_retry(self, what: str, attempt: int, blockers: list[Blocker], delay: float) -> None:
        return None

    def waiting_for_runner_lock(self) -> None:
        return None


@dataclass(frozen=True)
class StepResult:
    """One migration run in one direction."""

    version: str
    name: str
    direction: Literal["up", "down"]
    status: Literal["applied", "reverted", "would apply", "would revert"]
    duration_ms: int
    statements: int
    lock_retries: int
    transactional: bool
    resumed_at: int = 0


@dataclass
class ExecutionContext:
    """What every section execution needs: the work connection, the watcher and the policy."""

    conn: psycopg.Connection[Any]
    watcher: BlockerWatch | None
    policy: LockRetryPolicy
    statement_timeout: float | None
    reporter: Reporter


def _set_timeouts(ctx: ExecutionContext, *, local: bool, lock_timeout: float) -> None:
    scope = sql.SQL("SET LOCAL" if local else "SET")
    ctx.conn.execute(sql.SQL("{} lock_timeout = {}").format(scope, sql.Literal(postgres_duration(lock_timeout))))
    if ctx.statement_timeout is not None:
        ctx.conn.execute(sql.SQL("{} statement_timeout = {}").format(
            scope, sql.Literal(postgres_duration(ctx.statement_timeout))))


def _is_concurrent(statement: Statement) -> bool:
    return bool(statement.fields.get("concurrent"))


def _failure_hint(migration: MigrationFile, statement: Statement, transactional: bool) -> str:
    if transactional:
        return "the migration was rolled back, nothing of it was kept; fix the file and run `pgwarden migrate up`"
    steps = []
    if statement.kind == "IndexStmt" and _is_concurrent(statement):
        schema = statement.node.relation.schemaname
        name = f"{schema + '.' if schema else ''}{statement.node.idxname}"
        steps.append("drop the INVALID index the failed build may have left: "
                     f"DROP INDEX CONCURRENTLY IF EXISTS {name};")
    steps.append(f"fix the cause, then `pgwarden migrate up` resumes {migration.label} at statement {statement.index}")
    steps.append("or run `pgwarden migrate repair` to forget the failed run and start the file again from "
                 "its first statement")
    return "; ".join(steps)


def _fail(migration: MigrationFile, section: Section, statement: Statement, exc: psycopg.Error) -> MigrationFailed:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    sqlstate = getattr(exc, "sqlstate", None)
    done = statement.index - 1
    kept = ("nothing was kept (rolled back)" if section.transactional
            else f"statements 1-{done} were applied and kept" if done else "no statement was applied")
    return MigrationFailed(
        f"{migration.path}:{statement.line}: {migration.label} ({section.direction}) failed at statement "
        f"{statement.index} of {len(section.statements)}: {first_line}"
        + (f" [SQLSTATE {sqlstate}]" if sqlstate else "") + f"; {kept}",
        hint=_failure_hint(migration, statement, section.transactional),
        details={"version": migration.version, "statement": statement.index, "line": statement.line,
                 "sqlstate": sqlstate},
    )


def _begin_sql(ctx: ExecutionContext, *, flush: bool) -> sql.Composed:
    parts = [sql.SQL("BEGIN"), sql.SQL("SET LOCAL lock_timeout = {}").format(
        sql.Literal(postgres_duration(ctx.policy.lock_timeout)))]
    if not flush:
        # Atomicity is untouched (the change and its history row commit together); only the
        # WAL flush is deferred to the run's last commit, which flushes everything before it.
        parts.append(sql.SQL("SET LOCAL synchronous_commit = off"))
    if ctx.statement_timeout is not None:
        parts.append(sql.SQL("SET LOCAL statement_timeout = {}").format(
            sql.Literal(postgres_duration(ctx.statement_timeout))))
    return sql.SQL("; ").join(parts)


def run_transactional(ctx: ExecutionContext, migration: MigrationFile, section: Section,
                      history_sql: sql.Composable, *, flush: bool = True) -> int:
    """Run ``section`` and the history change ``history_sql`` in one transaction; returns lock retries.

    BEGIN with its settings, the statements, the history change and COMMIT travel
    in one round trip. ``flush=False`` lets the commit return before its WAL
    reaches disk; the caller must end the run with a flushed commit so that
    everything is durable when it reports.
    """
    retries = 0
    conn = ctx.conn

    def rollback() -> None:
        if not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.execute("ROLLBACK")

    def one_round_trip() -> None:
        parts = [_begin_sql(ctx, flush=flush), *(sql.SQL(s.sql) for s in section.statements), history_sql,
                 sql.SQL("COMMIT")]
        with watch_lock_waits(ctx.watcher, conn.info.backend_pid, ctx.policy.lock_timeout):
            conn.execute(sql.SQL(";\n").join(parts))

    def statement_by_statement() -> None:
        current: Statement | None = None
        try:
            conn.execute(_begin_sql(ctx, flush=flush))
            with watch_lock_waits(ctx.watcher, conn.info.backend_pid, ctx.policy.lock_timeout):
                for current in section.statements:
                    conn.execute(current.sql)
            conn.execute(sql.SQL("{}; COMMIT").format(history_sql))
        except psycopg.Error as exc:
            rollback()
            if current is None:
                raise
            raise _fail(migration, section, current, exc) from None

    def attempt() -> None:
        # The whole section travels in one round trip; only when it fails is it run again
        # statement by statement (and rolled back) to name the statement that fails.
        try:
            one_round_trip()
        except LockAttemptTimedOut:
            rollback()
            raise
        except psycopg.Error:
            rollback()
            statement_by_statement()
        except BaseException:
            rollback()
            raise

    def on_retry(attempt_no: int, blockers: list[Blocker], delay: float) -> None:
        nonlocal retries
        retries = attempt_no
        ctx.reporter.lock_retry(f"{migration.label} ({section.direction})", attempt_no, blockers, delay)

    retry_on_lock_timeout(attempt, ctx.policy, what=f"{migration.label} ({section.direction})", on_retry=on_retry)
    return retries


def run_statements(ctx: ExecutionContext, migration: MigrationFile, section: Section, *, start_at: int,
                   progress: Callable[[int, str | None], None]) -> int:
    """Run a ``transaction:false`` section from statement ``start_at`` (1-based), one by one.

    ``progress(done, error)`` is called after each statement and on failure, in
    autocommit, so the history always says how far the section got.
    """
    retries = 0
    for statement in section.statements[start_at - 1:]:
        # CONCURRENTLY builds take only SHARE UPDATE EXCLUSIVE (reads and writes go on) and a
        # lock timeout would leave an INVALID index behind, so they wait instead of timing out.
        lock_timeout = 0.0 if _is_concurrent(statement) else ctx.policy.lock_timeout

        def attempt(statement: Statement = statement, lock_timeout: float = lock_timeout) -> None:
            _set_timeouts(ctx, local=False, lock_timeout=lock_timeout)
            if is_directive(statement):  # its handler takes its own short transactions and retries
                name, args = directive_of(statement)
                directives.run(ctx.conn, name, args, policy=ctx.policy, where=f"{migration.path}:{statement.line}")
                return
            with watch_lock_waits(ctx.watcher, ctx.conn.info.backend_pid, ctx.policy.lock_timeout):
                ctx.conn.execute(statement.sql)

        def on_retry(attempt_no: int, blockers: list[Blocker], delay: float, statement: Statement = statement) -> None:
            nonlocal retries
            retries += 1
            ctx.reporter.lock_retry(f"{migration.label} statement {statement.index}", attempt_no, blockers, delay)

        try:
            retry_on_lock_timeout(attempt, ctx.policy, what=f"{migration.label} statement {statement.index}",
                                  on_retry=on_retry)
        except psycopg.Error as exc:
            failure = _fail(migration, section, statement, exc)
            progress(statement.index - 1, failure.message)
            raise failure from None
        except BaseException:
            progress(statement.index - 1, f"interrupted at statement {statement.index}")
            raise
        progress(statement.index, None)
    return retries


def record_progress(conn: psycopg.Connection[Any], migration: MigrationFile, *, status: str, done: int,
                    error: str | None, duration_ms: int = 0) -> None:
    """Write the history row of a non-transactional section (autocommit)."""
    history.record(conn, version=migration.version, name=migration.name, checksum=migration.checksum,
                   duration_ms=duration_ms, transactional=False, status=status, statements_done=done,
                   statements_total=len(migration.up.statements), error=error)
