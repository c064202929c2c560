"""The public functions of backups (what the CLI, ``deploy`` and ``demo`` call).

- :func:`create` dumps an environment into a new, published backup with its manifest.
- :func:`list_backups` lists the usable backups, newest first.
- :func:`verify` checks checksums and restores into a scratch database (``ok`` False on a mismatch).
- :func:`restore` restores in place (protected: ``yes`` and a safety backup) or into a new database.
- :func:`prune` applies the keep = {daily, weekly, monthly} policy.
"""

from __future__ import annotations

from pgwarden.backup.catalog import BackupInfo, list_backups
from pgwarden.backup.create import BackupResult, create
from pgwarden.backup.manifest import Manifest, TableInfo
from pgwarden.backup.restore import RestoreResult, restore
from pgwarden.backup.retention import Candidate, Decision, PruneResult, plan, prune
from pgwarden.backup.runner import DumpProgress, ToolFailed
from pgwarden.backup.verify import TableCheck, VerifyResult, verify

__all__ = [
    "BackupInfo",
    "BackupResult",
    "Candidate",
    "Decision",
    "DumpProgress",
    "Manifest",
    "PruneResult",
    "RestoreResult",
    "TableCheck",
    "TableInfo",
    "ToolFailed",
    "VerifyResult",
    "create",
    "list_backups",
    "plan",
    "prune",
    "restore",
    "verify",
]
