"""``pgwarden deploy``: preflight, verified backup, apply, post-checks, report.

Guarantees:
- nothing is changed before every preflight check passed and the deploy was
  confirmed (``yes``, or the person typed the environment's name);
- a protected environment is only deployed over TLS (unless ``allow_insecure``)
  and only after a backup that was verified;
- migrations are applied by :func:`pgwarden.migrations.api.up` (lock
  timeouts, retries, one transaction per migration) and it stops at the first failure;
- only one deploy runs per database (advisory lock);
- once anything may have changed, the report is recorded in ``pgwarden.events``
  and a failure lists the exact commands that lead back.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import TypeVar

from pgwarden import events, policy
from pgwarden.config import Config
from pgwarden.db import Intent, Target, advisory_lock, connect, resolve_target
from pgwarden.deploy import checks
from pgwarden.deploy.backup_first import verified_backup
from pgwarden.deploy.report import DeployReport, DeployStep, DeployStopped, StepOutcome
from pgwarden.errors import LockTimeoutGaveUp, PgwardenError, ProblemsFound, Refused
from pgwarden.guards import Confirm, confirm_or_refuse
from pgwarden.migrations import api as commands
from pgwarden.migrations import history
from pgwarden.migrations.api import applied_history, migration_files
from pgwarden.migrations.plan import compute_status, current_version, to_apply
from pgwarden.migrations.runner import Reporter
from pgwarden.schema.diff import diff as schema_diff
from pgwarden.schema.snapshot import take_snapshot
from pgwarden.sources import MigrationFile, version_key

DEPLOY_LOCK = "pgwarden:deploy"
DEPLOY_LOCK_WAIT = 2.0
T = TypeVar("T")


class _Steps:
    """Runs and times the steps of one deploy, recording each in the report."""

    def __init__(self, report: DeployReport, on_step: Callable[[DeployStep], None] | None):
        self.report = report
        self.on_step = on_step

    def add(self, name: str, outcome: StepOutcome, detail: str, seconds: float = 0.0) -> None:
        step = DeployStep(name, outcome, round(seconds, 3), detail)
        self.report.steps.append(step)
        if self.on_step:
            self.on_step(step)

    def run(self, name: str, action: Callable[[], T], describe: Callable[[T], str]) -> T:
        started = time.monotonic()
        try:
            value = action()
        except PgwardenError as exc:
            outcome: StepOutcome = "refused" if isinstance(exc, Refused) else "failed"
            self.add(name, outcome, exc.message, time.monotonic() - started)
            raise
        self.add(name, "ok", describe(value), time.monotonic() - started)
        return value


def deploy(
    config: Config,
    env: str | None = None,
    *,
    yes: bool = False,
    confirm: Confirm | None = None,
    dry_run: bool = False,
    backup: bool | None = None,
    reporter: Reporter | None = None,
    on_step: Callable[[DeployStep], None] | None = None,
    to: str | None = None,
) -> DeployReport:
    """Deploy the pending migrations to ``env`` through the guarded pipeline; returns the report.

    A deploy that stops raises :class:`DeployStopped` (exit code of the cause) carrying
    the report: every step, what was applied and left behind, and the ways back as
    commands. ``backup`` None means "when protected" (always mandatory there);
    ``dry_run`` runs the preflight only. A protected database needs ``yes`` or ``confirm``.
    ``to`` deploys the pending migrations up to that version only (an expand step before its contract).
    """
    name, _ = config.environment(env)
    protected = policy.policy_for(config, name).protected
    report = DeployReport(name, protected, dry_run)
    steps = _Steps(report, on_step)
    try:
        if protected and not dry_run and not yes and confirm is None:
            confirm_or_refuse(f"deploying to the protected environment {name}", name, yes=False, confirm=None)
        target = steps.run(
            "preflight: connect and tls",
            lambda: resolve_target(config, name, intent=Intent.READ),
            lambda t: f"{t.safe_url}; {_tls_detail(config, t)}",
        )
        with ExitStack() as held:
            files = _preflight(config, target, report, steps, held, to)
            if report.pending and protected and not dry_run:
                what = f"deploying to the protected environment {name}"
                steps.run(
                    "confirm",
                    lambda: confirm_or_refuse(what, name, yes=yes, confirm=confirm),
                    lambda _: "--yes given" if yes else "environment name typed",
                )
            _guarded(config, target, report, steps, files, backup, reporter)
    except PgwardenError as exc:
        report.fail(exc)
        if _changed_anything(report):
            _account(config, target_or_none(config, name), report)
            _record(config, report)
        raise DeployStopped(report, exc) from None
    return report


def target_or_none(config: Config, name: str) -> Target | None:
    """The environment's database for reading what a stopped deploy left (None when unreachable or refused)."""
    try:
        return resolve_target(config, name, intent=Intent.READ)
    except PgwardenError:
        return None


def _tls_detail(config: Config, target: Target) -> str:
    with connect(target.url) as conn:
        return "TLS " + policy.check_tls(policy.policy_for(config, target.env_name), target.env_name, conn)


def _preflight(
    config: Config, target: Target, report: DeployReport, steps: _Steps, held: ExitStack, to: str | None = None
) -> list[MigrationFile]:
    """Read-only checks; the deploy lock is entered into ``held``; pending list and versions land in ``report``."""
    files = steps.run(
        "preflight: migration files", lambda: migration_files(config), lambda fs: f"{len(fs)} file(s) parsed"
    )
    with connect(target.url) as conn:
        report.database = conn.info.dbname
        report.server_version = checks.server_version(conn)
        steps.add("preflight: server", "ok", f"PostgreSQL {report.server_version}")
        _take_deploy_lock(target, steps, held)
        applied = applied_history(conn, config, files)
        report.invalid_before = checks.invalid_indexes(conn)
        report._schema_before = take_snapshot(conn)
    states = compute_status(files, applied)
    report.version_before = report.version_after = current_version(applied)
    steps.run("preflight: checksums", lambda: checks.no_changed_files(states), lambda d: d)
    resumable = {s.version for s in to_apply(states)}
    pending = [f for f in files if f.version in resumable and (to is None or f.sort_key <= version_key(to))]
    report.pending = [f.version for f in pending]
    report.irreversible = [f.version for f in pending if not f.reversible]
    steps.add("preflight: pending", "ok", ", ".join(f.label for f in pending) or "nothing to apply")
    if not pending:
        return files
    steps.run("preflight: lint", lambda: checks.lint_clean(config, pending, target.env_name), str)
    steps.run("preflight: reversible", lambda: checks.all_reversible(pending), lambda d: d)
    steps.run("preflight: phases", lambda: checks.phases_respected(target.url, pending), lambda d: d)
    return files


def _take_deploy_lock(target: Target, steps: _Steps, held: ExitStack) -> None:
    """Hold the deploy lock of ``target`` until ``held`` closes; refused (exit 5) if another deploy has it."""
    started = time.monotonic()
    try:
        held.enter_context(advisory_lock(target.url, DEPLOY_LOCK, timeout=DEPLOY_LOCK_WAIT))
    except LockTimeoutGaveUp as exc:
        steps.add(
            "preflight: single deploy",
            "refused",
            f"another deploy is running on {target.env_name}",
            time.monotonic() - started,
        )
        raise Refused(
            f"another deploy is running on {target.env_name}; nothing was changed",
            hint="wait for it to finish, then run the deploy again",
        ) from exc
    steps.add("preflight: single deploy", "ok", "deploy lock held", time.monotonic() - started)


def _guarded(
    config: Config,
    target: Target,
    report: DeployReport,
    steps: _Steps,
    files: list[MigrationFile],
    backup: bool | None,
    reporter: Reporter | None,
) -> None:
    """Backup, apply, post-checks and record (the caller holds the deploy lock)."""
    if report.dry_run:
        _dry_run(report, steps, backup)
        return
    if report.pending:
        _backup(config, target, report, steps, backup)
        with policy.deploying(config, target, report.backup_id):
            _apply(config, target, report, steps, reporter)
    else:
        report.outcome = "up to date"
        steps.add("backup", "skipped", "nothing to apply")
        steps.add("apply", "skipped", "nothing to apply")
    _post_checks(target, report, steps, files)
    _record(config, report)
    steps.add("report", "ok", "recorded in pgwarden.events")


def _dry_run(report: DeployReport, steps: _Steps, backup: bool | None) -> None:
    report.outcome = "dry run"
    wants_backup = report.protected or bool(backup)
    steps.add(
        "backup",
        "would run" if wants_backup and report.pending else "skipped",
        "verified backup first" if wants_backup else "not a protected environment",
    )
    steps.add("apply", "would run" if report.pending else "skipped", ", ".join(report.pending) or "nothing to apply")


def _backup(config: Config, target: Target, report: DeployReport, steps: _Steps, backup: bool | None) -> None:
    if not (report.protected or backup):
        steps.add("backup", "skipped", "not a protected environment (pass --backup to take one anyway)")
        return
    started = time.monotonic()
    try:
        taken = verified_backup(config, target.env_name)
    except PgwardenError as exc:
        steps.add(
            "backup", "refused" if isinstance(exc, Refused) else "failed", exc.message, time.monotonic() - started
        )
        raise
    report.backup_id = taken.id
    steps.add("backup", "ok", f"{taken.id} ({taken.path})", taken.create_seconds)
    steps.add("backup: verify", "ok", f"{taken.id} restorable", taken.verify_seconds)


def _apply(config: Config, target: Target, report: DeployReport, steps: _Steps, reporter: Reporter | None) -> None:
    try:
        last = report.pending[-1] if report.pending else None
        steps.run(
            "apply",
            lambda: commands.up(config, target.env_name, to=last, reporter=reporter),
            lambda r: (
                ", ".join(
                    f"{s.version} ({s.duration_ms} ms"
                    + (f", {s.lock_retries} lock retries" if s.lock_retries else "")
                    + ")"
                    for s in r.steps
                )
                or "nothing to apply"
            ),
        )
    finally:
        _refresh_versions(target, report)


def _refresh_versions(target: Target, report: DeployReport) -> None:
    """What is applied now, compared with before the deploy (after success or failure)."""
    with connect(target.url) as conn:
        applied = history.applied(conn)
    report.version_after = current_version(applied)
    done = {v for v, r in applied.items() if r.status == "applied"}
    report.applied = [v for v in report.pending if v in done]
    report.partial = {
        v: f"{r.statements_done} of {r.statements_total} statements ran"
        for v, r in applied.items()
        if v in report.pending and r.status in ("failed", "running") and r.statements_done > 0
    }


def _post_checks(target: Target, report: DeployReport, steps: _Steps, files: list[MigrationFile]) -> None:
    report.post_checks_ran = True
    with connect(target.url) as conn:
        steps.run("post-check: health", lambda: checks.healthy(conn), lambda d: d)

        def no_invalid() -> str:
            bad = checks.invalid_indexes(conn)
            if bad:
                raise ProblemsFound(
                    f"INVALID index(es) after the deploy: {', '.join(bad)}",
                    hint="; ".join(checks.drop_invalid_sql(bad)) + " then re-create them",
                )
            return "no INVALID indexes"

        steps.run("post-check: indexes", no_invalid, lambda d: d)
        applied = history.applied(conn)
    newest = report.pending[-1] if report.pending else (files[-1].version if files else None)

    def version_matches() -> str:
        recorded = current_version(applied)
        if recorded != newest:
            raise ProblemsFound(f"recorded version {recorded or 'none'} is not the version deployed {newest}")
        return f"recorded version {recorded or 'none'} = the version deployed"

    steps.run("post-check: version", version_matches, lambda d: d)


def _changed_anything(report: DeployReport) -> bool:
    """Whether the deploy got past the read-only part (backup or later)."""
    return any(s.name.startswith(("backup", "apply", "post-check")) and s.outcome != "skipped" for s in report.steps)


def _account(config: Config, target: Target | None, report: DeployReport) -> None:
    """Fill in what the stopped deploy left and the commands that lead back from exactly that state.

    Computed from the database, not assumed: the history (applied and part-way
    migrations), INVALID indexes, and the catalog compared with the preflight snapshot.
    """
    invalid: list[str] = []
    if target is not None:
        _refresh_versions(target, report)
        with connect(target.url) as conn:
            invalid = [name for name in checks.invalid_indexes(conn) if name not in report.invalid_before]
            after = take_snapshot(conn)
        if report._schema_before is not None:
            report.left_behind = [
                d.describe() + (" [INVALID]" if d.kind == "indexes" and d.name in invalid else "")
                for d in schema_diff(report._schema_before, after)
            ]
    report.left_behind += [
        f"index {name}: INVALID"
        for name in invalid
        if not any(item.startswith(f"index {name}:") for item in report.left_behind)
    ]
    report.left_behind += [f"migration {v} stopped part-way: {done}" for v, done in report.partial.items()]
    if not report.post_checks_ran and not any(s.name.startswith("post-check") for s in report.steps):
        report.steps.append(DeployStep("post-checks", "skipped", 0.0, "not run: the deploy stopped before them"))
    report.what_happened = describe_outcome(report, invalid)
    try:
        files = {f.version: f for f in migration_files(config)}
    except PgwardenError:
        files = {}
    report.ways_back = ways_back(report, invalid, target.url if target else None, files)


def describe_outcome(report: DeployReport, invalid: list[str]) -> str:
    """One sentence computed from the report: what was applied, what ran part-way, what changed, what was left."""
    parts = []
    if report.applied:
        parts.append(f"applied {', '.join(report.applied)}")
    parts += [f"{v} stopped part-way ({done})" for v, done in report.partial.items()]
    if invalid:
        parts.append(f"left INVALID index(es) {', '.join(invalid)}")
    changed = [what for what in report.left_behind if not what.startswith("migration ") and "INVALID" not in what]
    if changed:
        parts.append(f"{len(changed)} schema change(s) against the preflight: {'; '.join(changed)}")
    if not parts:
        return "nothing was applied and the schema is as before the deploy"
    return "; ".join(parts) + ("" if report.post_checks_ran else "; post-checks did not run")


def ways_back(
    report: DeployReport, invalid: list[str], url: str | None, files: dict[str, MigrationFile] | None = None
) -> list[str]:
    """The ways back to the schema before the deploy, each one command line, from the state in the report.

    First, step by step (chained with ``&&``): drop the INVALID indexes left; undo each
    migration that stopped part-way by running its down section statement by statement
    (one ``psql -c`` each, so CONCURRENTLY works), then ``migrate repair --forget`` its
    stopped run; revert the migrations this deploy applied. Offered only when
    every step exists (each migration concerned has a down section). Then, when the
    deploy took one, restoring its backup (puts back the data and the objects in the
    backup; objects the deploy added are listed in ``left_behind``).
    """
    env = report.env
    if not (report.applied or report.partial or invalid or report.left_behind):
        return []
    files = files or {}
    ways = []
    stopped = [files.get(v) for v in sorted(report.partial, reverse=True)]
    one_way = [v for v in report.applied if v in report.irreversible]
    if url is not None and not one_way and all(f is not None and f.reversible for f in stopped):
        steps = [psql_command(url, *checks.drop_invalid_sql(invalid))] if invalid else []
        for file in stopped:
            assert file is not None and file.down is not None
            steps.append(psql_command(url, *[st.sql for st in file.down.statements]))
            steps.append(f"pgwarden migrate repair --forget {file.version} --env {env}")
        if report.applied:
            steps.append(f"pgwarden migrate down --to {report.version_before or '0'} --env {env}")
        if steps:
            ways.append(" && ".join(steps))
    if report.backup_id:
        ways.append(f"pgwarden backup restore {report.backup_id} --env {env}")
    return ways


def psql_command(url: str, *statements: str) -> str:
    """A ``psql`` command line running each statement on ``url``'s database in turn (``-c`` each, autocommit).

    No password on the command line: psql asks for it or reads ``.pgpass`` / ``PGPASSWORD``.
    """
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(url)
    args = ["psql", "--no-psqlrc", "-v", "ON_ERROR_STOP=1"]
    for key, flag in (("host", "-h"), ("port", "-p"), ("user", "-U"), ("dbname", "-d")):
        if params.get(key):
            args += [flag, str(params[key])]
    for statement in statements:
        args += ["-c", statement]
    return shlex.join(args)


def _record(config: Config, report: DeployReport) -> None:
    """Append the report to ``pgwarden.events`` (best effort on failure paths: the error stays the story)."""
    details = {
        "steps": [s.__dict__ for s in report.steps],
        "applied": report.applied,
        "partial": report.partial,
        "left_behind": report.left_behind,
        "post_checks_ran": report.post_checks_ran,
        "version_before": report.version_before,
        "version_after": report.version_after,
        "backup_id": report.backup_id,
        "ways_back": report.ways_back,
        "what_happened": report.what_happened,
        "error": report.error,
    }
    try:
        target = resolve_target(config, report.env, intent=Intent.READ)
        with connect(target.url) as conn:
            events.record(conn, "deploy", f"deploy {report.env}", report.outcome, details)
        report.recorded = True
    except PgwardenError:
        if report.error is None:
            raise
