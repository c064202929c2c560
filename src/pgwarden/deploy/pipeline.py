"""``pgwarden deploy``: preflight, verified backup, apply, post-checks, report.

Guarantees:
- nothing is changed before every preflight check passed and the deploy was
  confirmed (``yes``, or the person typed the environment's name);
- a protected environment is only deployed over TLS (unless ``allow_insecure``)
  and only after a backup that was verified;
- migrations are applied by :func:`pgwarden.migrations.commands.up` (lock
  timeouts, retries, one transaction per migration) and it stops at the first failure;
- only one deploy runs per database (advisory lock);
- once anything may have changed, the report is recorded in ``pgwarden.events``
  and a failure lists the exact commands that lead back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any, TypeVar

from pgwarden import events
from pgwarden.config import Config
from pgwarden.db import Target, advisory_lock, connect, resolve_target
from pgwarden.deploy import checks
from pgwarden.deploy.report import DeployReport, DeployStep, StepOutcome
from pgwarden.errors import LockTimeoutGaveUp, PgwardenError, ProblemsFound, Refused
from pgwarden.guards import Confirm, confirm_or_refuse, require_tls, tls_status
from pgwarden.migrations import commands, history
from pgwarden.migrations.plan import compute_status, current_version
from pgwarden.migrations.runner import Reporter
from pgwarden.sources import MigrationFile, discover

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
            outcome: StepOutcome = "refused" if exc.exit_code == 5 else "failed"
            self.add(name, outcome, exc.message, time.monotonic() - started)
            raise
        self.add(name, "ok", describe(value), time.monotonic() - started)
        return value


def deploy(config: Config, env: str | None = None, *, yes: bool = False, confirm: Confirm | None = None,
           dry_run: bool = False, backup: bool | None = None, reporter: Reporter | None = None,
           on_step: Callable[[DeployStep], None] | None = None) -> DeployReport:
    """Deploy the pending migrations to ``env`` through the guarded pipeline.

    Only an unknown environment raises (ConfigError); every other outcome, its
    exit code and error are in the returned report. ``backup`` None
    means "when protected" (always mandatory there); ``dry_run`` runs the
    preflight only. A protected environment needs ``yes`` or ``confirm``.
    """
    name, environment = config.environment(env)
    report = DeployReport(name, environment.protected, dry_run)
    steps = _Steps(report, on_step)
    try:
        if environment.protected and not dry_run and not yes and confirm is None:
            confirm_or_refuse(f"deploying to the protected environment {name}", name, yes=False, confirm=None)
        target = steps.run("preflight: connect", lambda: resolve_target(config, name), lambda t: t.safe_url)
        with ExitStack() as held:
            files = _preflight(config, target, report, steps, held)
            if report.pending and environment.protected and not dry_run:
                what = f"deploying to the protected environment {name}"
                steps.run("confirm", lambda: confirm_or_refuse(what, name, yes=yes, confirm=confirm),
                          lambda _: "--yes given" if yes else "environment name typed")
            _guarded(config, target, report, steps, files, backup, reporter)
    except PgwardenError as exc:
        report.fail(exc)
        if _changed_anything(report):
            _ways_back(report)
            _record(config, report)
    return report


def _preflight(config: Config, target: Target, report: DeployReport, steps: _Steps,
               held: ExitStack) -> list[MigrationFile]:
    """Read-only checks; the deploy lock is entered into ``held``; pending list and versions land in ``report``."""
    files = steps.run("preflight: migration files", lambda: discover(config.migrations_path),
                      lambda fs: f"{len(fs)} file(s) parsed")
    with connect(target.url) as conn:
        report.database = conn.info.dbname
        report.server_version = checks.server_version(conn)
        if target.env.protected and not target.env.allow_insecure:
            steps.run("preflight: tls", lambda: require_tls(target.env_name, tls_status(conn)),
                      lambda _: "encrypted session, sslmode " + tls_status(conn).sslmode)
        elif target.env.protected:
            steps.add("preflight: tls", "skipped", "allow_insecure = true for this environment")
        else:
            steps.add("preflight: tls", "skipped", "not a protected environment")
        steps.add("preflight: server", "ok", f"PostgreSQL {report.server_version}")
        _take_deploy_lock(target, steps, held)
        applied = history.applied(conn)
    states = compute_status(files, applied)
    report.version_before = report.version_after = current_version(applied)
    steps.run("preflight: checksums", lambda: checks.no_changed_files(states), lambda d: d)
    resumable = {s.version for s in states if s.state in ("pending", "failed", "interrupted")}
    pending = [f for f in files if f.version in resumable]
    report.pending = [f.version for f in pending]
    report.irreversible = [f.version for f in pending if not f.reversible]
    steps.add("preflight: pending", "ok", ", ".join(f.label for f in pending) or "nothing to apply")
    if not pending:
        return files
    if checks.optional_module("pgwarden.lint.api") is None:
        steps.add("preflight: lint", "skipped", "skipped: pgwarden.lint not available")
    else:
        steps.run("preflight: lint", lambda: checks.lint_clean(config, pending, target.env_name), str)
    steps.run("preflight: reversible", lambda: checks.all_reversible(pending), lambda d: d)
    return files


def _take_deploy_lock(target: Target, steps: _Steps, held: ExitStack) -> None:
    """Hold the deploy lock of ``target`` until ``held`` closes; refused (exit 5) if another deploy has it."""
    started = time.monotonic()
    try:
        held.enter_context(advisory_lock(target.url, DEPLOY_LOCK, timeout=DEPLOY_LOCK_WAIT))
    except LockTimeoutGaveUp as exc:
        steps.add("preflight: single deploy", "refused", f"another deploy is running on {target.env_name}",
                  time.monotonic() - started)
        raise Refused(f"another deploy is running on {target.env_name}; nothing was changed",
                      hint="wait for it to finish, then run the deploy again") from exc
    steps.add("preflight: single deploy", "ok", "deploy lock held", time.monotonic() - started)


def _guarded(config: Config, target: Target, report: DeployReport, steps: _Steps, files: list[MigrationFile],
             backup: bool | None, reporter: Reporter | None) -> None:
    """Backup, apply, post-checks and record (the caller holds the deploy lock)."""
    if report.dry_run:
        _dry_run(report, steps, target, backup)
        return
    if report.pending:
        _backup(config, target, report, steps, backup)
        _apply(config, target, report, steps, reporter)
    else:
        report.outcome = "up to date"
        steps.add("backup", "skipped", "nothing to apply")
        steps.add("apply", "skipped", "nothing to apply")
    _post_checks(target, report, steps, files)
    _record(config, report)
    steps.add("report", "ok", "recorded in pgwarden.events")


def _dry_run(report: DeployReport, steps: _Steps, target: Target, backup: bool | None) -> None:
    report.outcome = "dry run"
    wants_backup = target.env.protected or bool(backup)
    steps.add("backup", "would run" if wants_backup and report.pending else "skipped",
              "verified backup first" if wants_backup else "not a protected environment")
    steps.add("apply", "would run" if report.pending else "skipped",
              ", ".join(report.pending) or "nothing to apply")


def _backup(config: Config, target: Target, report: DeployReport, steps: _Steps, backup: bool | None) -> None:
    if not (target.env.protected or backup):
        steps.add("backup", "skipped", "not a protected environment (pass --backup to take one anyway)")
        return
    api = checks.optional_module("pgwarden.backup.api")
    if api is None:
        steps.add("backup", "skipped", "skipped: pgwarden.backup not available")
        if target.env.protected:
            raise Refused(f"{target.env_name} is protected and needs a verified backup before a deploy, "
                          "but pgwarden.backup is not available; nothing was changed")
        return
    created = steps.run("backup", lambda: api.create(config, target.env_name, reason="before deploy"),
                        lambda r: f"{r.id} ({r.path})")
    report.backup_id = str(created.id)

    def verify() -> Any:
        result = api.verify(config, created.id, target.env_name)
        if not result.ok:
            problems = "; ".join(str(p) for p in result.problems) or "verification failed"
            raise ProblemsFound(f"backup {created.id} did not verify: {problems}; nothing was changed",
                                hint="fix the backup problem before deploying; the database was not touched")
        return result

    steps.run("backup: verify", verify, lambda _: f"{created.id} restorable")


def _apply(config: Config, target: Target, report: DeployReport, steps: _Steps,
           reporter: Reporter | None) -> None:
    try:
        steps.run("apply", lambda: commands.up(config, target.env_name, reporter=reporter),
                  lambda r: ", ".join(f"{s.version} ({s.duration_ms} ms"
                                      + (f", {s.lock_retries} lock retries" if s.lock_retries else "") + ")"
                                      for s in r.steps) or "nothing to apply")
    finally:
        _refresh_versions(target, report)


def _refresh_versions(target: Target, report: DeployReport) -> None:
    """What is applied now, compared with before the deploy (after success or failure)."""
    with connect(target.url) as conn:
        applied = history.applied(conn)
    report.version_after = current_version(applied)
    done = {v for v, r in applied.items() if r.status == "applied"}
    report.applied = [v for v in report.pending if v in done]


def _post_checks(target: Target, report: DeployReport, steps: _Steps, files: list[MigrationFile]) -> None:
    with connect(target.url) as conn:
        steps.run("post-check: health", lambda: checks.healthy(conn), lambda d: d)

        def no_invalid() -> str:
            bad = checks.invalid_indexes(conn)
            if bad:
                raise ProblemsFound(f"INVALID index(es) after the deploy: {', '.join(bad)}",
                                    hint="drop and rebuild them: DROP INDEX CONCURRENTLY <name>; "
                                         "then re-create")
            return "no INVALID indexes"

        steps.run("post-check: indexes", no_invalid, lambda d: d)
        applied = history.applied(conn)
    newest = files[-1].version if files else None

    def version_matches() -> str:
        recorded = current_version(applied)
        if recorded != newest:
            raise ProblemsFound(f"recorded version {recorded or 'none'} is not the newest file {newest}")
        return f"recorded version {recorded or 'none'} = newest file"

    steps.run("post-check: version", version_matches, lambda d: d)


def _changed_anything(report: DeployReport) -> bool:
    """Whether the deploy got past the read-only part (backup or later)."""
    return any(s.name.startswith(("backup", "apply", "post-check")) and s.outcome != "skipped"
               for s in report.steps)


def _ways_back(report: DeployReport) -> None:
    """The exact commands that undo this deploy: revert what it applied, or restore its backup."""
    env = report.env
    one_way = [v for v in report.applied if v in report.irreversible]
    if one_way:
        report.ways_back.append(f"{', '.join(one_way)} cannot be reverted (irreversible): restore the backup")
    elif report.applied:
        report.ways_back.append(f"pgwarden migrate down --to {report.version_before or '0'} --env {env}")
    else:
        report.ways_back.append("nothing was applied: the schema is as before the deploy")
    if report.backup_id:
        report.ways_back.append(f"pgwarden backup restore {report.backup_id} --env {env}")


def _record(config: Config, report: DeployReport) -> None:
    """Append the report to ``pgwarden.events`` (best effort on failure paths: the error stays the story)."""
    details = {"steps": [s.__dict__ for s in report.steps], "applied": report.applied,
               "version_before": report.version_before, "version_after": report.version_after,
               "backup_id": report.backup_id, "ways_back": report.ways_back, "error": report.error}
    try:
        target = resolve_target(config, report.env)
        with connect(target.url) as conn:
            events.record(conn, "deploy", f"deploy {report.env}", report.outcome, details)
        report.recorded = True
    except PgwardenError:
        if report.exception is None:
            raise
