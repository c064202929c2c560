"""How old the newest verified full backup may be: named thresholds derived from the retention policy.

One rule, used by ``doctor``'s backup-age check and its metrics: a policy with daily
slots expects a backup every day (plus slack for a late run), weekly slots every
week, monthly every month. Only verified ``full`` backups count.
"""

from __future__ import annotations

from pgwarden.backup.settings import Keep

DAILY_MAX_AGE = 26 * 3600.0  # a day plus two hours of slack for a late nightly run
WEEKLY_MAX_AGE = 8 * 86400.0  # a week plus a day
MONTHLY_MAX_AGE = 32 * 86400.0  # the longest month plus a day


def expected_max_age(keep: Keep) -> float:
    """Seconds the newest verified full backup may be old under ``keep`` (the shortest slot wins)."""
    if keep.daily:
        return DAILY_MAX_AGE
    if keep.weekly:
        return WEEKLY_MAX_AGE
    return MONTHLY_MAX_AGE
