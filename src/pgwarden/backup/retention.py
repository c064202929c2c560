"""``backup prune``: keep a day's, week's and month's best backup for that many periods.

Guarantees: the newest verified backup and every backup newer than it are
always kept; when no backup has been verified yet nothing is deleted; a
backup whose verification failed never fills a period's slot; within a
period the newest verified backup is preferred over a newer unverified one.
Periods are UTC calendar days, ISO weeks and months that contain a backup
(periods without backups do not count, so old backups survive a pause).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pgwarden.backup.catalog import manifests, state_of
from pgwarden.backup.events import record
from pgwarden.backup.storage import storage_for
from pgwarden.config import Config, Keep


@dataclass(frozen=True)
class Candidate:
    """A backup as retention sees it: when, and its verification state (ok, failed, never)."""

    id: str
    created_at: datetime
    verified: str = "never"


@dataclass
class Decision:
    id: str
    created_at: datetime
    keep: bool
    reasons: list[str] = field(default_factory=list)


_PERIODS: dict[str, Callable[[datetime], str]] = {
    "daily": lambda t: t.strftime("%Y-%m-%d"),
    "weekly": lambda t: "{}-W{:02d}".format(*t.isocalendar()[:2]),
    "monthly": lambda t: t.strftime("%Y-%m"),
}


def plan(backups: list[Candidate], keep: Keep) -> list[Decision]:
    """Which backups to keep and why, newest first (a pure function of its inputs)."""
    ordered = sorted(backups, key=lambda b: (b.created_at, b.id), reverse=True)
    decisions = {b.id: Decision(b.id, b.created_at, False) for b in ordered}
    newest_ok = next((b for b in ordered if b.verified == "ok"), None)
    if newest_ok is None:
        for b in ordered:
            decisions[b.id].reasons.append("no verified backup yet")
    else:
        for b in ordered:
            if b is newest_ok:
                decisions[b.id].reasons.append("newest verified")
                break
            decisions[b.id].reasons.append("newer than the newest verified")
    usable = [b for b in ordered if b.verified != "failed"]
    for rule, period_of in _PERIODS.items():
        slots = getattr(keep, rule)
        best: dict[str, Candidate] = {}
        for b in usable:  # newest first: the first seen per period is its newest
            period = period_of(b.created_at.astimezone(UTC))
            current = best.get(period)
            if current is None or (b.verified == "ok" and current.verified != "ok"):
                best[period] = b
        for period in list(best)[:slots]:
            decisions[best[period].id].reasons.append(f"{rule} {period}")
    out = [decisions[b.id] for b in ordered]
    for d in out:
        d.keep = bool(d.reasons)
    return out


@dataclass
class PruneResult:
    env: str
    dry_run: bool
    kept: list[Decision]
    deleted: list[Decision]
    cleaned_incomplete: list[str]
    event_recorded: bool = False


def prune(
    config: Config, env: str | None, *, dry_run: bool = False, now: datetime | None = None
) -> PruneResult:
    """Delete the backups the retention policy does not keep (none with ``dry_run``).

    Also removes abandoned staging folders; ``now`` is recorded in the prune event.
    """
    from pgwarden.db import Intent, resolve_target
    from pgwarden.errors import PgwardenError

    name = config.env_name(env)
    storage = storage_for(config)
    found = manifests(storage, name)
    decisions = plan([Candidate(m.id, m.started_at, state_of(m)) for m in found], config.settings.backup.keep)
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
