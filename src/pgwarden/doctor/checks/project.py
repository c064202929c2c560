"""pgwarden's own state: migrations not yet applied, and the age of the last verified full backup.

Backups and their age rule come from the backup package's API (``pgwarden.backup.api``:
``list_backups``, ``BackupInfo.counts_as_full``, ``max_age_seconds``), the same listing
``pgwarden backup list`` shows; doctor decides nothing about backups itself.
"""

from __future__ import annotations

from typing import Any

from pgwarden.doctor.checks._util import plural, seconds
from pgwarden.doctor.model import Outcome, Status, ok
from pgwarden.doctor.registry import CheckContext, check


@check("pending_migrations", "pgwarden")
def pending_migrations(ctx: CheckContext) -> Outcome:
    """Migration files not applied to this database, or applied ones that failed, were interrupted or
    changed since: the schema is not what the code expects."""
    if ctx.config is None:
        return ok("no pgwarden project")
    from pgwarden.migrations import history
    from pgwarden.migrations.plan import PROBLEM_STATES, compute_status
    from pgwarden.sources import discover

    if not ctx.config.migrations_path.is_dir():
        return ok(f"no migrations folder ({ctx.config.settings.migrations_dir})")
    states = compute_status(discover(ctx.config.migrations_path), history.applied(ctx.conn))
    pending = [s for s in states if s.state == "pending"]
    broken = [s for s in states if s.state in PROBLEM_STATES]
    evidence = [{"version": s.version, "name": s.name, "state": s.state, "note": s.note} for s in (*broken, *pending)]
    env = f" --env {ctx.env_name}" if ctx.env_name else ""
    if broken:
        return Outcome(
            "fail",
            f"{plural(len(broken), 'migration')} failed, interrupted, changed or missing: "
            + ", ".join(f"{s.version} ({s.state})" for s in broken),
            evidence,
            [f"pgwarden migrate status{env}", f"pgwarden migrate repair{env}  (after reviewing)"],
        )
    if pending:
        return Outcome(
            "warn",
            f"{plural(len(pending), 'migration')} pending: " + ", ".join(s.version for s in pending[:5]),
            evidence,
            [f"pgwarden migrate up{env}"],
        )
    applied = sum(1 for s in states if s.state in ("applied", "baseline"))
    return ok(f"all {plural(applied, 'migration')} applied")


def _max_age(ctx: CheckContext) -> float:
    """doctor's ``backup_max_age`` threshold when configured, else the backup package's rule for the policy."""
    from pgwarden.backup.api import max_age_seconds

    assert ctx.config is not None
    if "backup_max_age" in ctx.config.settings.doctor.thresholds:
        return ctx.thresholds["backup_max_age"]
    return max_age_seconds(ctx.config)


@check("backup_age", "pgwarden")
def backup_age(ctx: CheckContext) -> Outcome:
    """Age of the newest verified *full* backup of this environment against the retention policy: an
    unverified, partial or stale backup is not a recovery plan."""
    if ctx.config is None or ctx.env_name is None:
        return ok("no pgwarden project")
    from pgwarden.backup.api import list_backups

    backups = list_backups(ctx.config, ctx.env_name, now=ctx.now)
    max_age = _max_age(ctx)
    bad: Status = "fail" if ctx.protected else "warn"
    env = f" --env {ctx.env_name}"
    verified = [b for b in backups if b.counts_as_full]
    evidence: list[dict[str, Any]] = [
        {"id": b.id, "kind": b.kind, "taken_at": b.created_at, "verified": b.verified} for b in backups[:5]
    ]
    if not verified:
        full = [b for b in backups if b.kind == "full"]
        what = f"{plural(len(full), 'backup')}, none verified" if full else "no backup"
        if len(backups) > len(full):
            others = plural(len(backups) - len(full), "partial, archive or safety backup")
            what += f" (and {others}, which do not count)"
        fix = [f"pgwarden backup create{env}"] if not full else []
        fix.append(f"pgwarden backup verify <id>{env}")
        return Outcome(bad, f"{what} for environment {ctx.env_name}", evidence, fix)
    newest = verified[0]
    age = newest.age_seconds
    summary = (
        f"newest verified backup {newest.id} is {seconds(age)} old (policy: at most {seconds(max_age)}); "
        "full backups only"
    )
    if age > max_age:
        return Outcome(bad, summary, evidence, [f"pgwarden backup create{env}", f"pgwarden backup verify <id>{env}"])
    return ok(summary, evidence)
