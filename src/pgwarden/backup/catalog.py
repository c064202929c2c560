"""Finding and listing published backups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pgwarden.backup.manifest import Manifest
from pgwarden.backup.storage import LocalStorage, storage_for
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
    path: Path


def state_of(manifest: Manifest) -> str:
    """``ok``, ``failed`` or ``never``: the outcome of the last verification."""
    if manifest.verification is None:
        return "never"
    return "ok" if manifest.verification.ok else "failed"


def manifests(storage: LocalStorage, env: str) -> list[Manifest]:
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
    return [
        BackupInfo(
            m.id,
            m.env,
            m.database,
            m.started_at,
            (moment - m.started_at).total_seconds(),
            m.size,
            m.format,
            m.compression,
            m.migration_version,
            state_of(m),
            m.verification.at if m.verification else None,
            m.reason,
            storage.get(name, m.id),
        )
        for m in manifests(storage, name)
    ]


def find(config: Config, backup_id: str, env: str | None = None) -> tuple[LocalStorage, Manifest, Path]:
    """The backup ``backup_id``: looked up in ``env`` first, then in every environment's folder."""
    storage = storage_for(config)
    order = ([env] if env else []) + [e for e in storage.envs() if e != env]
    for name in order:
        if backup_id in storage.list(name):
            return (
                storage,
                Manifest.from_dict(storage.read_manifest(name, backup_id)),
                storage.get(name, backup_id),
            )
    raise BadInput(f"no backup {backup_id!r} in {storage.root}", hint="see `pgwarden backup list`")
