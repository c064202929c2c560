"""Finding and listing published backups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pgwarden.backup.ages import expected_max_age
from pgwarden.backup.manifest import Manifest
from pgwarden.backup.settings import load
from pgwarden.backup.storage import Storage, storage_for
from pgwarden.config import Config
from pgwarden.errors import BadInput


@dataclass
class BackupInfo:
    """One line of ``backup list``."""

    id: str
    env: str
    database: str
    created_at: datetime
    age_seconds: float
    size: int
    format: str
    compression: str
    migration_version: str | None
    verified: str  # "ok", "failed" or "never"
    verified_at: datetime | None
    reason: str | None
    location: str
    kind: str = "full"
    tables: list[str] | None = None
    encrypted: bool = False

    @property
    def counts_as_full(self) -> bool:
        """Whether this backup fills retention slots and counts for backup age (verified and full)."""
        return self.kind == "full" and self.verified == "ok"


def state_of(manifest: Manifest) -> str:
    """``ok``, ``failed`` or ``never``: the outcome of the last verification."""
    if manifest.verification is None:
        return "never"
    return "ok" if manifest.verification.ok else "failed"


def manifests(storage: Storage, env: str) -> list[Manifest]:
    """Every published backup of ``env``, newest first (unreadable manifests are skipped)."""
    out: list[Manifest] = []
    for backup_id in storage.list(env):
        try:
            out.append(Manifest.from_dict(storage.read_manifest(env, backup_id)))
        except (BadInput, KeyError, TypeError, ValueError):
            continue
    return sorted(out, key=lambda m: (m.started_at, m.id), reverse=True)


def list_backups(config: Config, env: str | None = None, *, now: datetime | None = None) -> list[BackupInfo]:
    """The usable backups of ``env`` (default env when None), newest first; staging folders never appear."""
    name = config.env_name(env)
    storage = storage_for(config)
    moment = now or datetime.now(UTC)
    return [info_of(m, storage, moment) for m in manifests(storage, name)]


def info_of(m: Manifest, storage: Storage, now: datetime) -> BackupInfo:
    """The ``backup list`` line of one manifest."""
    return BackupInfo(
        m.id,
        m.env,
        m.database,
        m.started_at,
        (now - m.started_at).total_seconds(),
        m.size,
        m.format,
        m.compression,
        m.migration_version,
        state_of(m),
        m.verification.at if m.verification else None,
        m.reason,
        storage.location(m.env, m.id),
        m.kind,
        m.only_tables,
        m.encryption is not None,
    )


def newest_verified_full(config: Config, env: str | None = None, *, now: datetime | None = None) -> BackupInfo | None:
    """The newest verified ``full`` backup of ``env`` (partial, archive and safety ones never count)."""
    return next((b for b in list_backups(config, env, now=now) if b.counts_as_full), None)


def max_age_seconds(config: Config) -> float:
    """How old the newest verified full backup may be under the configured retention policy."""
    return expected_max_age(load(config).keep)


def find(config: Config, backup_id: str, env: str | None = None) -> tuple[Storage, Manifest]:
    """The backup ``backup_id``: looked up in ``env`` first, then in every environment's folder."""
    storage = storage_for(config)
    order = ([env] if env else []) + [e for e in storage.envs() if e != env]
    for name in order:
        if backup_id in storage.list(name):
            return storage, Manifest.from_dict(storage.read_manifest(name, backup_id))
    raise BadInput(f"no backup {backup_id!r} in {storage.describe()}", hint="see `pgwarden backup list`")
