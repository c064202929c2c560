"""The migration commands as library functions: new, status, up, down, history, repair, baseline.

Each takes a loaded Config (and an environment name) and returns a dataclass;
none prints anything. The CLI is a thin shell over these.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pgwarden import events
from pgwarden.config import Config
from pgwarden.db import (
    BlockerWatch,
    Intent,
    LockRetryPolicy,
    Target,
    advisory_lock,
    connect,
    resolve_target,
    watch_interval,
)
from pgwarden.errors import BadInput, ProblemsFound, Refused
from pgwarden.guards import Confirm, confirm_or_refuse
from pgwarden.migrations import history
from pgwarden.migrations.history import AppliedMigration
from pgwarden.migrations.plan import MigrationState, baseline_version, compute_status, current_version
from pgwarden.migrations.runner import (
    ExecutionContext,
    Reporter,
    SilentReporter,
    StepResult,
    record_progress,
    run_statements,
    run_transactional,
)
from pgwarden.sources import MigrationFile, discover, version_key
from pgwarden.units import parse_duration

RUNNER_LOCK = "pgwarden:migrate"

NEW_TEMPLATE = """-- migrate:up


-- migrate:down

"""


@dataclass(frozen=True)
class StatusResult:
    env: str
    database: str
    current_version: str | None
    migrations: list[MigrationState]

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self.migrations:
            out[m.state] = out.get(m.state, 0) + 1
        return out

    @property
    def pending(self) -> list[MigrationState]:
        return [m for m in self.migrations if m.state == "pending"]

    @property
    def problems(self) -> list[MigrationState]:
        return [m for m in self.migrations if m.state in ("changed", "missing", "failed", "interrupted")]


@dataclass(frozen=True)
class MigrateResult:
    env: str
    database: str
    direction: str
    dry_run: bool
    steps: list[StepResult]
    version_before: str | None
    version_after: str | None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HistoryEntry:
    version: str
    name: str
    status: str
    applied_at: datetime
    applied_by: str
    duration_ms: int
    transactional: bool


@dataclass(frozen=True)
class RepairResult:
    env: str
    rechecksummed: list[str]
    forgotten_failures: list[str]


# -- helpers ------------------------------------------------------------------

def _files(config: Config) -> list[MigrationFile]:
    return discover(config.migrations_path)


def _find(files: list[MigrationFile], version: str) -> MigrationFile:
    for f in files:
        if f.version == version or (version.isdigit() and int(f.version) == int(version)):
            return f
    raise BadInput(f"no migration with version {version} in {files[0].path.parent if files else 'the folder'}")


def _policy(config: Config, target: Target) -> LockRetryPolicy:
    return LockRetryPolicy.from_config(config, target.env)


def _statement_timeout(config: Config) -> float | None:
    value = config.settings.migrate.statement_timeout
    return parse_duration(value) if value else None


@contextmanager
def _runner(config: Config, target: Target, reporter: Reporter) -> Iterator[ExecutionContext]:
    """Hold the runner lock and yield a work connection with the history schema in place."""
    timeout = parse_duration(config.settings.migrate.runner_lock_timeout)
    with advisory_lock(target.url, RUNNER_LOCK, timeout=timeout, on_wait=reporter.waiting_for_runner_lock) as lock:
        conn = connect(target.url, autocommit=True)
        policy = _policy(config, target)
        try:
            history.ensure_schema(conn)
            # The lock connection is idle while we hold the lock: it samples who blocks the work connection.
            with BlockerWatch(lock, conn.info.backend_pid, watch_interval(policy.lock_timeout)) as watch:
                yield ExecutionContext(conn, watch, policy, _statement_timeout(config), reporter)
        finally:
            conn.close()


def _refuse_problems(states: list[MigrationState]) -> None:
    changed = [s for s in states if s.state == "changed"]
    if changed:
        names = ", ".join(f"{s.version}_{s.name}" for s in changed)
        raise ProblemsFound(f"applied migration(s) edited since they ran: {names}",
                            hint="restore the original file, or record the edit with `pgwarden migrate repair`")


def _lint_gate(config: Config, target: Target, todo: list[MigrationFile], conn: Any) -> list[str]:
    """Lint the pending up sections (graded by live table sizes) before any of them runs.

    In a protected environment an unsuppressed error raises ProblemsFound (exit 1)
    and nothing is applied; otherwise the findings come back as warning lines.
    """
    if not config.settings.migrate.lint or not todo:
        return []
    from pgwarden.lint.api import lint_migrations

    report = lint_migrations(config, todo, target.env_name, include_down=False, conn=conn)
    if report.errors and target.env.protected:
        listing = "; ".join(f"{f.location} [{f.rule}] {f.message}" for f in report.errors[:5])
        raise ProblemsFound(f"lint found {len(report.errors)} error(s) in pending migrations; nothing was applied: "
                            f"{listing}", hint="fix them, or add '-- pgwarden:ignore RULE reason' above the "
                            "statement (see `pgwarden lint --explain RULE`)",
                            details={"findings": [f"{f.location} [{f.rule}] {f.message}" for f in report.errors]})
    return [f"{f.location}: {f.severity} [{f.rule}] {f.message}" for f in report.findings
            if not f.suppressed and f.severity != "info"]


# -- commands -----------------------------------------------------------------

def new(config: Config, name: str, *, now: datetime | None = None, body: str = NEW_TEMPLATE) -> Path:
    """Write ``<UTC timestamp>_<slug>.sql`` holding ``body`` (empty up and down sections); never overwrites."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not slug:
        raise BadInput(f"migration name {name!r} has no letters or digits")
    folder = config.migrations_path
    folder.mkdir(parents=True, exist_ok=True)
    moment = now or datetime.now(UTC)
    existing = {p.name.split("_", 1)[0] for p in folder.glob("*.sql")}
    while moment.strftime("%Y%m%d%H%M%S") in existing:
        moment += timedelta(seconds=1)
    path = folder / f"{moment.strftime('%Y%m%d%H%M%S')}_{slug}.sql"
    path.write_text(body, encoding="utf-8")
    return path


def status(config: Config, env: str | None = None) -> StatusResult:
    """Every migration's state (applied, pending, changed, missing, failed, interrupted, baseline)."""
    files = _files(config)
    target = resolve_target(config, env, intent=Intent.READ)
    with connect(target.url) as conn:
        applied = history.applied(conn)
        database = conn.info.dbname
    return StatusResult(target.env_name, database, current_version(applied), compute_status(files, applied))


def _pending_up_to(files: list[MigrationFile], states: list[MigrationState], to: str | None) -> list[MigrationFile]:
    limit = version_key(_find(files, to).version) if to else None
    resumable = {s.version for s in states if s.state in ("pending", "failed", "interrupted")}
    return [f for f in files if f.version in resumable and (limit is None or f.sort_key <= limit)]


def _apply_up(ctx: ExecutionContext, migration: MigrationFile, row: AppliedMigration | None, *,
              last: bool = True) -> StepResult:
    section = migration.up
    ctx.reporter.migration_started(migration, "up")
    started = time.monotonic()
    if section.transactional:
        record = history.record_sql(version=migration.version, name=migration.name, checksum=migration.checksum,
                                    duration_ms=history.ELAPSED_MS, transactional=True, status="applied",
                                    statements_done=len(section.statements),
                                    statements_total=len(section.statements))
        retries = run_transactional(ctx, migration, section, record, flush=last)
        return StepResult(migration.version, migration.name, "up", "applied", int((time.monotonic() - started) * 1000),
                          len(section.statements), retries, True)

    start_at = 1
    if row is not None and row.status in ("failed", "running"):
        if row.checksum != migration.checksum:
            raise ProblemsFound(
                f"{migration.path}: edited after it failed at statement {row.statements_done + 1}; "
                "pgwarden cannot tell which statements already ran",
                hint="run `pgwarden migrate repair` to forget the failed run (the file then starts from statement 1)")
        start_at = row.statements_done + 1
    record_progress(ctx.conn, migration, status="running", done=start_at - 1, error=None)

    def progress(done: int, error: str | None) -> None:
        record_progress(ctx.conn, migration, status="failed" if error else "running", done=done, error=error)

    retries = run_statements(ctx, migration, section, start_at=start_at, progress=progress)
    duration = int((time.monotonic() - started) * 1000)
    record_progress(ctx.conn, migration, status="applied", done=len(section.statements), error=None,
                    duration_ms=duration)
    return StepResult(migration.version, migration.name, "up", "applied", duration, len(section.statements), retries,
                      False, resumed_at=start_at if start_at > 1 else 0)


def up(config: Config, env: str | None = None, *, to: str | None = None, dry_run: bool = False,
       reporter: Reporter | None = None) -> MigrateResult:
    """Apply pending migrations in version order, each atomically with its history row.

    Parses every file first (exit 2 on error). Refuses (exit 1) while an applied
    file's checksum differs. Parallel runners serialise on an advisory lock, so each
    migration is applied exactly once. ``dry_run`` changes nothing, not even the
    history schema.
    """
    reporter = reporter or SilentReporter()
    files = _files(config)
    if to is not None:
        _find(files, to)
    target = resolve_target(config, env, intent=Intent.READ if dry_run else Intent.APPLY_MIGRATIONS)
    # Checks and lint run before the runner lock and before pgwarden's schema is created:
    # when they refuse, the database is exactly as it was.
    with connect(target.url) as conn:
        applied = history.applied(conn)
        database = conn.info.dbname
        states = compute_status(files, applied)
        _refuse_problems(states)
        todo = _pending_up_to(files, states, to)
        lint_warnings = _lint_gate(config, target, todo, conn)
    if dry_run:
        steps = [StepResult(f.version, f.name, "up", "would apply", 0, len(f.up.statements), 0, f.up.transactional)
                 for f in todo]
        version = current_version(applied)
        return MigrateResult(target.env_name, database, "up", True, steps, version,
                             todo[-1].version if todo else version, lint_warnings)

    with _runner(config, target, reporter) as ctx:
        applied = history.applied(ctx.conn)
        states = compute_status(files, applied)
        _refuse_problems(states)
        version_before = current_version(applied)
        warnings = [f"{s.version}_{s.name}: {s.note}" for s in states if s.state == "pending" and s.note]
        todo = _pending_up_to(files, states, to)
        warnings += lint_warnings
        steps = [_apply_up(ctx, f, applied.get(f.version), last=i == len(todo) - 1) for i, f in enumerate(todo)]
        version_after = current_version(history.applied(ctx.conn))
        database = ctx.conn.info.dbname
    return MigrateResult(target.env_name, database, "up", False, steps, version_before, version_after, warnings)


def _down_targets(files: list[MigrationFile], applied: dict[str, AppliedMigration], steps: int | None,
                  to: str | None) -> list[MigrationFile]:
    done = sorted((r for r in applied.values() if r.status == "applied"), key=lambda r: version_key(r.version),
                  reverse=True)
    if to is not None:
        limit = version_key(to)
        chosen = [r for r in done if version_key(r.version) > limit]
        baseline = baseline_version(applied)
        if baseline is not None and limit < version_key(baseline):
            raise Refused(f"cannot go below the baseline {baseline}: its migrations never ran here")
    else:
        chosen = done[: steps if steps is not None else 1]
    by_version = {f.version: f for f in files}
    targets = []
    for row in chosen:
        file = by_version.get(row.version)
        if file is None:
            raise Refused(f"cannot revert {row.version}_{row.name}: its file is missing")
        if file.checksum != row.checksum:
            raise ProblemsFound(f"{file.path}: edited since it was applied; its down section may not match",
                                hint="restore the file or run `pgwarden migrate repair` first")
        if not file.reversible:
            why = "is marked irreversible" if file.down is not None else "has no down section"
            raise Refused(f"{file.path}: cannot revert {file.label}: it {why}; nothing was reverted",
                          hint="restore from a backup (`pgwarden backup restore`) or write a new forward migration")
        targets.append(file)
    return targets


def down(config: Config, env: str | None = None, *, steps: int | None = None, to: str | None = None,
         dry_run: bool = False, reporter: Reporter | None = None, yes: bool = False,
         confirm: Confirm | None = None) -> MigrateResult:
    """Revert the newest ``steps`` migrations (default 1) or all newer than ``to``.

    Every target is checked first (file present, unchanged, has a down section):
    if one fails the check nothing is reverted (exit 5). In a protected
    environment the revert needs ``yes`` or the env name typed at ``confirm``
    (exit 5 otherwise). Each down section runs atomically with the removal of
    its history row.
    """
    if steps is not None and to is not None:
        raise BadInput("give --steps or --to, not both")
    if steps is not None and steps < 1:
        raise BadInput("--steps must be at least 1")
    reporter = reporter or SilentReporter()
    files = _files(config)
    target = resolve_target(config, env, intent=Intent.READ if dry_run else Intent.SCHEMA_CHANGE, yes=yes,
                            confirm=confirm)
    if dry_run:
        with connect(target.url) as conn:
            applied = history.applied(conn)
            database = conn.info.dbname
        todo = _down_targets(files, applied, steps, to)
        result_steps = [StepResult(f.version, f.name, "down", "would revert", 0,
                                   len(f.down.statements) if f.down else 0, 0, True) for f in todo]
        remaining = {v: r for v, r in applied.items() if v not in {f.version for f in todo}}
        return MigrateResult(target.env_name, database, "down", True, result_steps, current_version(applied),
                             current_version(remaining))

    if target.env.protected:
        with connect(target.url) as conn:
            planned = _down_targets(files, history.applied(conn), steps, to)
        if planned:
            labels = ", ".join(m.label for m in planned)
            confirm_or_refuse(f"reverting {labels} on protected environment {target.env_name}", target.env_name,
                              yes=yes, confirm=confirm)
    with _runner(config, target, reporter) as ctx:
        applied = history.applied(ctx.conn)
        version_before = current_version(applied)
        results = []
        for migration in _down_targets(files, applied, steps, to):
            results.append(_apply_down(ctx, migration))
        version_after = current_version(history.applied(ctx.conn))
        database = ctx.conn.info.dbname
    return MigrateResult(target.env_name, database, "down", False, results, version_before, version_after)


def _apply_down(ctx: ExecutionContext, migration: MigrationFile) -> StepResult:
    section = migration.down
    assert section is not None
    ctx.reporter.migration_started(migration, "down")
    started = time.monotonic()
    if section.transactional:
        retries = run_transactional(ctx, migration, section, history.delete_sql(migration.version))
    else:
        retries = run_statements(ctx, migration, section, start_at=1, progress=lambda done, error: None)
        history.delete(ctx.conn, migration.version)
    return StepResult(migration.version, migration.name, "down", "reverted", int((time.monotonic() - started) * 1000),
                      len(section.statements), retries, section.transactional)


def history_of(config: Config, env: str | None = None) -> list[HistoryEntry]:
    """The recorded history, oldest first (empty when nothing was ever applied)."""
    target = resolve_target(config, env, intent=Intent.READ)
    with connect(target.url) as conn:
        rows = sorted(history.applied(conn).values(), key=lambda r: (r.applied_at, version_key(r.version)))
    return [HistoryEntry(r.version, r.name, r.status, r.applied_at, r.applied_by, r.duration_ms, r.transactional)
            for r in rows]


def repair(config: Config, env: str | None = None) -> RepairResult:
    """Re-record the checksums of edited applied files and forget failed or interrupted runs.

    This is the explicit acknowledgement that the database matches the files as
    they are now; it never runs any migration SQL.
    """
    files = _files(config)
    target = resolve_target(config, env, intent=Intent.RECORDS)
    with _runner(config, target, SilentReporter()) as ctx:
        applied = history.applied(ctx.conn)
        by_version = {f.version: f for f in files}
        rechecksummed, forgotten = [], []
        with ctx.conn.transaction():
            for version, row in sorted(applied.items(), key=lambda item: version_key(item[0])):
                file = by_version.get(version)
                if row.status in ("failed", "running"):
                    history.delete(ctx.conn, version)
                    forgotten.append(version)
                elif file is not None and row.status == "applied" and row.checksum != file.checksum:
                    history.update_checksum(ctx.conn, version, file.checksum)
                    rechecksummed.append(version)
            events.record(ctx.conn, "migrate", "repair", "ok",
                                 {"rechecksummed": rechecksummed, "forgotten_failures": forgotten})
    return RepairResult(target.env_name, rechecksummed, forgotten)


@dataclass(frozen=True)
class BaselineResult:
    env: str
    version: str
    covered: list[str]


def baseline(config: Config, env: str | None = None, *, version: str) -> BaselineResult:
    """Adopt an existing database: migrations up to ``version`` count as applied without running.

    Refused (exit 5) when the database already has applied migrations.
    """
    if not version.isdigit():
        raise BadInput(f"baseline version must be digits, got {version!r}")
    files = _files(config)
    target = resolve_target(config, env, intent=Intent.RECORDS)
    with _runner(config, target, SilentReporter()) as ctx:
        applied = history.applied(ctx.conn)
        if applied:
            raise Refused(f"{target.env_name} already has migration history (current {current_version(applied)}); "
                          "baseline is only for databases pgwarden has not managed yet")
        match = next((f for f in files if int(f.version) == int(version)), None)
        with ctx.conn.transaction():
            history.record(ctx.conn, version=match.version if match else version,
                           name=match.name if match else "baseline", checksum=match.checksum if match else "",
                           duration_ms=0, transactional=True, status="baseline", statements_done=0,
                           statements_total=0)
            events.record(ctx.conn, "migrate", f"baseline {version}", "ok")
    covered = [f.version for f in files if int(f.version) <= int(version)]
    return BaselineResult(target.env_name, version, covered)


def pending_files(config: Config, env: str | None = None) -> list[MigrationFile]:
    """The migration files not yet applied in ``env`` (for lint and deploy preflight)."""
    files = _files(config)
    target = resolve_target(config, env, intent=Intent.READ)
    with connect(target.url) as conn:
        states = compute_status(files, history.applied(conn))
    return _pending_up_to(files, states, None)
