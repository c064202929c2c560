"""``pgwarden metrics``: key figures in the Prometheus text exposition format (version 0.0.4).

Guarantees: one read-only query (plus the sequence query) with the doctor's timeouts; every metric
has HELP and TYPE lines and a ``database`` label; label values are escaped; with ``with_checks`` each
doctor check adds ``pgwarden_doctor_check_status`` (0 ok, 1 warn, 2 fail, 3 error).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pgwarden.db import Intent, connect, resolve_target
from pgwarden.doctor.model import STATUS_ORDER
from pgwarden.doctor.registry import load_sql
from pgwarden.doctor.thresholds import resolve
from pgwarden.units import postgres_duration

if TYPE_CHECKING:
    from pgwarden.config import Config


@dataclass
class Metric:
    """One gauge or counter with its samples (labels, value)."""

    name: str
    help: str
    kind: str = "gauge"
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)


_FIGURES: tuple[tuple[str, str, str, str], ...] = (
    ("database_size_bytes", "pg_database_size_bytes", "gauge", "Size of the database on disk."),
    ("max_connections", "pg_max_connections", "gauge", "max_connections setting."),
    ("connections", "pg_connections", "gauge", "Client connections to the server."),
    ("active", "pg_active_queries", "gauge", "Statements running in this database."),
    ("idle_in_transaction", "pg_idle_in_transaction_sessions", "gauge", "Sessions idle in a transaction."),
    ("waiting_for_lock", "pg_lock_waiting_sessions", "gauge", "Sessions waiting for a lock."),
    ("longest_transaction_seconds", "pg_longest_transaction_seconds", "gauge", "Age of the oldest transaction."),
    ("xid_age", "pg_xid_age", "gauge", "Oldest datfrozenxid age of the server (wraparound at 2^31)."),
    ("dead_tuples", "pg_dead_tuples", "gauge", "Dead rows in user tables."),
    ("live_tuples", "pg_live_tuples", "gauge", "Live rows in user tables."),
    ("heap_blks_hit", "pg_heap_blocks_hit_total", "counter", "Table blocks found in shared_buffers."),
    ("heap_blks_read", "pg_heap_blocks_read_total", "counter", "Table blocks read from disk or OS cache."),
    ("xact_commit", "pg_transactions_committed_total", "counter", "Committed transactions."),
    ("xact_rollback", "pg_transactions_rolled_back_total", "counter", "Rolled back transactions."),
    ("deadlocks", "pg_deadlocks_total", "counter", "Deadlocks detected."),
    ("invalid_indexes", "pg_invalid_indexes", "gauge", "INVALID indexes (failed concurrent builds)."),
)


def collect(config: Config, env: str | None = None, *, with_checks: bool = False) -> list[Metric]:
    """The metrics of ``env``'s database (see module guarantees)."""
    from psycopg.rows import dict_row

    from pgwarden.backup.api import newest_verified_full
    from pgwarden.doctor.checks.maintenance import sequence_usage

    thresholds = resolve(config.settings.doctor.thresholds, source=str(config.source))
    target = resolve_target(config, env, intent=Intent.READ)
    with connect(target.url, application_name="pgwarden:metrics") as conn:
        conn.execute(
            "SELECT set_config('statement_timeout', %s, false), set_config('lock_timeout', %s, false)",
            [postgres_duration(thresholds["statement_timeout"]), postgres_duration(thresholds["lock_timeout"])],
        )
        with conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(load_sql("metrics"), {}).fetchone() or {}
            sequences = cur.execute(load_sql("sequences"), {}).fetchall()
    labels = {"database": str(row.get("database", "")), "env": target.env_name}
    out = [Metric("pgwarden_up", "1 when pgwarden could query the database.", samples=[(labels, 1.0)])]
    for column, name, kind, text in _FIGURES:
        out.append(Metric(name, text, kind, [(labels, float(row.get(column) or 0))]))
    worst = max((sequence_usage(s)[0] for s in sequences), default=0.0)
    out.append(
        Metric(
            "pg_sequence_max_used_ratio",
            "Largest share of its range any sequence has used (0-1).",
            samples=[(labels, round(worst / 100, 6))],
        )
    )
    newest = newest_verified_full(config, target.env_name)
    if newest is not None:
        age = newest.age_seconds
        out.append(
            Metric(
                "pgwarden_last_verified_backup_age_seconds",
                "Age of the newest verified backup.",
                samples=[(labels, round(age, 1))],
            )
        )
    if with_checks:
        from pgwarden.doctor.runner import run_doctor

        report = run_doctor(config, env)
        out.append(
            Metric(
                "pgwarden_doctor_check_status",
                "Doctor check status: 0 ok, 1 warn, 2 fail, 3 error.",
                samples=[({**labels, "check": r.name}, float(STATUS_ORDER[r.status])) for r in report.checks],
            )
        )
    return out


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(metrics: list[Metric]) -> str:
    """The Prometheus text format of ``metrics`` (ends with a newline)."""
    lines: list[str] = []
    for metric in metrics:
        lines.append(f"# HELP {metric.name} {metric.help}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        for labels, value in metric.samples:
            text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
            number = repr(float(value)) if value != int(value) else str(int(value))
            lines.append(f"{metric.name}{{{text}}} {number}")
    return "\n".join(lines) + "\n"
