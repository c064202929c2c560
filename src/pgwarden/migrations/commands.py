"""Compatibility re-export: the migration commands live in :mod:`pgwarden.migrations.api`.

Import from ``pgwarden.migrations.api`` in new code; this module goes away once no caller uses it.
"""

from pgwarden.migrations.api import (
    RUNNER_LOCK,
    BaselineResult,
    HistoryEntry,
    KeptProgress,
    MigrateResult,
    RepairResult,
    StatusResult,
    baseline,
    down,
    history_of,
    new,
    pending_files,
    repair,
    status,
    up,
)

__all__ = [
    "RUNNER_LOCK",
    "BaselineResult",
    "HistoryEntry",
    "KeptProgress",
    "MigrateResult",
    "RepairResult",
    "StatusResult",
    "baseline",
    "down",
    "history_of",
    "new",
    "pending_files",
    "repair",
    "status",
    "up",
]
