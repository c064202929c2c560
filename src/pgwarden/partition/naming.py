"""Periods, deterministic partition names and retention arithmetic (pure functions, no database).

Guarantees: every period is half-open ``[lower, upper)`` in UTC and aligned on
its calendar unit (day, ISO week starting Monday, month, quarter, year); names are a
pure function of (table, interval, period start), so two runs, two hosts or
two releases always agree on them:

==========  =========================
interval    name of the partition
==========  =========================
1 day       ``audit_logs_p2026_11_22``
1 week      ``audit_logs_p2026w47`` (ISO year and week)
1 month     ``audit_logs_p2026_11``
3 months    ``audit_logs_p2026q4`` (quarter)
1 year      ``audit_logs_p2026``
hash        ``audit_logs_h0`` .. ``audit_logs_h{modulus-1}``
default     ``audit_logs_default``
==========  =========================

Names longer than PostgreSQL's 63 bytes keep their suffix and shorten the table part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

MAX_IDENTIFIER = 63
_INTERVAL = re.compile(r"^\s*(?:1\s*(?P<unit>day|week|month|quarter|year)s?|(?P<three>3)\s*months?)\s*$", re.I)
_RETENTION = re.compile(r"^\s*(\d+)\s*(day|week|month|year)s?\s*$", re.I)


class Interval(StrEnum):
    """A supported range-partition interval."""

    DAY = "1 day"
    WEEK = "1 week"
    MONTH = "1 month"
    QUARTER = "3 months"
    YEAR = "1 year"

    @property
    def months(self) -> int:
        """Calendar months in one period (0 for day and week)."""
        return {"1 month": 1, "3 months": 3, "1 year": 12}.get(self.value, 0)


def parse_interval(text: str) -> Interval:
    """``'1 month'`` (also ``'1 months'``, any case; ``'1 quarter'`` = ``'3 months'``) into an :class:`Interval`."""
    match = _INTERVAL.match(text or "")
    if not match:
        raise ValueError(
            f"{text!r} is not a supported interval "
            "(use '1 day', '1 week', '1 month', '3 months' (a quarter) or '1 year')"
        )
    unit = (match.group("unit") or "").lower()
    return Interval.QUARTER if match.group("three") or unit == "quarter" else Interval(f"1 {unit}")


@dataclass(frozen=True)
class Retention:
    """Keep partitions whose upper bound is newer than ``count`` ``unit``s before now."""

    count: int
    unit: str  # day | week | month | year

    def cutoff(self, now: datetime) -> datetime:
        """The instant before which a partition's whole range must lie to be expired."""
        now = as_utc(now)
        if self.unit == "day":
            return now - timedelta(days=self.count)
        if self.unit == "week":
            return now - timedelta(weeks=self.count)
        months = self.count * (12 if self.unit == "year" else 1)
        return _add_months(now, -months)


def parse_retention(text: str) -> Retention:
    """``'12 months'``, ``'90 days'``, ``'2 years'`` into a :class:`Retention`; ValueError otherwise."""
    match = _RETENTION.match(text or "")
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"{text!r} is not a retention (use e.g. '90 days', '8 weeks', '12 months', '2 years')")
    return Retention(int(match.group(1)), match.group(2).lower())


def as_utc(value: datetime | date) -> datetime:
    """``value`` as a timezone-aware UTC datetime (naive values are taken as UTC)."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _add_months(value: datetime, months: int) -> datetime:
    index = value.year * 12 + (value.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    days_in_month = (datetime(year + (month == 12), month % 12 + 1, 1) - datetime(year, month, 1)).days
    return value.replace(year=year, month=month, day=min(value.day, days_in_month))


def period_start(interval: Interval, moment: datetime | date) -> datetime:
    """Start (UTC midnight) of the period of ``interval`` that contains ``moment``."""
    t = as_utc(moment)
    day = datetime(t.year, t.month, t.day, tzinfo=UTC)
    if interval is Interval.DAY:
        return day
    if interval is Interval.WEEK:
        return day - timedelta(days=day.weekday())
    if interval is Interval.MONTH:
        return day.replace(day=1)
    if interval is Interval.QUARTER:
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


def shift(interval: Interval, start: datetime, periods: int) -> datetime:
    """The start ``periods`` periods after (or before, if negative) the period start ``start``."""
    if interval is Interval.DAY:
        return start + timedelta(days=periods)
    if interval is Interval.WEEK:
        return start + timedelta(weeks=periods)
    return _add_months(start, periods * interval.months)


def shorten(table: str, suffix: str) -> str:
    """``table + suffix`` cut to 63 bytes by shortening ``table`` (the suffix is what makes it unique)."""
    room = MAX_IDENTIFIER - len(suffix.encode())
    base = table.encode()[:room].decode(errors="ignore")
    return base + suffix


def range_suffix(interval: Interval, start: datetime) -> str:
    """The name suffix of the period starting at ``start``: ``_p2026_11``, ``_p2026w47``, ..."""
    if interval is Interval.DAY:
        return f"_p{start:%Y_%m_%d}"
    if interval is Interval.WEEK:
        iso = start.isocalendar()
        return f"_p{iso.year}w{iso.week:02d}"
    if interval is Interval.MONTH:
        return f"_p{start:%Y_%m}"
    if interval is Interval.QUARTER:
        return f"_p{start:%Y}q{(start.month - 1) // 3 + 1}"
    return f"_p{start:%Y}"


@dataclass(frozen=True)
class Period:
    """One range partition to be: its name and half-open UTC bounds."""

    name: str
    lower: datetime
    upper: datetime


def period(table: str, interval: Interval, moment: datetime | date) -> Period:
    """The partition of ``table`` that holds ``moment``."""
    start = period_start(interval, moment)
    return Period(shorten(table, range_suffix(interval, start)), start, shift(interval, start, 1))


def periods(table: str, interval: Interval, first: datetime | date, last: datetime | date) -> list[Period]:
    """Every period from the one holding ``first`` to the one holding ``last`` (inclusive), in order."""
    out: list[Period] = []
    start = period_start(interval, first)
    stop = period_start(interval, last)
    while start <= stop:
        out.append(Period(shorten(table, range_suffix(interval, start)), start, shift(interval, start, 1)))
        start = shift(interval, start, 1)
    return out


def wanted_periods(table: str, interval: Interval, now: datetime | date, premake: int, past: int = 0) -> list[Period]:
    """``past`` periods back, the current period and ``premake`` ahead: what ``maintain`` guarantees exists."""
    start = period_start(interval, now)
    return periods(table, interval, shift(interval, start, -past), shift(interval, start, premake))


def hash_name(table: str, remainder: int) -> str:
    """Name of the hash partition with ``remainder``: ``<table>_h<remainder>``."""
    return shorten(table, f"_h{remainder}")


def default_name(table: str) -> str:
    """Name of the default partition: ``<table>_default``."""
    return shorten(table, "_default")


def bound_literal(moment: datetime, key_type: str) -> str:
    """Text of a bound for a key of ``key_type`` (UTC offset for timestamptz, a plain date for date)."""
    moment = as_utc(moment)
    if key_type == "date":
        return f"{moment:%Y-%m-%d}"
    if key_type.startswith("timestamp with time zone"):
        return f"{moment:%Y-%m-%d %H:%M:%S}+00"
    return f"{moment:%Y-%m-%d %H:%M:%S}"
