"""One function per scheduled task; each calls the public function the CLI command of the same job calls.

A task returns a :class:`TaskResult` (``ok`` False = a failure that is retried and notified) or raises;
an exception is a failure too. Nothing here catches SIGTERM: ``backup`` gets it through
:func:`pgwarden.backup.create.sigterm_interrupts`, which discards the staging folder (no half-written
backup is ever listed) and raises KeyboardInterrupt, which the runner records as ``abandoned``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pgwarden.agent.store import Store
    from pgwarden.backup.catalog import BackupInfo
    from pgwarden.config import Config


@dataclass
class TaskResult:
    """What a task did: ``ok``, one line for people and notifications, and figures for the history."""

    ok: bool
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskContext:
    config: Config
    env: str
    now: datetime
    store: Store


def is_full(info: BackupInfo) -> bool:
    """Whether a listed backup is a full one (partial, archive and safety backups do not count for verify)."""
    return info.kind == "full"


def backup(ctx: TaskContext) -> TaskResult:
    from pgwarden.backup.api import create

    result = create(ctx.config, ctx.env, reason="scheduled by pgwarden agent")
    return TaskResult(
        True,
        f"backup {result.id} written ({result.manifest.size} bytes in {result.seconds:.1f}s)",
        {"backup": result.id, "size": result.manifest.size, "seconds": result.seconds},
    )


def verify(ctx: TaskContext) -> TaskResult:
    """Restore the newest full backup into a scratch database; reports how long the restore took."""
    from pgwarden.backup.api import list_backups
    from pgwarden.backup.api import verify as verify_backup

    newest = next((b for b in list_backups(ctx.config, ctx.env) if is_full(b)), None)
    if newest is None:
        return TaskResult(False, f"no full backup of {ctx.env} to verify")
    result = verify_backup(ctx.config, newest.id, ctx.env)
    details = {
        "backup": newest.id,
        "restore_seconds": result.seconds,
        "tables_checked": len(result.tables),
        "problems": result.problems,
    }
    if not result.ok:
        return TaskResult(False, f"backup {newest.id} failed verification: {'; '.join(result.problems[:3])}", details)
    return TaskResult(
        True, f"backup {newest.id} restored and checked in {result.seconds:.1f}s (measured recovery time)", details
    )


def prune(ctx: TaskContext) -> TaskResult:
    from pgwarden.backup.api import prune as prune_backups

    result = prune_backups(ctx.config, ctx.env, now=ctx.now)
    return TaskResult(
        True,
        f"{len(result.deleted)} backups deleted, {len(result.kept)} kept",
        {"deleted": [d.id for d in result.deleted], "kept": len(result.kept)},
    )


def partition_maintain(ctx: TaskContext) -> TaskResult:
    from pgwarden.partition.api import maintain
    from pgwarden.partition.maintain import MaintainOptions

    result = maintain(ctx.config, ctx.env, MaintainOptions(now=ctx.now))
    created = [name for t in result.tables for name in t.created]
    details = {
        "created": created,
        "detached": [n for t in result.tables for n in t.detached],
        "problems": result.problems,
    }
    if result.problems:
        return TaskResult(False, "; ".join(result.problems[:3]), details)
    return TaskResult(True, f"{len(result.tables)} tables maintained, {len(created)} partitions created", details)


def doctor_snapshot(ctx: TaskContext) -> TaskResult:
    """Run doctor and the metrics; store counts, figures and the largest tables for the dashboard's trends."""
    from pgwarden.doctor.metrics import collect
    from pgwarden.doctor.runner import run_doctor

    report = run_doctor(ctx.config, ctx.env)
    figures = {m.name: m.samples[0][1] for m in collect(ctx.config, ctx.env) if m.samples}
    tables: list[dict[str, Any]] = []
    with suppress(KeyError):  # the check may be disabled in [doctor]
        tables = [
            {"table": f"{r['schema']}.{r['table']}", "total_bytes": r["total_bytes"], "index_bytes": r["index_bytes"]}
            for r in report.by_name("largest_tables").evidence
        ]
    data = {
        "counts": report.counts,
        "server_version": report.server_version,
        "checks": {c.name: c.status for c in report.checks},
        "metrics": figures,
        "tables": tables[:10],
    }
    ctx.store.add_snapshot(ctx.env, ctx.now, data)
    counts = report.counts
    return TaskResult(
        True,
        f"snapshot taken: {counts.get('ok', 0)} ok, {counts.get('warn', 0)} warn, "
        f"{counts.get('fail', 0)} fail, {counts.get('error', 0)} error",
        {"counts": counts},
    )


def check(ctx: TaskContext) -> TaskResult:
    from pgwarden.check.api import check as drift_check

    result = drift_check(ctx.config, ctx.env)
    details = {"drifted": result.drifted, "differences": len(result.differences), "version": result.version}
    if result.drifted:
        return TaskResult(False, f"{len(result.differences)} differences between {ctx.env} and its migrations", details)
    return TaskResult(True, f"no drift ({result.objects_compared} objects compared)", details)


TASKS: dict[str, Callable[[TaskContext], TaskResult]] = {
    "backup": backup,
    "verify": verify,
    "prune": prune,
    "partition-maintain": partition_maintain,
    "doctor-snapshot": doctor_snapshot,
    "check": check,
}
