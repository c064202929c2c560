"""``backup prune``: each kind of backup is kept by its own rule.

- ``full``: a day's, week's and month's newest *verified* full backup for that many
  periods (``keep``); the newest verified full backup and every full backup newer than it
  are always kept; when no full backup has been verified yet no full backup is deleted;
  a backup whose verification failed or that was never verified fills no slot.
  Periods are UTC calendar days, ISO weeks and months that contain a backup
  (periods without backups do not count, so old backups survive a pause).
- ``archive`` (a retired partition, the only copy of its rows): kept for ``archive_keep``
  (default forever), never by the slots above.
- ``safety`` (taken before a restore) and ``tables`` (partial): the newest
  ``safety_keep.last`` of each kind and any younger than ``safety_keep.days``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pgwarden.backup.catalog import manifests, state_of
from pgwarden.backup.events import record
from pgwarden.backup.manifest import Kind
from pgwarden.backup.settings import BackupSettings, Keep, ShortKeep, load
from pgwarden.backup.storage import storage_for
from pgwarden.config import Config


@dataclass(frozen=True)
class Candidate:
    """A backup as retention sees it: when, its verification state (ok, failed, never) and kind."""

    id: str
    created_at: datetime
    verified: str = "never"
    kind: Kind = "full"


@dataclass
class Decision:
    id: str
    created_at: datetime
    keep: bool
    reasons: list[str] = field(default_factory=list)
    kind: Kind = "full"


@dataclass(frozen=True)
class Policy:
    """Every retention rule in one object (see the module docstring)."""

    keep: Keep = Keep()
    archive_keep_seconds: float | None = None  # None: forever
    short: ShortKeep = ShortKeep()

    @classmethod
    def of(cls, settings: BackupSettings) -> Policy:
        return cls(settings.keep, settings.archive_keep_seconds, settings.safety_keep)


_PERIODS: dict[str, Callable[[datetime], str]] = {
    "daily": lambda t: t.strftime("%Y-%m-%d"),
    "weekly": lambda t: "{}-W{:02d}".format(*t.isocalendar()[:2]),
    "monthly": lambda t: t.strftime("%Y-%m"),
}


def _full_reasons(ordered: list[Candidate], keep: Keep) -> dict[str, list[str]]:
    reasons: dict[str, list[str]] = {b.id: [] for b in ordered}
    newest_ok = next((b for b in ordered if b.verified == "ok"), None)
    for b in ordered:
        if newest_ok is None:
            reasons[b.id].append("no verified full backup yet")
            continue
        if b is newest_ok:
            reasons[b.id].append("newest verified")
            break
        reasons[b.id].append("newer than the newest verified")
    verified = [b for b in ordered if b.verified == "ok"]
    for rule, period_of in _PERIODS.items():
        best: dict[str, Candidate] = {}
        for b in verified:  # newest first: the first seen per period is its newest
            best.setdefault(period_of(b.created_at.astimezone(UTC)), b)
        for period in list(best)[: getattr(keep, rule)]:
            reasons[best[period].id].append(f"{rule} {period}")
    return reasons


def _archive_reasons(ordered: list[Candidate], keep_seconds: float | None, now: datetime) -> dict[str, list[str]]:
    if keep_seconds is None:
        return {b.id: ["archive: kept forever (archive_keep)"] for b in ordered}
    limit = now - timedelta(seconds=keep_seconds)
    return {b.id: ["archive: within archive_keep"] if b.created_at > limit else [] for b in ordered}


def _short_reasons(ordered: list[Candidate], short: ShortKeep, now: datetime) -> dict[str, list[str]]:
    limit = now - timedelta(days=short.days)
    reasons: dict[str, list[str]] = {}
    for index, b in enumerate(ordered):
        reasons[b.id] = []
        if index < short.last:
            reasons[b.id].append(f"{b.kind}: one of the newest {short.last}")
        if b.created_at > limit:
            reasons[b.id].append(f"{b.kind}: younger than {short.days} days")
    return reasons


def plan(backups: list[Candidate], keep: Keep | Policy, *, now: datetime | None = None) -> list[Decision]:
    """Which backups to keep and why, newest first (a pure function of its inputs and ``now``)."""
    policy = keep if isinstance(keep, Policy) else Policy(keep)
    moment = now or datetime.now(UTC)
    ordered = sorted(backups, key=lambda b: (b.created_at, b.id), reverse=True)
    reasons: dict[str, list[str]] = {}
    for kind in ("full", "archive", "safety", "tables"):
        mine = [b for b in ordered if b.kind == kind]
        if kind == "full":
            reasons |= _full_reasons(mine, policy.keep)
        elif kind == "archive":
            reasons |= _archive_reasons(mine, policy.archive_keep_seconds, moment)
        else:
            reasons |= _short_reasons(mine, policy.short, moment)
    return [Decision(b.id, b.created_at, bool(reasons[b.id]), reasons[b.id], b.kind) for b in ordered]


@dataclass
class PruneResult:
    env: str
    dry_run: bool
    kept: list[Decision]
    deleted: list[Decision]
    cleaned_incomplete: list[str]
    event_recorded: bool = False


def prune(config: Config, env: str | None, *, dry_run: bool = False, now: datetime | None = None) -> PruneResult:
    """Delete the backups the retention policy does not keep (none with ``dry_run``).

    Also removes abandoned staging folders; ``now`` is recorded in the prune event.
    """
    from pgwarden.db import Intent, resolve_target
    from pgwarden.errors import PgwardenError

    name = config.env_name(env)
    storage = storage_for(config)
    found = manifests(storage, name)
    candidates = [Candidate(m.id, m.started_at, state_of(m), m.kind) for m in found]
    decisions = plan(candidates, Policy.of(load(config)), now=now)
    kept = [d for d in decisions if d.keep]
    doomed = [d for d in decisions if not d.keep]
    result = PruneResult(name, dry_run, kept, doomed, [])
    if dry_run:
        return result
    result.cleaned_incomplete = storage.clean_incomplete(name)
    for d in doomed:
        storage.delete(name, d.id)
    if doomed:
        try:
            url = resolve_target(config, name, intent=Intent.READ).url
        except PgwardenError:
            return result
        result.event_recorded = record(
            url,
            "prune",
            f"{len(doomed)} backup(s)",
            "ok",
            {
                "deleted": [d.id for d in doomed],
                "kept": [d.id for d in kept],
                "at": (now or datetime.now(UTC)).isoformat(),
            },
        )
    return result
