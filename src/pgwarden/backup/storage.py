"""Where backups live: one interface, a local folder and (see :mod:`pgwarden.backup.s3store`) an S3 store.

A backup is a folder of files plus ``manifest.json``, addressed by (env, id).
It is written in a local staging folder first and published with :meth:`Storage.publish`
only once complete, so a reader never sees a half-written backup: a remote store
uploads the manifest last, and only ids with a manifest are listed.

Guarantees of :class:`LocalStorage`: staging folders are ``<dir>/<env>/.incomplete-<id>/``
and publishing is one ``rename``; folders are 0700 and files 0600; a staging
folder is locked (flock) while its writer or its pg_dump lives, and only
unlocked ones are cleaned up.
"""

from __future__ import annotations

import builtins
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pgwarden.errors import BadInput

MANIFEST = "manifest.json"
INCOMPLETE = ".incomplete-"
_LOCK = ".lock"


@dataclass
class Staging:
    """A private local folder being filled with one backup; ``lock_fd`` stays open while it is written."""

    env: str
    id: str
    path: Path
    lock_fd: int


class Storage(Protocol):
    """The operations every backup store offers."""

    def stage(self, env: str, backup_id: str) -> Staging:
        """A new, locked, private local folder to write the backup into."""

    def publish(self, staging: Staging) -> str:
        """Publish a complete staging folder (manifest last); returns where it now is."""

    def open_local(self, env: str, backup_id: str) -> AbstractContextManager[Path]:
        """A local folder holding the published backup's files while the context lasts."""

    def location(self, env: str, backup_id: str) -> str:
        """Where a published backup is (a path or an s3:// address)."""

    def describe(self) -> str:
        """The store in a few words (for messages)."""

    def list(self, env: str) -> builtins.list[str]:
        """Ids of the published backups of ``env`` (never staging ones)."""

    def delete(self, env: str, backup_id: str) -> None:
        """Remove a published backup (it stops being listed before any file goes)."""

    def envs(self) -> builtins.list[str]:
        """Environments that have a backup folder."""

    def read_manifest(self, env: str, backup_id: str) -> dict[str, Any]:
        """The parsed manifest of a published backup."""

    def write_manifest(self, env: str, backup_id: str, manifest: dict[str, Any]) -> None:
        """Replace the manifest of a published backup atomically (verification results)."""

    def discard(self, staging: Staging) -> None:
        """Remove a staging folder that will not be published."""

    def clean_incomplete(self, env: str) -> builtins.list[str]:
        """Remove abandoned staging folders or uploads (their writer died); returns their names."""


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + rename), readable by the owner only."""
    temp = path.with_name(f".{path.name}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)


class LocalStorage:
    """Backups under ``<root>/<env>/<id>/`` on a local or mounted file system."""

    def __init__(self, root: Path):
        self.root = root

    def _env_dir(self, env: str) -> Path:
        return self.root / env

    def _path(self, env: str, backup_id: str) -> Path:
        if not backup_id or "/" in backup_id or backup_id.startswith("."):
            raise BadInput(f"invalid backup id {backup_id!r}")
        return self._env_dir(env) / backup_id

    def stage(self, env: str, backup_id: str) -> Staging:
        _private_dir(self.root)
        _private_dir(self._env_dir(env))
        path = self._env_dir(env) / f"{INCOMPLETE}{backup_id}"
        path.mkdir(mode=0o700)
        fd = os.open(path / _LOCK, os.O_WRONLY | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return Staging(env, backup_id, path, fd)

    def publish(self, staging: Staging) -> str:
        return str(self.put(staging))

    def put(self, staging: Staging) -> Path:
        if not (staging.path / MANIFEST).is_file():
            raise BadInput(f"{staging.path}: no {MANIFEST}; refusing to publish an incomplete backup")
        for item in staging.path.rglob("*"):
            item.chmod(0o700 if item.is_dir() else 0o600)
        (staging.path / _LOCK).unlink(missing_ok=True)
        final = self._path(staging.env, staging.id)
        os.rename(staging.path, final)
        os.close(staging.lock_fd)
        dir_fd = os.open(self._env_dir(staging.env), os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return final

    def get(self, env: str, backup_id: str) -> Path:
        path = self._path(env, backup_id)
        if not (path / MANIFEST).is_file():
            raise BadInput(
                f"no backup {backup_id} for environment {env} in {self._env_dir(env)}",
                hint="see `pgwarden backup list`",
            )
        return path

    @contextmanager
    def _open(self, env: str, backup_id: str) -> Iterator[Path]:
        yield self.get(env, backup_id)

    def open_local(self, env: str, backup_id: str) -> AbstractContextManager[Path]:
        return self._open(env, backup_id)

    def location(self, env: str, backup_id: str) -> str:
        return str(self._path(env, backup_id))

    def describe(self) -> str:
        return str(self.root)

    def has(self, env: str, backup_id: str) -> bool:
        """Whether a published local copy exists."""
        return (self._path(env, backup_id) / MANIFEST).is_file()

    def list(self, env: str) -> builtins.list[str]:
        folder = self._env_dir(env)
        if not folder.is_dir():
            return []
        return sorted(
            p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file()
        )

    def delete(self, env: str, backup_id: str) -> None:
        path = self._path(env, backup_id)
        # rename first so a crash half-way never leaves a published backup with missing files
        doomed = path.with_name(f"{INCOMPLETE}deleting-{backup_id}")
        os.rename(path, doomed)
        shutil.rmtree(doomed)

    def envs(self) -> builtins.list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def read_manifest(self, env: str, backup_id: str) -> dict[str, Any]:
        path = self.get(env, backup_id) / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BadInput(f"{path}: unreadable manifest: {exc}") from None
        if not isinstance(data, dict):
            raise BadInput(f"{path}: manifest is not a JSON object")
        return data

    def write_manifest(self, env: str, backup_id: str, manifest: dict[str, Any]) -> None:
        write_private(self.get(env, backup_id) / MANIFEST, _dump(manifest))

    def discard(self, staging: Staging) -> None:
        shutil.rmtree(staging.path, ignore_errors=True)
        with suppress(OSError):
            os.close(staging.lock_fd)

    def clean_incomplete(self, env: str) -> builtins.list[str]:
        folder = self._env_dir(env)
        removed: list[str] = []
        if not folder.is_dir():
            return removed
        for path in sorted(folder.glob(f"{INCOMPLETE}*")):
            with _try_lock(path / _LOCK) as free:
                if free:
                    shutil.rmtree(path, ignore_errors=True)
                    removed.append(path.name)
        return removed


def _dump(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n").encode()


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The manifest as written on disk."""
    return _dump(manifest)


@contextmanager
def _try_lock(lock_file: Path) -> Iterator[bool]:
    """Whether nobody holds the staging lock (True also when the lock file is gone)."""
    try:
        fd = os.open(lock_file, os.O_RDONLY)
    except FileNotFoundError:
        yield True
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def storage_for(config: object) -> Storage:
    """The configured store: local folders under ``[backup] dir``, or ``[backup] store`` (s3://)."""
    from pgwarden.backup.settings import backup_dir, load
    from pgwarden.config import Config

    assert isinstance(config, Config)
    settings = load(config)
    local = LocalStorage(backup_dir(config))
    if settings.store is None:
        return local
    from pgwarden.backup.s3store import S3Storage

    return S3Storage(settings.store, local, keep_local=settings.keep_local)
