"""The linter's public functions: lint paths, migration files, or a project's pending migrations.

Guarantees: nothing is written anywhere; with ``env`` one read-only catalog query
grades findings by table size; unparsable input raises MigrationFileError
(exit 2) naming file:line; the returned report's ``errors`` are the unsuppressed
error findings (the CLI exits 1 on them).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgwarden.errors import BadInput
from pgwarden.lint.context import Knowledge
from pgwarden.lint.engine import Settings, run
from pgwarden.lint.model import Finding, LintReport
from pgwarden.lint.sources import Unit, expand_paths, units_of_file, units_of_migration

if TYPE_CHECKING:
    from pgwarden.config import Config
    from pgwarden.sources import MigrationFile

__all__ = ["Finding", "LintReport", "lint_migrations", "lint_paths", "lint_project", "lint_units"]


def _knowledge(config: Config | None) -> tuple[Knowledge, Settings]:
    if config is None:
        return Knowledge(), Settings()
    from pgwarden.units import parse_size

    lint = config.settings.lint
    knowledge = Knowledge(small_rows=lint.small_table_rows, small_size=parse_size(lint.small_table_size))
    return knowledge, Settings(lint.disable, dict(lint.severity))


def lint_units(units: list[Unit], *, config: Config | None, env: str | None = None, conn: Any = None) -> LintReport:
    """Lint parsed units in order; with ``conn`` (or ``env``) findings are graded by the live table sizes."""
    knowledge, settings = _knowledge(config)
    report = LintReport(env=None)
    if conn is not None:
        from pgwarden.lint import live

        live.load(knowledge, conn, units)
    elif env is not None:
        if config is None:
            raise BadInput("--env needs a pgwarden.toml (none found)", hint="run `pgwarden init`")
        from pgwarden.db import Intent, connect, resolve_target
        from pgwarden.lint import live

        target = resolve_target(config, env, intent=Intent.READ)
        report.env = target.env_name
        with connect(target.url) as live_conn:
            live.load(knowledge, live_conn, units)
    return run(units, knowledge, settings, report)


def lint_paths(paths: list[Path], *, config: Config | None = None, env: str | None = None) -> LintReport:
    """Lint files and folders (pgwarden-format or plain .sql, e.g. Prisma/Drizzle/dbmate folders)."""
    units: list[Unit] = []
    for path in expand_paths(paths):
        units.extend(units_of_file(path))
    return lint_units(units, config=config, env=env)


def lint_migrations(config: Config | None, files: list[MigrationFile], env: str | None = None, *,
                    include_down: bool = True, conn: Any = None) -> LintReport:
    """Lint parsed migration files in version order (down sections one severity lower)."""
    units: list[Unit] = []
    for migration in files:
        units.extend(units_of_migration(migration, include_down=include_down))
    return lint_units(units, config=config, env=env, conn=conn)


def lint_project(config: Config, env: str | None = None) -> LintReport:
    """With ``env``: the migrations pending there, graded by its table sizes; without: every migration file."""
    from pgwarden.migrations.commands import pending_files
    from pgwarden.sources import discover

    files = pending_files(config, env) if env is not None else discover(config.migrations_path)
    return lint_migrations(config, files, env)
