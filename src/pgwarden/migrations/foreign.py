"""Other tools' history tables: read them, and write them as the tool itself would.

A project that keeps its Prisma, Drizzle, dbmate, golang-migrate or Flyway files also keeps that
tool's history table. pgwarden reads it (what the tool applied counts as applied, a failed row as
failed) and, in the same transaction as each migration it applies (or right after a
``transaction:false`` one), writes the row that tool would have written, so the team can go back to
its own tool at any time. pgwarden's own ``pgwarden.migrations`` is kept as well (it carries
what exactly-once and resume need).

| tool           | table                                   | a migration counts as applied when                   |
|----------------|-----------------------------------------|------------------------------------------------------|
| dbmate         | ``schema_migrations(version)``          | its version is in the table                          |
| golang-migrate | ``schema_migrations(version, dirty)``   | its version <= the one row's version (dirty: failed) |
| prisma         | ``_prisma_migrations``                  | finished_at set, not rolled back (NULL: failed)      |
| drizzle        | ``drizzle.__drizzle_migrations``        | its journal ``when`` <= the newest ``created_at``    |
| flyway         | ``flyway_schema_history``               | its newest row is ``SQL`` and success (false: failed) |
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psycopg import sql

from pgwarden.migrations.history import AppliedMigration
from pgwarden.sources import MigrationFile, version_key

if TYPE_CHECKING:
    import psycopg

    from pgwarden.config import Config


@dataclass(frozen=True)
class ForeignRow:
    """What the tool's table says of one version."""

    version: str
    status: str  # "applied" or "failed"
    applied_at: datetime | None = None


class Adapter(ABC):
    """One tool's history table; subclasses say how to read and write it."""

    tool = ""
    table = ""

    def __init__(self, files: list[MigrationFile], directory: Path):
        self.files = {f.version: f for f in files}
        self.directory = directory

    def exists(self, conn: psycopg.Connection[Any]) -> bool:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (self.table,)).fetchone()
        return bool(row and row[0])

    def rows(self, conn: psycopg.Connection[Any]) -> dict[str, ForeignRow]:
        """Every version the table knows (empty when the table does not exist)."""
        return self._read(conn) if self.exists(conn) else {}

    @abstractmethod
    def _read(self, conn: psycopg.Connection[Any]) -> dict[str, ForeignRow]:
        """Every version the existing table knows."""

    @abstractmethod
    def ensure_sql(self) -> sql.Composable:
        """Create the table as the tool does, when missing."""

    @abstractmethod
    def applied_sql(self, migration: MigrationFile, duration_ms: int | sql.Composable) -> sql.Composable:
        """The row(s) the tool writes after applying ``migration``."""

    @abstractmethod
    def reverted_sql(self, migration: MigrationFile, previous: str | None) -> sql.Composable:
        """What the tool's table holds after ``migration`` was reverted (``previous``: the version now current)."""


def _single_row(table: str, columns: tuple[str, ...], values: tuple[object, ...] | None) -> sql.Composable:
    """A table that holds only the current version (golang-migrate, Alembic): emptied, then ``values`` if any."""
    empty = sql.SQL("DELETE FROM {}").format(sql.Identifier(table))
    if values is None:
        return empty
    return sql.SQL("{}; INSERT INTO {} ({}) VALUES ({})").format(
        empty,
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(map(sql.Literal, values)),
    )


class Dbmate(Adapter):
    tool, table = "dbmate", "schema_migrations"

    def _read(self, conn: psycopg.Connection[Any]) -> dict[str, ForeignRow]:
        return {str(v): ForeignRow(str(v), "applied") for (v,) in conn.execute("SELECT version FROM schema_migrations")}

    def ensure_sql(self) -> sql.Composable:
        return sql.SQL("CREATE TABLE IF NOT EXISTS schema_migrations (version varchar(128) PRIMARY KEY)")

    def applied_sql(self, migration: MigrationFile, duration_ms: int | sql.Composable) -> sql.Composable:
        return sql.SQL("INSERT INTO schema_migrations (version) VALUES ({})").format(sql.Literal(migration.version))

    def reverted_sql(self, migration: MigrationFile, previous: str | None) -> sql.Composable:
        return sql.SQL("DELETE FROM schema_migrations WHERE version = {}").format(sql.Literal(migration.version))


class GolangMigrate(Adapter):
    tool, table = "golang-migrate", "schema_migrations"

    def _read(self, conn: psycopg.Connection[Any]) -> dict[str, ForeignRow]:
        row = conn.execute("SELECT version, dirty FROM schema_migrations LIMIT 1").fetchone()
        if row is None:
            return {}
        current, dirty = int(row[0]), bool(row[1])
        out = {}
        for version in self.files:  # versions are numbers to golang-migrate: "0003" is 3
            if int(version) < current:
                out[version] = ForeignRow(version, "applied")
            elif int(version) == current:
                out[version] = ForeignRow(version, "failed" if dirty else "applied")
        return out

    def ensure_sql(self) -> sql.Composable:
        return sql.SQL(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)"
        )

    def applied_sql(self, migration: MigrationFile, duration_ms: int | sql.Composable) -> sql.Composable:
        return _single_row("schema_migrations", ("version", "dirty"), (int(migration.version), False))

    def reverted_sql(self, migration: MigrationFile, previous: str | None) -> sql.Composable:
        return _single_row("schema_migrations", ("version", "dirty"), (int(previous), False) if previous else None)


class Prisma(Adapter):
    tool, table = "prisma", "_prisma_migrations"

    def _read(self, conn: psycopg.Connection[Any]) -> dict[str, ForeignRow]:
        out: dict[str, ForeignRow] = {}
        rows = conn.execute(
            "SELECT migration_name, finished_at, started_at FROM _prisma_migrations "
            "WHERE rolled_back_at IS NULL ORDER BY started_at"
        ).fetchall()
        for name, finished_at, started_at in rows:
            version = str(name).split("_", 1)[0]
            out[version] = ForeignRow(version, "applied" if finished_at else "failed", finished_at or started_at)
        return out

    def ensure_sql(self) -> sql.Composable:
        return sql.SQL("""CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                  VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum            VARCHAR(64) NOT NULL,
    finished_at         TIMESTAMPTZ,
    migration_name      VARCHAR(255) NOT NULL,
    logs                TEXT,
    rolled_back_at      TIMESTAMPTZ,
    started_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count INTEGER NOT NULL DEFAULT 0
)""")

    def applied_sql(self, migration: MigrationFile, duration_ms: int | sql.Composable) -> sql.Composable:
        return sql.SQL(
            "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at, "
            "applied_steps_count) VALUES (gen_random_uuid()::text, {}, clock_timestamp(), {}, now(), 1)"
        ).format(sql.Literal(migration.checksum), sql.Literal(migration.path.parent.name))

    def reverted_sql(self, migration: MigrationFile, previous: str | None) -> sql.Composable:
        return sql.SQL(
            "UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = {} AND rolled_back_at IS NULL"
        ).format(sql.Literal(migration.path.parent.name))


class Drizzle(Adapter):
    tool, table = "drizzle", "drizzle.__drizzle_migrations"

    def _when(self) -> dict[str, int]:
        from pgwarden.sources.formats.drizzle import TAG, journal

        out = {}
        for entry in journal(self.directory):
            match = TAG.match(entry.tag)
            out[match["version"] if match else str(entry.idx)] = entry.when
        return out

    def _read(self, conn: psycopg.Connection[Any]) -> dict[str, ForeignRow]:
        row = conn.execute("SELECT max(created_at) FROM drizzle.__drizzle_migrations").fetchone()
        newest = row[0] if row else None
        if newest is None:
            return {}
        return {v: ForeignRow(v, "applied") for v, when in self._when().items() if when <= int(newest)}

    def ensure_sql(self) -> sql.Composable:
        return sql.SQL(
            "CREATE SCHEMA IF NOT EXISTS drizzle; CREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations "
            "(id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)"
        )

    def applied_sql(self, migration: MigrationFile, duration_ms: int | sql.Composable) -> sql.Composable:
        return sql.SQL("INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ({}, {})").format(
            sql.Literal(migration.checksum), sql.Literal(self._when()[migration.version])
        )

    def reverted_sql(self, migration: MigrationFile, previous: str | None) -> sql.Composable:
        return sql.SQL("DELETE FROM drizzle.__drizzle_migrations WHERE hash = {}").format(
            sql.Literal(migration.checksum)
        )


class Flyway(Adapter):
    tool, table = "flyway", "flyway_schema_history"

    def _read(self, conn: psycopg.Connection[Any]) -> dict[str, ForeignRow]:
        out: dict[str, ForeignRow] = {}
        rows = conn.execute(
            "SELECT version, type, success, installed_on FROM flyway_schema_history "
            "WHERE version IS NOT NULL ORDER BY installed_rank"
        ).fetchall()
        for version, kind, success, installed_on in rows:
            if kind == "UNDO_SQL" and success:
                out.pop(str(version), None)
            elif kind in ("SQL", "BASELINE"):
                out[str(version)] = ForeignRow(str(version), "applied" if success else "failed", installed_on)
        return out

    def ensure_sql(self) -> sql.Composable:
        return sql.SQL("""CREATE TABLE IF NOT EXISTS flyway_schema_history (
    installed_rank INT NOT NULL PRIMARY KEY,
    version        VARCHAR(50),
    description    VARCHAR(200) NOT NULL,
    type           VARCHAR(20) NOT NULL,
    script         VARCHAR(1000) NOT NULL,
    checksum       INTEGER,
    installed_by   VARCHAR(100) NOT NULL,
    installed_on   TIMESTAMP NOT NULL DEFAULT now(),
    execution_time INTEGER NOT NULL,
    success        BOOLEAN NOT NULL
)""")

    def _row(
        self, migration: MigrationFile, kind: str, script: str, checksum: int | None, duration_ms: int | sql.Composable
    ) -> sql.Composable:
        return sql.SQL(
            "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, "
            "installed_by, execution_time, success) SELECT COALESCE(max(installed_rank), 0) + 1, {}, {}, {}, {}, {}, "
            "current_user, {}, true FROM flyway_schema_history"
        ).format(
            sql.Literal(migration.version),
            sql.Literal(migration.name.replace("_", " ")),
            sql.Literal(kind),
            sql.Literal(script),
            sql.Literal(checksum),
            duration_ms if isinstance(duration_ms, sql.Composable) else sql.Literal(duration_ms),
        )

    def applied_sql(self, migration: MigrationFile, duration_ms: int | sql.Composable) -> sql.Composable:
        return self._row(migration, "SQL", migration.path.name, int(migration.checksum), duration_ms)

    def reverted_sql(self, migration: MigrationFile, previous: str | None) -> sql.Composable:
        undo = re.sub(r"^V", "U", migration.path.name)
        return self._row(migration, "UNDO_SQL", undo, None, 0)


class Alembic(Adapter):
    tool, table = "alembic", "alembic_version"

    def _revision(self, version: str) -> str:
        return self.files[version].name.split("_", 1)[0]

    def _read(self, conn: psycopg.Connection[Any]) -> dict[str, ForeignRow]:
        heads = {str(r[0]) for r in conn.execute("SELECT version_num FROM alembic_version")}
        ordered = sorted(self.files, key=version_key)
        revisions = [self._revision(v) for v in ordered]
        positions = [revisions.index(head) for head in heads if head in revisions]
        return {v: ForeignRow(v, "applied") for v in ordered[: max(positions) + 1]} if positions else {}

    def ensure_sql(self) -> sql.Composable:
        return sql.SQL(
            "CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL, "
            "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
        )

    def applied_sql(self, migration: MigrationFile, duration_ms: int | sql.Composable) -> sql.Composable:
        return _single_row("alembic_version", ("version_num",), (self._revision(migration.version),))

    def reverted_sql(self, migration: MigrationFile, previous: str | None) -> sql.Composable:
        return _single_row("alembic_version", ("version_num",), (self._revision(previous),) if previous else None)


ADAPTERS: dict[str, type[Adapter]] = {
    "dbmate": Dbmate,
    "golang-migrate": GolangMigrate,
    "prisma": Prisma,
    "drizzle": Drizzle,
    "flyway": Flyway,
    "alembic": Alembic,
}


def adapter_for(config: Config, files: list[MigrationFile]) -> Adapter | None:
    """The history adapter of the project's ``migrations_format`` (None for pgwarden's own format)."""
    kind = ADAPTERS.get(config.settings.migrations_format)
    return kind(files, config.migrations_path) if kind else None


def merged(
    applied: dict[str, AppliedMigration], adapter: Adapter | None, conn: psycopg.Connection[Any]
) -> dict[str, AppliedMigration]:
    """pgwarden's history plus what the tool's table says of versions pgwarden has no row for."""
    if adapter is None:
        return applied
    out = dict(applied)
    for version, row in adapter.rows(conn).items():
        if version in out or version not in adapter.files:
            continue
        file = adapter.files[version]
        status = "applied" if row.status == "applied" else "failed"
        out[version] = AppliedMigration(
            version,
            file.name,
            file.checksum,
            row.applied_at or datetime.now(UTC),
            adapter.tool,
            0,
            True,
            status,
            0 if status == "failed" else len(file.up.statements),
            len(file.up.statements),
            f"failed in {adapter.tool} (its history table says so)" if status == "failed" else None,
        )
    return dict(sorted(out.items(), key=lambda item: version_key(item[0])))
