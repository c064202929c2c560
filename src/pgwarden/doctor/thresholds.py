"""Named, documented thresholds of the health checks, overridable from ``[doctor] thresholds``.

Guarantees: every threshold has a name, a unit, a default and a one-line
reason; a value from the configuration is parsed with the threshold's unit
(durations as "2s"/"5min" or seconds, sizes as "10MB" or bytes, percentages and
counts as numbers); an unknown name or a bad value raises ConfigError naming
``doctor.thresholds.<name>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pgwarden.errors import ConfigError
from pgwarden.units import parse_duration, parse_size

Unit = Literal["duration", "size", "percent", "count"]


@dataclass(frozen=True)
class Threshold:
    """One tunable limit: ``default`` is in the unit's text form (``"1min"``, ``"10MB"``, ``80``)."""

    name: str
    unit: Unit
    default: str | int | float
    check: str
    doc: str


THRESHOLDS: tuple[Threshold, ...] = (
    Threshold(
        "connections_warn_pct",
        "percent",
        80,
        "connections",
        "warn when client connections use this share of max_connections (minus reserved)",
    ),
    Threshold(
        "connections_fail_pct",
        "percent",
        95,
        "connections",
        "fail at this share: new connections are about to be refused",
    ),
    Threshold(
        "long_query_warn",
        "duration",
        "1min",
        "long_running_queries",
        "warn for a statement running longer (PgHero's long_running_query_sec)",
    ),
    Threshold(
        "long_query_fail",
        "duration",
        "6h",
        "long_running_queries",
        "fail: such a statement holds back vacuum (xmin horizon) for hours",
    ),
    Threshold(
        "idle_in_transaction_warn",
        "duration",
        "1min",
        "idle_in_transaction",
        "warn for a session idle inside an open transaction longer than this",
    ),
    Threshold(
        "idle_in_transaction_fail",
        "duration",
        "10min",
        "idle_in_transaction",
        "fail: it keeps its locks and stops vacuum from removing dead rows",
    ),
    Threshold(
        "blocked_query_warn",
        "duration",
        "5s",
        "blocked_queries",
        "warn for a statement waiting for a lock longer than this",
    ),
    Threshold(
        "blocked_query_fail", "duration", "30s", "blocked_queries", "fail: the application is stalled behind a lock"
    ),
    Threshold(
        "slow_query_mean",
        "duration",
        "100ms",
        "slow_queries",
        "warn for a statement whose mean time exceeds this (pg_stat_statements)",
    ),
    Threshold(
        "slow_query_calls",
        "count",
        100,
        "slow_queries",
        "only statements called at least this often count as slow (PgHero's slow_query_calls)",
    ),
    Threshold(
        "cache_hit_ratio_warn_pct",
        "percent",
        99,
        "cache_hit_ratio",
        "warn when table or index cache hit ratio is below this (PgHero's cache_hit_rate_threshold)",
    ),
    Threshold(
        "cache_hit_min_blocks",
        "count",
        10000,
        "cache_hit_ratio",
        "judge the ratio only after this many block reads (a fresh server has no useful ratio)",
    ),
    Threshold(
        "unused_index_min_size",
        "size",
        "10MB",
        "unused_indexes",
        "report never-scanned indexes from this size (smaller ones cost little)",
    ),
    Threshold(
        "missing_index_min_rows",
        "count",
        10000,
        "missing_indexes",
        "tables with at least this many live rows are candidates",
    ),
    Threshold(
        "missing_index_min_seq_scans",
        "count",
        100,
        "missing_indexes",
        "and at least this many sequential scans, more than index scans",
    ),
    Threshold(
        "bloat_warn_pct",
        "percent",
        50,
        "bloat",
        "warn when the estimated wasted share of a table or index exceeds this",
    ),
    Threshold("bloat_min_size", "size", "10MB", "bloat", "and the estimated waste is at least this large"),
    Threshold(
        "dead_tuples_warn_pct", "percent", 20, "dead_tuples", "warn when dead rows exceed this share of a table's rows"
    ),
    Threshold("dead_tuples_min", "count", 1000, "dead_tuples", "and there are at least this many dead rows"),
    Threshold(
        "vacuum_stale",
        "duration",
        "7d",
        "vacuum_staleness",
        "warn when a modified table has not been vacuumed or analyzed for this long",
    ),
    Threshold(
        "xid_age_warn_pct",
        "percent",
        25,
        "wraparound",
        "warn when the oldest unfrozen transaction ID is this far towards wraparound (2^31)",
    ),
    Threshold(
        "xid_age_fail_pct",
        "percent",
        50,
        "wraparound",
        "fail at this share: PostgreSQL stops accepting writes at about 100%",
    ),
    Threshold(
        "sequence_warn_pct",
        "percent",
        75,
        "sequences",
        "warn when a sequence used this share of its column type's range",
    ),
    Threshold(
        "sequence_fail_pct",
        "percent",
        90,
        "sequences",
        "fail at this share (PgHero's 90%): inserts stop when it is exhausted",
    ),
    Threshold("largest_tables_count", "count", 10, "largest_tables", "how many of the largest tables to show"),
    Threshold(
        "backup_max_age",
        "duration",
        "26h",
        "backup_age",
        "warn (fail in a protected environment) when the newest verified backup is older",
    ),
    Threshold(
        "statement_timeout",
        "duration",
        "5s",
        "*",
        "statement_timeout of every check query; a check that hits it is reported as error",
    ),
    Threshold(
        "lock_timeout", "duration", "1s", "*", "lock_timeout of every check query, so doctor never queues behind DDL"
    ),
    Threshold("workers", "count", 4, "*", "checks run concurrently on this many connections"),
)

BY_NAME: dict[str, Threshold] = {t.name: t for t in THRESHOLDS}


def _parse(threshold: Threshold, value: str | int | float) -> float:
    if threshold.unit == "duration":
        return parse_duration(value)
    if threshold.unit == "size":
        return float(parse_size(value if isinstance(value, str) else int(value)))
    if isinstance(value, str):
        value = float(value)
    return float(value)


def check_overrides(overrides: Mapping[str, str | int | float]) -> None:
    """Raise ValueError ``"<name>: <problem>"`` for the first unknown name or bad value (config validation)."""
    for name, value in overrides.items():
        threshold = BY_NAME.get(name)
        if threshold is None:
            raise ValueError(f"{name}: no such threshold (known: {', '.join(sorted(BY_NAME))})")
        try:
            parsed = _parse(threshold, value)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
        if parsed < 0:
            raise ValueError(f"{name}: must not be negative")


def resolve(overrides: Mapping[str, str | int | float], *, source: str = "config") -> dict[str, float]:
    """Every threshold in base units (seconds, bytes, percent, count), with ``overrides`` applied.

    Raises ConfigError naming ``doctor.thresholds.<name>`` for an unknown name or a bad value.
    """
    out = {t.name: _parse(t, t.default) for t in THRESHOLDS}
    for name, value in overrides.items():
        threshold = BY_NAME.get(name)
        if threshold is None:
            known = ", ".join(sorted(BY_NAME))
            raise ConfigError(f"{source}: doctor.thresholds.{name}: no such threshold (known: {known})")
        try:
            out[name] = _parse(threshold, value)
        except ValueError as exc:
            raise ConfigError(f"{source}: doctor.thresholds.{name}: {exc}") from None
        if out[name] < 0:
            raise ConfigError(f"{source}: doctor.thresholds.{name}: must not be negative")
    return out
