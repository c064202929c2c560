"""Executing one migration section against the database.

Guarantees:
- a transactional section runs in one transaction together with its history
  change; on any error nothing of it is kept;
- a ``transaction:false`` section runs statement by statement; each statement
  commits together with its progress record (or, if it must run alone, is
  recorded right after it); a failure is recorded as failed at statement K and
  the next run resumes at K;
- every attempt runs under ``lock_timeout``; a lock timeout is rolled back,
  reported with its blockers and retried with jittered backoff (exit 4 at the end).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Literal, NoReturn, Protocol

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
from pgwarden.errors import MigrationFailed, Unreachable
from pgwarden.migrations import history
from pgwarden.migrations.outcome import find_index, index_of, runs_alone
from pgwarden.redact import redact
from pgwarden.sources import MigrationFile, Section, Statement, statement_checksum
from pgwarden.sources.directives import directive_of, is_directive
from pgwarden.units import postgres_duration


class Reporter(Protocol):
    """Receives progress while migrations run (the CLI prints it; the library stays silent)."""

    def migration_started(self, migration: MigrationFile, direction: str) -> None: ...
    def lock_retry(self, what: str, attempt: int, blockers: list[Blocker], delay: float) -> None: ...
    def waiting_for_runner_lock(self) -> None: ...
    def waiting_for_orphans(self, pids: list[int], terminating: bool) -> None: ...
    def note(self, message: str) -> None: ...


class SilentReporter:
    """A Reporter that reports nothing."""

    def migration_started(self, migration: MigrationFile, direction: str) -> None:
        return None

    def lock_retry(self, what: str, attempt: int, blockers: list[Blocker], delay: float) -> None:
        return None

    def waiting_for_runner_lock(self) -> None:
        return None

    def waiting_for_orphans(self, pids: list[int], terminating: bool) -> None:
        return None

    def note(self, message: str) -> None:
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
    run_id: str = ""
    foreign: Any = None  # the project's other-tool history adapter (pgwarden.migrations.foreign), if any


def _set_timeouts(ctx: ExecutionContext, *, local: bool, lock_timeout: float) -> None:
    scope = sql.SQL("SET LOCAL" if local else "SET")
    ctx.conn.execute(sql.SQL("{} lock_timeout = {}").format(scope, sql.Literal(postgres_duration(lock_timeout))))
    if ctx.statement_timeout is not None:
        ctx.conn.execute(
            sql.SQL("{} statement_timeout = {}").format(scope, sql.Literal(postgres_duration(ctx.statement_timeout)))
        )


def _is_concurrent(statement: Statement) -> bool:
    return bool(statement.fields.get("concurrent"))


def _failure_hint(
    migration: MigrationFile, section: Section, statement: Statement, conn: psycopg.Connection[Any] | None
) -> str:
    if section.transactional:
        return "the migration was rolled back, nothing of it was kept; fix the file and run `pgwarden migrate up`"
    command = "up" if section.direction == "up" else "down"
    steps = []
    target = index_of(statement) if _is_concurrent(statement) else None
    if target is not None and conn is not None and not conn.closed:
        with suppress(psycopg.Error):
            found = find_index(conn, *target)
            if found is not None and not found.valid:
                steps.append(
                    f"the failed build left the INVALID index {found.qualified}: the next "
                    f"`pgwarden migrate {command}` drops and rebuilds it"
                )
    steps.append(
        f"fix the cause (statement {statement.index} and those after it may be edited), then "
        f"`pgwarden migrate {command}` resumes {migration.label} at statement {statement.index}"
    )
    if section.direction == "up":
        steps.append(
            f"`pgwarden migrate repair` keeps statements 1-{statement.index - 1} as done"
            if statement.index > 1
            else "`pgwarden migrate repair` forgets the failed run"
        )
    return "; ".join(steps)


def _fail(
    migration: MigrationFile,
    section: Section,
    statement: Statement,
    exc: psycopg.Error,
    conn: psycopg.Connection[Any] | None = None,
) -> MigrationFailed:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    sqlstate = getattr(exc, "sqlstate", None)
    done = statement.index - 1
    kept = (
        "nothing was kept (rolled back)"
        if section.transactional
        else f"statements 1-{done} were applied and kept"
        if done
        else "no statement was applied"
    )
    return MigrationFailed(
        f"{migration.path}:{statement.line}: {migration.label} ({section.direction}) failed at statement "
        f"{statement.index} of {len(section.statements)}: {redact(first_line)}"
        + (f" [SQLSTATE {sqlstate}]" if sqlstate else "")
        + f"; {kept}",
        hint=_failure_hint(migration, section, statement, conn),
        details={
            "version": migration.version,
            "statement": statement.index,
            "line": statement.line,
            "sqlstate": sqlstate,
        },
    )


def _begin_sql(ctx: ExecutionContext, *, flush: bool) -> sql.Composed:
    parts = [
        sql.SQL("BEGIN"),
        sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(postgres_duration(ctx.policy.lock_timeout))),
    ]
    if not flush:
        # Atomicity is untouched (the change and its history row commit together); only the
        # WAL flush is deferred to the run's last commit, which flushes everything before it.
        parts.append(sql.SQL("SET LOCAL synchronous_commit = off"))
    if ctx.statement_timeout is not None:
        parts.append(
            sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(postgres_duration(ctx.statement_timeout)))
        )
    return sql.SQL("; ").join(parts)


def run_transactional(
    ctx: ExecutionContext,
    migration: MigrationFile,
    section: Section,
    history_sql: sql.Composable,
    *,
    flush: bool = True,
) -> int:
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
        parts = [
            _begin_sql(ctx, flush=flush),
            *(sql.SQL(s.sql) for s in section.statements),
            history_sql,
            sql.SQL("COMMIT"),
        ]
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


@dataclass
class Tracker:
    """The history row of one ``transaction:false`` section while it runs, owned by this run.

    Up progress is ``statements_done`` with the checksums of the statements done;
    down progress is ``down_done`` with its own checksums. Every update names the
    run that owns the row, so two runs can never both advance it.
    """

    conn: psycopg.Connection[Any]
    migration: MigrationFile
    direction: Literal["up", "down"]
    run_id: str
    done: int
    checksums: tuple[str, ...]
    up_done: int = 0
    up_checksums: tuple[str, ...] = ()

    @property
    def section(self) -> Section:
        section = self.migration.up if self.direction == "up" else self.migration.down
        assert section is not None
        return section

    def _fields(
        self, status: str, done: int, checksums: tuple[str, ...], error: str | None, duration_ms: int = 0
    ) -> dict[str, Any]:
        up = self.direction == "up"
        return dict(
            version=self.migration.version,
            owner=self.run_id,
            run_id=self.run_id,
            status=status,
            checksum=self.migration.checksum,
            done=done if up else self.up_done,
            total=len(self.migration.up.statements),
            checksums=checksums if up else self.up_checksums,
            down_done=0 if up else done,
            down_total=0 if up else len(self.section.statements),
            down_checksums=() if up else checksums,
            error=error,
            duration_ms=duration_ms,
        )

    @property
    def running_status(self) -> str:
        return "running" if self.direction == "up" else "reverting"

    def take_over(self, owner: str | None) -> None:
        """Make the row this run's (from the run id ``owner`` last recorded in it), in the running status."""
        fields = self._fields(self.running_status, self.done, self.checksums, None)
        fields["owner"] = owner
        history.progress(self.conn, **fields)

    def done_sql(self, statement: Statement) -> sql.Composed:
        """The UPDATE recording ``statement`` as done (sent in one message with it, so both commit together)."""
        return history.progress_sql(
            **self._fields(self.running_status, statement.index, (*self.checksums, statement_checksum(statement)), None)
        )

    def advanced(self, statement: Statement) -> None:
        """Note locally that ``statement`` is recorded as done."""
        self.done = statement.index
        self.checksums = (*self.checksums, statement_checksum(statement))

    def mark_done(self, statement: Statement) -> None:
        """Record ``statement`` as done on its own (for a statement that ran alone)."""
        history.progress(
            self.conn,
            **self._fields(
                self.running_status, statement.index, (*self.checksums, statement_checksum(statement)), None
            ),
        )
        self.advanced(statement)

    def failed(self, error: str) -> None:
        """Record that the statement after ``done`` failed (nothing of it was kept)."""
        status = "failed" if self.direction == "up" else "revert_failed"
        history.progress(self.conn, **self._fields(status, self.done, self.checksums, error))

    def finished(self, duration_ms: int) -> None:
        """Up: the row becomes ``applied``. Down: the row is removed."""
        if self.direction == "up":
            history.progress(self.conn, **self._fields("applied", self.done, self.checksums, None, duration_ms))
        else:
            self.conn.execute(history.delete_sql(self.migration.version, statuses=("reverting",)))


def run_statements(ctx: ExecutionContext, section: Section, tracker: Tracker) -> int:
    """Run a ``transaction:false`` section one statement at a time from ``tracker.done + 1``.

    A statement that may run in a transaction travels in one message with the update
    of its progress record, so the two commit together (a killed runner leaves no
    doubt); one that must run alone (CONCURRENTLY, VACUUM...) is recorded right after
    it. A failing statement is recorded as failed at statement K (nothing of K kept);
    an interruption leaves the row as it is, for the next run to judge.
    """
    return sum(_run_one(ctx, section, tracker, statement) for statement in section.statements[tracker.done :])


def _run_one(ctx: ExecutionContext, section: Section, tracker: Tracker, statement: Statement) -> int:
    """Run one statement of a ``transaction:false`` section and record it; returns its lock retries."""
    migration = tracker.migration
    what = f"{migration.label} statement {statement.index}"
    # CONCURRENTLY builds take only SHARE UPDATE EXCLUSIVE (reads and writes go on) and a
    # lock timeout would leave an INVALID index behind, so they wait instead of timing out.
    lock_timeout = 0.0 if _is_concurrent(statement) else ctx.policy.lock_timeout
    retries = 0

    def attempt(alone: bool) -> None:
        _set_timeouts(ctx, local=False, lock_timeout=lock_timeout)
        if is_directive(statement):  # its handler takes its own short transactions, retries and resumes
            name, args = directive_of(statement)
            directives.run(ctx.conn, name, args, policy=ctx.policy, where=f"{migration.path}:{statement.line}")
            return
        text = sql.SQL(statement.sql)  # type: ignore[arg-type,unused-ignore]  # the SQL is the migration file
        with watch_lock_waits(ctx.watcher, ctx.conn.info.backend_pid, ctx.policy.lock_timeout):
            ctx.conn.execute(text if alone else sql.SQL("{};\n{}").format(text, tracker.done_sql(statement)))

    def on_retry(attempt_no: int, blockers: list[Blocker], delay: float) -> None:
        nonlocal retries
        retries += 1
        ctx.reporter.lock_retry(what, attempt_no, blockers, delay)

    alone = runs_alone(statement)
    try:
        try:
            retry_on_lock_timeout(lambda: attempt(alone), ctx.policy, what=what, on_retry=on_retry)
        except psycopg.errors.ActiveSqlTransaction:
            if alone:
                raise
            # not in our list of statements that must run alone, but PostgreSQL says it is one
            alone = True
            retry_on_lock_timeout(lambda: attempt(alone), ctx.policy, what=what, on_retry=on_retry)
    except psycopg.Error as exc:
        _record_failure(ctx, tracker, migration, section, statement, exc)
    if alone:
        tracker.mark_done(statement)
    else:
        tracker.advanced(statement)
    return retries


def _record_failure(
    ctx: ExecutionContext,
    tracker: Tracker,
    migration: MigrationFile,
    section: Section,
    statement: Statement,
    exc: psycopg.Error,
) -> NoReturn:
    if ctx.conn.closed:
        raise connection_lost(migration, section.direction, exc) from None
    failure = _fail(migration, section, statement, exc, ctx.conn)
    tracker.failed(failure.message)
    raise failure from None


def connection_lost(migration: MigrationFile, direction: str, exc: BaseException) -> Unreachable:
    """The one-line error for a work connection that died under ``migration`` (exit 3)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return Unreachable(
        f"lost the connection to the database while running {migration.label} ({direction}): {redact(first)}",
        hint="run `pgwarden migrate status` when the database is back: the history says what "
        "was kept, and `pgwarden migrate up` continues from there",
    )
