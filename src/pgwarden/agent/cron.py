"""When a schedule is due: pure functions of a cron expression, a time zone, the last run and now.

The missed-run policy lives here, in one place:

* ``catch_up = 0`` (``skip``, the default): however many slots passed since the last run, at most one
  run is due, the newest slot. After a 14-day outage an hourly task runs once, not 336 times.
* ``catch_up = N``: the newest N missed slots are due, oldest first.
* A schedule that never ran is due for its newest slot at or before now (one run).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

_EPSILON = timedelta(seconds=1)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def previous_slots(expr: str, zone: ZoneInfo, now: datetime, *, after: datetime | None, limit: int) -> list[datetime]:
    """Up to ``limit`` slots in (``after``, ``now``], newest first, as UTC datetimes."""
    it = croniter(expr, _aware(now).astimezone(zone) + _EPSILON)
    out: list[datetime] = []
    while len(out) < limit:
        slot = _aware(it.get_prev(datetime)).astimezone(UTC)
        if after is not None and slot <= _aware(after):
            break
        out.append(slot)
    return out


def due_slots(
    expr: str, zone: ZoneInfo, now: datetime, last_slot: datetime | None, catch_up: int = 0
) -> list[datetime]:
    """The slots to run now, oldest first (see the module docstring for the policy)."""
    limit = max(1, catch_up) if last_slot is not None else 1
    return sorted(previous_slots(expr, zone, now, after=last_slot, limit=limit))


def next_slot(expr: str, zone: ZoneInfo, now: datetime) -> datetime:
    """The first slot strictly after ``now`` (UTC)."""
    return _aware(croniter(expr, _aware(now).astimezone(zone)).get_next(datetime)).astimezone(UTC)


def interval(expr: str, zone: ZoneInfo, now: datetime) -> timedelta:
    """The gap between the next two slots after ``now`` (what the dead-man alert doubles)."""
    first = next_slot(expr, zone, now)
    return next_slot(expr, zone, first) - first
