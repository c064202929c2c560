"""A verified backup before a schema change: what ``deploy`` runs and what the safety policy installs.

Guarantees: returns only after the backup was published and restored into a
scratch database with matching checksums and row counts; otherwise raises
(ProblemsFound, exit 1) and the database was not touched.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pgwarden.config import Config
from pgwarden.errors import ProblemsFound


@dataclass(frozen=True)
class VerifiedBackup:
    """A backup that was taken and verified restorable."""

    id: str
    path: str  # a local folder or an s3:// address
    create_seconds: float
    verify_seconds: float


def verified_backup(config: Config, env: str, *, reason: str = "before deploy") -> VerifiedBackup:
    """Take a full backup of ``env`` and verify it by restoring it into a scratch database."""
    from pgwarden.backup import api

    started = time.monotonic()
    created = api.create(config, env, reason=reason)
    made = time.monotonic()
    result = api.verify(config, created.id, env)
    if not result.ok:
        problems = "; ".join(str(p) for p in result.problems) or "verification failed"
        raise ProblemsFound(
            f"backup {created.id} did not verify: {problems}; nothing was changed",
            hint=f"fix the backup problem first (`pgwarden backup verify {created.id}`); the database was not touched",
        )
    return VerifiedBackup(str(created.id), created.location, made - started, time.monotonic() - made)


def policy_backup_step(config: Config, env: str) -> str:
    """The backup step installed into :mod:`pgwarden.policy`: a verified backup before a schema change."""
    return verified_backup(config, env, reason="before a schema change on a protected database").id
