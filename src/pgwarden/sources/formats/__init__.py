"""Other tools' migration formats, read as they are into pgwarden's in-memory migrations.

| format          | files                                                        | history table (theirs)          |
|-----------------|--------------------------------------------------------------|---------------------------------|
| pgwarden        | ``<version>_<name>.sql`` with ``-- migrate:up/down``         | ``pgwarden.migrations``         |
| dbmate          | the same markers, usually in ``db/migrations``               | ``schema_migrations(version)``  |
| golang-migrate  | ``<version>_<name>.up.sql`` + ``.down.sql``      | ``schema_migrations(version, dirty)`` |
| prisma          | ``prisma/migrations/<ts>_<name>/migration.sql``               | ``_prisma_migrations``          |
| drizzle         | ``drizzle/<tag>.sql`` listed in ``meta/_journal.json``       | ``drizzle.__drizzle_migrations``|
| flyway          | ``V<ver>__<desc>.sql``, undo ``U<ver>__<desc>.sql``           | ``flyway_schema_history``       |

Each reader raises MigrationFileError (exit 2) naming the file and the problem; nothing is
touched before every file is read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pgwarden.errors import MigrationFileError
from pgwarden.sources.formats import alembic, drizzle, flyway, golang_migrate, prisma
from pgwarden.sources.formats.detect import Detected, detect
from pgwarden.sources.model import MigrationFile
from pgwarden.sources.native import discover

FORMATS = ("pgwarden", "dbmate", "golang-migrate", "prisma", "drizzle", "flyway", "alembic")

_READERS: dict[str, Callable[[Path], list[MigrationFile]]] = {
    "pgwarden": discover,
    "dbmate": discover,
    "golang-migrate": golang_migrate.read,
    "prisma": prisma.read,
    "drizzle": drizzle.read,
    "flyway": flyway.read,
    "alembic": alembic.read,
}


def read(format_name: str, directory: Path) -> list[MigrationFile]:
    """Every migration of ``directory`` in ``format_name``, ordered by version."""
    reader = _READERS.get(format_name)
    if reader is None:
        raise MigrationFileError(f"migrations_format {format_name!r}: unknown (known: {', '.join(FORMATS)})")
    migrations = reader(directory)
    migrations.sort(key=lambda m: m.sort_key)
    seen: dict[str, MigrationFile] = {}
    for migration in migrations:
        if migration.version in seen:
            raise MigrationFileError(
                f"{migration.path}: version {migration.version} also used by {seen[migration.version].path}"
            )
        seen[migration.version] = migration
    return migrations


__all__ = ["FORMATS", "Detected", "detect", "read"]
