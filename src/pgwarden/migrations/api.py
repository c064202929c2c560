"""The migrations domain's entry point: new, status, up, down, history, repair, baseline, pending files.

Each takes a loaded Config (and an environment name) and returns a dataclass;
none prints anything. ``cli/migrate.py``, deploy and the other domains call only
these; the modules beside this one (plan, runner, session, resume, outcome,
gate, history) are the engine behind them.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pgwarden import events
from pgwarden.config import Config
from pgwarden.db import Intent, connect, resolve_target
from pgwarden.errors import BadInput, MigrationFileError, ProblemsFound, Refused
from pgwarden.guards import Confirm, confirm_or_refuse
from pgwarden.migrations import foreign, history
from pgwarden.migrations.gate import lint_gate
from pgwarden.migrations.history import AppliedMigration
from pgwarden.migrations.plan import (
    MigrationState,
    baseline_version,
    compute_status,
    current_version,
    problems,
    to_apply,
)
from pgwarden.migrations.resume import checksums, start_down, start_up
from pgwarden.migrations.runner import (
    ExecutionContext,
    Reporter,
    SilentReporter,
    StepResult,
    run_statements,
    run_transactional,
)
from pgwarden.migrations.session import RUNNER_LOCK, reset_session, runner
from pgwarden.paths import inside
from pgwarden.sources import MigrationFile, version_key
from pgwarden.sources.formats import read as read_format

__all__ = [
    "RUNNER_LOCK",
    "BaselineResult",
    "HistoryEntry",
    "KeptProgress",
    "MigrateResult",
    "RepairResult",
    "StatusResult",
    "baseline",
    "down",
    "history_of",
    "new",
    "pending_files",
    "repair",
    "status",
    "up",
]

MAX_NAME = 100
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
        return problems(self.migrations)


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
    lint_warnings: list[str] = field(default_factory=list)


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
class KeptProgress:
    """A stopped ``transaction:false`` run that ``repair`` keeps: statements 1..done stay done."""

    version: str
    statements_done: int
    resumes_at: int
    status: str


@dataclass(frozen=True)
class RepairResult:
    env: str
    rechecksummed: list[str]
    forgotten_failures: list[str]
    kept: list[KeptProgress] = field(default_factory=list)


# -- helpers ------------------------------------------------------------------


def migration_files(config: Config) -> list[MigrationFile]:
    """Every migration of the project, read in its ``migrations_format`` (parsed before any database is touched)."""
    return read_format(config.settings.migrations_format, config.migrations_path)


def applied_history(
    conn: psycopg.Connection[Any], config: Config, files: list[MigrationFile]
) -> dict[str, AppliedMigration]:
    """pgwarden's history, plus what the project's other tool recorded in its own table (see :mod:`foreign`)."""
    return foreign.merged(history.applied(conn), foreign.adapter_for(config, files), conn)


def _find(files: list[MigrationFile], version: str) -> MigrationFile:
    for f in files:
        if f.version == version or (version.isdigit() and int(f.version) == int(version)):
            return f
    raise BadInput(f"no migration with version {version} in {files[0].path.parent if files else 'the folder'}")


def _refuse_problems(states: list[MigrationState]) -> None:
    changed = [s for s in states if s.state == "changed"]
    if changed:
        names = ", ".join(f"{s.version}_{s.name}" for s in changed)
        raise ProblemsFound(
            f"applied migration(s) edited since they ran: {names}",
            hint="restore the original file, or record the edit with `pgwarden migrate repair`",
        )
    reverting = [s for s in states if s.state == "reverting"]
    if reverting:
        first = reverting[0]
        raise ProblemsFound(
            f"{first.version}_{first.name} is half reverted ({first.note}); nothing was applied",
            hint="finish reverting with `pgwarden migrate down`",
        )


def _refuse_empty(todo: list[MigrationFile]) -> None:
    for migration in todo:
        if migration.up.empty:
            raise MigrationFileError(
                f"{migration.path}:{migration.up.line}: the up section of {migration.label} is empty; write its SQL "
                "first (an empty migration would be recorded as applied, and SQL added later would never run)"
            )


# -- commands -----------------------------------------------------------------


def new(config: Config, name: str, *, now: datetime | None = None, body: str = NEW_TEMPLATE) -> Path:
    """Write ``<UTC timestamp>_<slug>.sql`` holding ``body`` (empty up and down sections); never overwrites."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not slug:
        raise BadInput(f"migration name {name[:60]!r} has no letters or digits")
    if len(slug) > MAX_NAME:
        raise BadInput(
            f"migration name is {len(slug)} characters; keep it under {MAX_NAME} (it becomes part of the file name)"
        )
    folder = inside(config.migrations_path, config.root)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"{folder}: cannot create the migrations folder: {exc.strerror}") from None
    moment = now or datetime.now(UTC)
    existing = {p.name.split("_", 1)[0] for p in folder.glob("*.sql")}
    while moment.strftime("%Y%m%d%H%M%S") in existing:
        moment += timedelta(seconds=1)
    path = folder / f"{moment.strftime('%Y%m%d%H%M%S')}_{slug}.sql"
    try:
        with open(path, "x", encoding="utf-8") as handle:
            handle.write(body)
    except OSError as exc:
        raise BadInput(f"{path}: cannot write: {exc.strerror}") from None
    return path


def status(config: Config, env: str | None = None) -> StatusResult:
    """Every migration's state (applied, pending, changed, missing, failed, interrupted, baseline)."""
    files = migration_files(config)
    target = resolve_target(config, env, intent=Intent.READ)
    with connect(target.url) as conn:
        applied = applied_history(conn, config, files)
        database = conn.info.dbname
    return StatusResult(target.env_name, database, current_version(applied), compute_status(files, applied))


def _pending_up_to(files: list[MigrationFile], states: list[MigrationState], to: str | None) -> list[MigrationFile]:
    limit = version_key(_find(files, to).version) if to else None
    resumable = {s.version for s in to_apply(states)}
    return [f for f in files if f.version in resumable and (limit is None or f.sort_key <= limit)]


def _apply_up(
    ctx: ExecutionContext, migration: MigrationFile, row: AppliedMigration | None, *, last: bool = True
) -> StepResult:
    section = migration.up
    reset_session(ctx.conn)
    ctx.reporter.migration_started(migration, "up")
    started = time.monotonic()
    if section.transactional:
        # A plain INSERT: if the version was committed meanwhile, this commit fails instead of applying it twice.
        record = history.record_sql(
            version=migration.version,
            name=migration.name,
            checksum=migration.checksum,
            duration_ms=history.ELAPSED_MS,
            transactional=True,
            status="applied",
            statements_done=len(section.statements),
            statements_total=len(section.statements),
            run_id=ctx.run_id,
            statement_checksums=checksums(section),
        )
        if row is not None and row.in_progress:  # it used to be transaction:false and stopped part-way
            record = sql.SQL("{};\n{}").format(
                history.delete_sql(migration.version, statuses=("failed", "running")), record
            )
        if ctx.foreign is not None:  # the other tool's own row, in the same transaction
            record = sql.SQL("{};\n{}").format(record, ctx.foreign.applied_sql(migration, history.ELAPSED_MS))
        retries = run_transactional(ctx, migration, section, record, flush=last)
        return StepResult(
            migration.version,
            migration.name,
            "up",
            "applied",
            int((time.monotonic() - started) * 1000),
            len(section.statements),
            retries,
            True,
        )

    tracker = start_up(ctx, migration, row)
    start_at = tracker.done + 1
    retries = run_statements(ctx, section, tracker)
    duration = int((time.monotonic() - started) * 1000)
    tracker.finished(duration)
    if ctx.foreign is not None:
        ctx.conn.execute(ctx.foreign.applied_sql(migration, duration))
    return StepResult(
        migration.version,
        migration.name,
        "up",
        "applied",
        duration,
        len(section.statements),
        retries,
        False,
        resumed_at=start_at if start_at > 1 else 0,
    )


def up(
    config: Config,
    env: str | None = None,
    *,
    to: str | None = None,
    dry_run: bool = False,
    reporter: Reporter | None = None,
    terminate_orphans: bool = False,
) -> MigrateResult:
    """Apply pending migrations in version order, each exactly once.

    Parses every file first and refuses an empty up section (exit 2). Refuses
    (exit 1) while an applied file's checksum differs or a revert is half done.
    Lint findings are graded by the one gate policy (:mod:`gate`) and reported
    through ``reporter`` before anything runs. Parallel runners serialise on an
    advisory lock; a backend left running by a killed runner is waited for (or
    ended with ``terminate_orphans``) before history is read; a transactional
    migration commits together with a plain history INSERT, so a second commit of
    the same version fails. ``dry_run`` changes nothing, not even the history schema.
    """
    reporter = reporter or SilentReporter()
    files = migration_files(config)
    if to is not None:
        _find(files, to)
    target = resolve_target(config, env, intent=Intent.READ if dry_run else Intent.APPLY_MIGRATIONS)
    # Checks and lint run before the runner lock and before pgwarden's schema is created:
    # when they refuse, the database is exactly as it was.
    with connect(target.url) as conn:
        applied = applied_history(conn, config, files)
        database = conn.info.dbname
        states = compute_status(files, applied)
        _refuse_problems(states)
        todo = _pending_up_to(files, states, to)
        _refuse_empty(todo)
        lint_warnings = lint_gate(config, todo, env_name=target.env_name, protected=target.env.protected, conn=conn)
    for line in lint_warnings:
        reporter.note(f"lint: {line}")
    if dry_run:
        steps = [
            StepResult(f.version, f.name, "up", "would apply", 0, len(f.up.statements), 0, f.up.transactional)
            for f in todo
        ]
        version = current_version(applied)
        return MigrateResult(
            target.env_name,
            database,
            "up",
            True,
            steps,
            version,
            todo[-1].version if todo else version,
            [],
            lint_warnings,
        )

    with runner(config, target, reporter, terminate_orphans=terminate_orphans) as ctx:
        _adopt_foreign(ctx, config, files)
        applied = applied_history(ctx.conn, config, files)
        states = compute_status(files, applied)
        _refuse_problems(states)
        version_before = current_version(applied)
        warnings = [f"{s.version}_{s.name}: {s.note}" for s in states if s.state == "pending" and s.note]
        todo = _pending_up_to(files, states, to)
        _refuse_empty(todo)
        steps = [_apply_up(ctx, f, applied.get(f.version), last=i == len(todo) - 1) for i, f in enumerate(todo)]
        version_after = current_version(applied_history(ctx.conn, config, files))
        database = ctx.conn.info.dbname
    return MigrateResult(
        target.env_name, database, "up", False, steps, version_before, version_after, warnings, lint_warnings
    )


_DOWN_FROM = ("applied", "reverting", "revert_failed")


def _down_targets(
    files: list[MigrationFile], applied: dict[str, AppliedMigration], steps: int | None, to: str | None
) -> list[MigrationFile]:
    # newest first, and a stopped revert before everything else: it is finished first
    done = sorted(
        (r for r in applied.values() if r.status in _DOWN_FROM),
        key=lambda r: (r.status != "applied", version_key(r.version)),
        reverse=True,
    )
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
        resuming = row.status != "applied"
        if file.checksum != row.checksum and not (resuming and checksums(file.up) == row.statement_checksums):
            raise ProblemsFound(
                f"{file.path}: edited since it was applied; its down section may not match",
                hint="restore the file or run `pgwarden migrate repair` first",
            )
        if file.down is not None and file.down.empty and not file.down.irreversible:
            raise MigrationFileError(
                f"{file.path}:{file.down.line}: the down section of {file.label} is empty: reverting would only "
                "forget that it was applied; nothing was reverted",
                hint="write the statements that undo the up section, or mark it '-- migrate:down irreversible'",
            )
        if not file.reversible:
            why = "is marked irreversible" if file.down is not None else "has no down section"
            raise Refused(
                f"{file.path}: cannot revert {file.label}: it {why}; nothing was reverted",
                hint="restore from a backup (`pgwarden backup restore`) or write a new forward migration",
            )
        targets.append(file)
    return targets


def down(
    config: Config,
    env: str | None = None,
    *,
    steps: int | None = None,
    to: str | None = None,
    dry_run: bool = False,
    reporter: Reporter | None = None,
    yes: bool = False,
    confirm: Confirm | None = None,
    terminate_orphans: bool = False,
) -> MigrateResult:
    """Revert the newest ``steps`` migrations (default 1) or all newer than ``to``.

    Every target is checked first (file present, unchanged, has a down section):
    if one fails the check nothing is reverted (exit 5). In a protected
    environment the revert needs ``yes`` or the env name typed at ``confirm``
    (exit 5 otherwise). Each down section runs atomically with the removal of
    its history row.
    """
    if steps is not None and to is not None:
        raise BadInput("give --steps or --to, not both")
    if to is not None and not to.isdigit():
        raise BadInput(f"--to must be a version (digits), got {to!r}")
    if steps is not None and steps < 1:
        raise BadInput("--steps must be at least 1")
    reporter = reporter or SilentReporter()
    files = migration_files(config)
    target = resolve_target(
        config, env, intent=Intent.READ if dry_run else Intent.SCHEMA_CHANGE, yes=yes, confirm=confirm
    )
    if dry_run:
        with connect(target.url) as conn:
            applied = applied_history(conn, config, files)
            database = conn.info.dbname
        todo = _down_targets(files, applied, steps, to)
        result_steps = [
            StepResult(f.version, f.name, "down", "would revert", 0, len(f.down.statements) if f.down else 0, 0, True)
            for f in todo
        ]
        remaining = {v: r for v, r in applied.items() if v not in {f.version for f in todo}}
        return MigrateResult(
            target.env_name, database, "down", True, result_steps, current_version(applied), current_version(remaining)
        )

    if target.env.protected:
        with connect(target.url) as conn:
            planned = _down_targets(files, applied_history(conn, config, files), steps, to)
        if planned:
            labels = ", ".join(m.label for m in planned)
            confirm_or_refuse(
                f"reverting {labels} on protected environment {target.env_name}",
                target.env_name,
                yes=yes,
                confirm=confirm,
            )
    with runner(config, target, reporter, terminate_orphans=terminate_orphans) as ctx:
        _adopt_foreign(ctx, config, files)
        applied = applied_history(ctx.conn, config, files)
        version_before = current_version(applied)
        results = []
        for migration in _down_targets(files, applied, steps, to):
            results.append(_apply_down(ctx, migration, applied[migration.version]))
        version_after = current_version(applied_history(ctx.conn, config, files))
        database = ctx.conn.info.dbname
    return MigrateResult(target.env_name, database, "down", False, results, version_before, version_after)


def _previous(ctx: ExecutionContext, migration: MigrationFile) -> str | None:
    """The version before ``migration`` among the project's files (what is current once it is reverted)."""
    earlier = [v for v in ctx.foreign.files if version_key(v) < migration.sort_key]
    return max(earlier, key=version_key) if earlier else None


def _adopt_foreign(ctx: ExecutionContext, config: Config, files: list[MigrationFile]) -> None:
    """Attach the other tool's history adapter to the run and create its table as the tool would."""
    ctx.foreign = foreign.adapter_for(config, files)
    if ctx.foreign is not None:
        ctx.conn.execute(ctx.foreign.ensure_sql())


def _apply_down(ctx: ExecutionContext, migration: MigrationFile, row: AppliedMigration) -> StepResult:
    section = migration.down
    assert section is not None
    reset_session(ctx.conn)
    ctx.reporter.migration_started(migration, "down")
    started = time.monotonic()
    forget: sql.Composable = history.delete_sql(migration.version, statuses=_DOWN_FROM)
    if ctx.foreign is not None:
        forget = sql.SQL("{};\n{}").format(forget, ctx.foreign.reverted_sql(migration, _previous(ctx, migration)))
    if section.transactional:
        retries = run_transactional(ctx, migration, section, forget)
        resumed_at = 0
    else:
        tracker = start_down(ctx, migration, row)
        resumed_at = tracker.done + 1 if tracker.done else 0
        retries = run_statements(ctx, section, tracker)
        tracker.finished(0)
        if ctx.foreign is not None:
            ctx.conn.execute(ctx.foreign.reverted_sql(migration, _previous(ctx, migration)))
    return StepResult(
        migration.version,
        migration.name,
        "down",
        "reverted",
        int((time.monotonic() - started) * 1000),
        len(section.statements),
        retries,
        section.transactional,
        resumed_at=resumed_at,
    )


def history_of(config: Config, env: str | None = None) -> list[HistoryEntry]:
    """The recorded history, oldest first (empty when nothing was ever applied)."""
    target = resolve_target(config, env, intent=Intent.READ)
    with connect(target.url) as conn:
        rows = sorted(history.applied(conn).values(), key=lambda r: (r.applied_at, version_key(r.version)))
    return [
        HistoryEntry(r.version, r.name, r.status, r.applied_at, r.applied_by, r.duration_ms, r.transactional)
        for r in rows
    ]


def _repair_stopped(
    conn: Any, row: AppliedMigration, file: MigrationFile | None, *, ran: bool, not_ran: bool, forget: bool
) -> KeptProgress | None:
    """Keep a stopped up run's done statements (re-recorded against the file as it is now); None: forgotten."""
    done = row.statements_done + (1 if ran else 0)
    if forget or file is None or done == 0 or file.up.transactional:
        history.delete(conn, row.version)
        return None
    done = min(done, len(file.up.statements))
    status = "failed" if (not_ran or ran or row.status == "failed") else row.status
    history.keep_done(
        conn,
        row.version,
        checksum=file.checksum,
        done=done,
        checksums=checksums(file.up)[:done],
        status=status,
        error=row.error if status == row.status else None,
    )
    return KeptProgress(row.version, done, done + 1, status)


def repair(
    config: Config,
    env: str | None = None,
    *,
    ran: str | None = None,
    not_ran: str | None = None,
    forget: str | None = None,
) -> RepairResult:
    """Re-record the checksums of edited applied files; settle stopped ``transaction:false`` runs.

    This is the explicit acknowledgement that the database matches the files as
    they are now; it never runs any migration SQL. A stopped run keeps the
    statements recorded as done (the result says which) and the next ``up``
    resumes after them; a run with none done is forgotten. ``ran=VERSION`` says the
    statement that was cut off took effect (it counts as done); ``not_ran=VERSION``
    says it did not (it runs again); ``forget=VERSION`` forgets that stopped run
    entirely (its statements were undone by hand: the file starts again at statement 1).
    """
    files = migration_files(config)
    target = resolve_target(config, env, intent=Intent.RECORDS)
    with runner(config, target, SilentReporter()) as ctx:
        applied = history.applied(ctx.conn)
        for flag, version in (("--ran", ran), ("--not-ran", not_ran), ("--forget", forget)):
            if version is not None and applied.get(version, None) is None:
                raise BadInput(f"{flag} {version}: no stopped run of that version in {target.env_name}")
            if version is not None and applied[version].status not in ("running", "failed"):
                raise BadInput(f"{flag} {version}: its run is {applied[version].status}, not stopped")
        by_version = {f.version: f for f in files}
        rechecksummed: list[str] = []
        forgotten: list[str] = []
        kept: list[KeptProgress] = []
        with ctx.conn.transaction():
            for version, row in sorted(applied.items(), key=lambda item: version_key(item[0])):
                file = by_version.get(version)
                if row.status in ("failed", "running"):
                    outcome = _repair_stopped(
                        ctx.conn, row, file, ran=ran == version, not_ran=not_ran == version, forget=forget == version
                    )
                    if outcome is None:
                        forgotten.append(version)
                    else:
                        kept.append(outcome)
                elif file is not None and row.status == "applied" and row.checksum != file.checksum:
                    history.update_checksum(ctx.conn, version, file.checksum)
                    rechecksummed.append(version)
            events.record(
                ctx.conn,
                "migrate",
                "repair",
                "ok",
                {"rechecksummed": rechecksummed, "forgotten_failures": forgotten, "kept": [k.__dict__ for k in kept]},
            )
    return RepairResult(target.env_name, rechecksummed, forgotten, kept)


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
    files = migration_files(config)
    target = resolve_target(config, env, intent=Intent.RECORDS)
    with runner(config, target, SilentReporter()) as ctx:
        applied = history.applied(ctx.conn)
        if applied:
            raise Refused(
                f"{target.env_name} already has migration history (current {current_version(applied)}); "
                "baseline is only for databases pgwarden has not managed yet",
                hint=f"pgwarden migrate status --env {target.env_name}",
            )
        match = next((f for f in files if int(f.version) == int(version)), None)
        with ctx.conn.transaction():
            history.record(
                ctx.conn,
                version=match.version if match else version,
                name=match.name if match else "baseline",
                checksum=match.checksum if match else "",
                duration_ms=0,
                transactional=True,
                status="baseline",
                statements_done=0,
                statements_total=0,
            )
            events.record(ctx.conn, "migrate", f"baseline {version}", "ok")
    covered = [f.version for f in files if int(f.version) <= int(version)]
    return BaselineResult(target.env_name, version, covered)


def pending_files(config: Config, env: str | None = None) -> list[MigrationFile]:
    """The migration files not yet applied in ``env`` (for lint and deploy preflight)."""
    files = migration_files(config)
    target = resolve_target(config, env, intent=Intent.READ)
    with connect(target.url) as conn:
        states = compute_status(files, applied_history(conn, config, files))
    return _pending_up_to(files, states, None)
