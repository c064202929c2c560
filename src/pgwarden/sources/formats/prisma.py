"""Prisma Migrate: ``prisma/migrations/<timestamp>_<name>/migration.sql`` and ``migration_lock.toml``.

Prisma's checksum is the sha256 (hex) of ``migration.sql``; Prisma has no down migrations, so each
is irreversible. The script runs as one multi-statement query (one implicit transaction).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

from pgwarden.errors import MigrationFileError
from pgwarden.sources.formats._common import irreversible, migration, read_text
from pgwarden.sources.model import MigrationFile

FOLDER = re.compile(r"^(?P<version>\d+)_(?P<name>.+)$")


def checksum(path: Path) -> str:
    """Prisma's checksum of a migration file: sha256 of its bytes, hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read(directory: Path) -> list[MigrationFile]:
    """Every ``<ts>_<name>/migration.sql`` under ``directory`` (the ``prisma/migrations`` folder)."""
    lock = directory / "migration_lock.toml"
    if lock.is_file():
        try:
            provider = tomllib.loads(read_text(lock)).get("provider")
        except tomllib.TOMLDecodeError as exc:
            raise MigrationFileError(f"{lock}: {exc}") from None
        if provider not in (None, "postgresql", "postgres"):
            raise MigrationFileError(f"{lock}: provider {provider!r}; pgwarden runs PostgreSQL migrations only")
    out = []
    for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
        match = FOLDER.match(folder.name)
        if not match:
            raise MigrationFileError(f"{folder}: not a Prisma migration folder (<timestamp>_<name>)")
        script = folder / "migration.sql"
        if not script.is_file():
            raise MigrationFileError(f"{folder}: no migration.sql in this Prisma migration folder")
        out.append(
            migration(
                match["version"], match["name"], script, read_text(script), irreversible(), checksum=checksum(script)
            )
        )
    return out
