"""pgwarden's own state: migrations not yet applied, and the age of the last verified backup.

Backups come from the backup package's public ``pgwarden.backup.api.list_backups`` (what
``pgwarden backup list`` shows: ``created_at`` and ``verified`` = ok/failed/never). Only when that
package cannot be imported are ``<backup dir>/<env>/<id>/manifest.json`` files read directly and
defensively (``started_at``/``finished_at``, ``verification = {"ok": bool, "at": ...}``); an
unreadable or differently shaped manifest is then skipped and counted, never an error.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgwarden.doctor.checks._util import plural, seconds
from pgwarden.doctor.model import Outcome, Status, ok
from pgwarden.doctor.registry import CheckContext, check

if TYPE_CHECKING:
    from pgwarden.config import Config

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
    evidence = [{"version": s.version, "name": s.name, "state": s.state, "note": s.note}
                for s in (*broken, *pending)]
    env = f" --env {ctx.env_name}" if ctx.env_name else ""
    if broken:
        return Outcome("fail", f"{plural(len(broken), 'migration')} failed, interrupted, changed or missing: "
                               + ", ".join(f"{s.version} ({s.state})" for s in broken), evidence,
                       [f"pgwarden migrate status{env}", f"pgwarden migrate repair{env}  (after reviewing)"])
    if pending:
        return Outcome("warn", f"{plural(len(pending), 'migration')} pending: "
                               + ", ".join(s.version for s in pending[:5]), evidence,
                       [f"pgwarden migrate up{env}"])
    applied = sum(1 for s in states if s.state in ("applied", "baseline"))
    return ok(f"all {plural(applied, 'migration')} applied")


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_backups(folder: Path) -> tuple[list[dict[str, Any]], int]:
    """Every readable backup manifest under ``folder/*/manifest.json`` as {id, taken_at, verified,
    verified_at}, newest first, and the number of manifests that could not be read."""
    found: list[dict[str, Any]] = []
    unreadable = 0
    if not folder.is_dir():
        return found, 0
    for path in folder.glob("*/manifest.json"):
        if path.parent.name.startswith("."):
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            unreadable += 1
            continue
        taken = _when(doc.get("started_at") or doc.get("finished_at")) if isinstance(doc, dict) else None
        if taken is None:
            unreadable += 1
            continue
        ver = doc.get("verification")
        verified = isinstance(ver, dict) and ver.get("ok") is True
        found.append({"id": doc.get("id", path.parent.name), "taken_at": taken, "verified": verified,
                      "verified_at": _when(ver.get("at")) if isinstance(ver, dict) else None})
    found.sort(key=lambda b: b["taken_at"], reverse=True)
    return found, unreadable


def list_verified(config: Config, env: str) -> tuple[list[dict[str, Any]], int]:
    """The backups of ``env``, newest first, as {id, taken_at, verified, verified_at}, and how many
    manifests could not be read (see the module docstring for where they come from)."""
    try:
        from pgwarden.backup.api import list_backups
    except ImportError:
        return read_backups(config.backup_path / env)
    return [{"id": b.id, "taken_at": b.created_at, "verified": b.verified == "ok", "verified_at": b.verified_at}
            for b in list_backups(config, env)], 0


def _max_age(ctx: CheckContext) -> float:
    """The configured threshold, or one derived from the retention policy (daily, weekly, monthly)."""
    assert ctx.config is not None
    if "backup_max_age" in ctx.config.settings.doctor.thresholds:
        return ctx.thresholds["backup_max_age"]
    keep = ctx.config.settings.backup.keep
    if keep.daily:
        return ctx.thresholds["backup_max_age"]
    if keep.weekly:
        return 8 * 86400
    return 32 * 86400


@check("backup_age", "pgwarden")
def backup_age(ctx: CheckContext) -> Outcome:
    """Age of the newest verified backup of this environment against the retention policy: an
    unverified or stale backup is not a recovery plan."""
    if ctx.config is None or ctx.env_name is None:
        return ok("no pgwarden project")
    backups, unreadable = list_verified(ctx.config, ctx.env_name)
    max_age = _max_age(ctx)
    bad: Status = "fail" if ctx.protected else "warn"
    env = f" --env {ctx.env_name}"
    verified = [b for b in backups if b["verified"]]
    evidence = [dict(b) for b in backups[:5]]
    if unreadable:
        evidence.append({"unreadable_manifests": unreadable})
    if not verified:
        what = f"{plural(len(backups), 'backup')}, none verified" if backups else "no backup"
        fix = [f"pgwarden backup create{env}"] if not backups else []
        fix.append(f"pgwarden backup verify <id>{env}")
        return Outcome(bad, f"{what} for environment {ctx.env_name}", evidence, fix)
    newest = verified[0]
    age = (ctx.now - newest["taken_at"]).total_seconds()
    summary = f"newest verified backup {newest['id']} is {seconds(age)} old (policy: at most {seconds(max_age)})"
    if age > max_age:
        return Outcome(bad, summary, evidence, [f"pgwarden backup create{env}", f"pgwarden backup verify <id>{env}"])
    return ok(summary, evidence)
