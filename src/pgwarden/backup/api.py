"""The public functions of backups (what the CLI, ``deploy`` and ``demo`` call).

- :func:`create` dumps an environment into a new, published backup with its manifest.
- :func:`list_backups` lists the usable backups, newest first.
- :func:`verify` checks checksums and restores into a scratch database (``ok`` False on a mismatch).
- :func:`restore` restores in place (protected: ``yes`` and a safety backup) or into a new database.
- :func:`prune` keeps each kind by its rule (verified full backups fill daily/weekly/monthly slots).
- :func:`archive_partition` retires a partition (detach, dump, verify, drop); :func:`restore_archive`
  brings it back and re-attaches it.
- :func:`newest_verified_full` and :func:`max_age_seconds`: the backup-age rule doctor and metrics use.

This module is the single entry point of the package: the CLI, ``deploy``, ``doctor`` and
``partition`` call only these functions.
"""

from __future__ import annotations

from pgwarden.backup.ages import DAILY_MAX_AGE, MONTHLY_MAX_AGE, WEEKLY_MAX_AGE
from pgwarden.backup.archive import (
    ArchiveResult,
    RestoreArchiveResult,
    archive_partition,
    find_archive,
    restore_archive,
)
from pgwarden.backup.catalog import BackupInfo, list_backups, max_age_seconds, newest_verified_full
from pgwarden.backup.create import BackupResult, DumpRequest, create
from pgwarden.backup.crypto import DecryptionFailed
from pgwarden.backup.manifest import KINDS, Kind, Manifest, TableInfo
from pgwarden.backup.restore import RestoreResult, restore
from pgwarden.backup.retention import Candidate, Decision, Policy, PruneResult, plan, prune
from pgwarden.backup.runner import DumpProgress, ToolFailed
from pgwarden.backup.settings import BackupSettings, Keep, ShortKeep
from pgwarden.backup.verify import TableCheck, VerifyResult, verify

__all__ = [
    "ArchiveResult",
    "RestoreArchiveResult",
    "archive_partition",
    "find_archive",
    "restore_archive",
    "DAILY_MAX_AGE",
    "KINDS",
    "MONTHLY_MAX_AGE",
    "WEEKLY_MAX_AGE",
    "BackupInfo",
    "BackupResult",
    "BackupSettings",
    "Candidate",
    "Decision",
    "DecryptionFailed",
    "DumpProgress",
    "DumpRequest",
    "Keep",
    "Kind",
    "Manifest",
    "Policy",
    "PruneResult",
    "ShortKeep",
    "RestoreResult",
    "TableCheck",
    "TableInfo",
    "ToolFailed",
    "VerifyResult",
    "create",
    "list_backups",
    "max_age_seconds",
    "newest_verified_full",
    "plan",
    "prune",
    "restore",
    "verify",
]
