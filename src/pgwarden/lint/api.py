"""The linter's public functions: lint paths, migration files, or a project's new migrations.

Guarantees: nothing is written anywhere except, with ``execute=True``, a scratch
database that is dropped afterwards; with ``env`` read-only catalog queries (and
EXPLAIN, never the statements themselves) grade findings by table size;
unparsable input raises MigrationFileError (exit 2) naming file:line; the
returned report's ``errors`` are the unsuppressed error findings (the CLI exits 1
on them). Which files are linted and which are context is decided by
:mod:`pgwarden.lint.select` and stated in ``report.selection``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgwarden.errors import BadInput
from pgwarden.lint.context import Knowledge
from pgwarden.lint.engine import Settings, run
from pgwarden.lint.model import Finding, LintReport
from pgwarden.lint.select import Selection, auto, by_git_base, by_latest, by_pending
from pgwarden.lint.sources import Unit, expand_paths, order_key, units_of_file, units_of_migration

if TYPE_CHECKING:
    from pgwarden.config import Config
    from pgwarden.sources import MigrationFile

__all__ = [
    "Finding",
    "LintReport",
    "Selection",
    "lint_migrations",
    "lint_paths",
    "lint_project",
    "lint_selection",
    "lint_units",
    "select_files",
]


def _knowledge(config: Config | None) -> tuple[Knowledge, Settings]:
    if config is None:
        return Knowledge(), Settings()
    from pgwarden.units import parse_size

    lint = config.settings.lint
    knowledge = Knowledge(small_rows=lint.small_table_rows, small_size=parse_size(lint.small_table_size))
    return knowledge, Settings(lint.disable, dict(lint.severity))


def lint_units(
    units: list[Unit], *, config: Config | None, env: str | None = None, conn: Any = None, execute: bool = False
) -> LintReport:
    """Lint parsed units in order (``context`` units only teach the schema); with ``conn`` or ``env``
    findings are graded by the live table sizes and data changes by EXPLAIN on the target; with
    ``execute`` the linted units are also applied on a scratch database (see :mod:`pgwarden.lint.execute`)."""
    knowledge, settings = _knowledge(config)
    report = LintReport(env=None)
    if conn is not None:
        return _run_live(units, knowledge, settings, report, conn, config, execute)
    if env is not None:
        if config is None:
            raise BadInput("--env needs a pgwarden.toml (none found)", hint="run `pgwarden init`")
        from pgwarden.db import Intent, connect, resolve_target

        target = resolve_target(config, env, intent=Intent.READ)
        report.env = target.env_name
        with connect(target.url) as live_conn:
            return _run_live(units, knowledge, settings, report, live_conn, config, execute)
    run(units, knowledge, settings, report)
    if execute:
        from pgwarden.lint.execute import execute_units

        execute_units(units, config, report, knowledge=knowledge)
    return report


def _run_live(
    units: list[Unit],
    knowledge: Knowledge,
    settings: Settings,
    report: LintReport,
    conn: Any,
    config: Config | None,
    execute: bool,
) -> LintReport:
    from pgwarden.lint import datasize, live

    live.load(knowledge, conn, units)
    knowledge.estimate = datasize.estimator(conn)
    knowledge.estimate_where = f"EXPLAIN on {report.env or 'the target'}"
    run(units, knowledge, settings, report)
    if execute:
        from pgwarden.lint.execute import execute_units

        execute_units(units, config, report, knowledge=knowledge, estimated=True)
    return report


def _units_of(files: list[Path], context: set[Path]) -> list[Unit]:
    units: list[Unit] = []
    for path in files:
        is_context = path in context
        for unit in units_of_file(path, include_down=not is_context):
            unit.context = is_context
            units.append(unit)
    return units


def select_files(
    files: list[Path],
    *,
    folder: Path,
    latest: int | None = None,
    git_base: str | None = None,
    pending: list[Path] | None = None,
    env: str | None = None,
) -> Selection:
    """Choose what is linted among ``files`` (migration order): pending in ``env``, ``git_base``, ``latest``,
    or automatically (see :mod:`pgwarden.lint.select`)."""
    if latest is not None and git_base is not None:
        raise BadInput("--latest and --git-base choose the files two ways: give one of them")
    if latest is not None:
        return by_latest(files, latest)
    if git_base is not None:
        return by_git_base(files, git_base, folder)
    if pending is not None:
        return by_pending(files, pending, env or "the environment")
    return auto(files, folder)


def lint_selection(
    selection: Selection, *, config: Config | None = None, env: str | None = None, execute: bool = False
) -> LintReport:
    """Lint ``selection.linted`` with ``selection.context`` replayed first (their tables exist, not new)."""
    files = list(selection.linted)
    if selection.context and selection.mode == "paths":
        files = [*selection.context, *selection.linted]  # given files run after everything applied
    elif selection.context:
        files = sorted([*selection.context, *selection.linted], key=order_key)
    units = _units_of(files, set(selection.context))
    report = lint_units(units, config=config, env=env, execute=execute)
    report.selection = selection.note if selection.mode != "paths" else None
    report.context_files = [str(p) for p in selection.context]
    return report


def lint_paths(
    paths: list[Path],
    *,
    config: Config | None = None,
    env: str | None = None,
    latest: int | None = None,
    git_base: str | None = None,
    execute: bool = False,
    context: list[Path] | None = None,
) -> LintReport:
    """Lint files and folders (pgwarden-format or plain .sql, e.g. Prisma/Drizzle/dbmate folders).

    Every given file is linted (tables created in one are new for the next) unless
    ``latest`` or ``git_base`` choose among them: then the earlier files are context.
    ``context``: files replayed first (e.g. the migrations applied in ``env``), never linted.
    """
    files = expand_paths(paths)
    if latest is None and git_base is None:
        given = {f.resolve() for f in files}
        extra = tuple(p for p in context or () if p.resolve() not in given)
        return lint_selection(Selection("paths", tuple(files), extra), config=config, env=env, execute=execute)
    folder = paths[0] if paths[0].is_dir() else paths[0].parent
    return lint_selection(
        select_files(files, folder=folder, latest=latest, git_base=git_base), config=config, env=env, execute=execute
    )


def lint_migrations(
    config: Config | None,
    files: list[MigrationFile],
    env: str | None = None,
    *,
    include_down: bool = True,
    conn: Any = None,
    context: list[MigrationFile] | None = None,
    execute: bool = False,
) -> LintReport:
    """Lint parsed migration files in version order (down sections one severity lower).

    ``context``: already applied files, replayed first so that their tables exist
    (never new); with ``conn``/``env`` their sizes come from the live catalog.
    """
    units: list[Unit] = []
    for migration in context or ():
        for unit in units_of_migration(migration, include_down=False):
            unit.context = True
            units.append(unit)
    for migration in files:
        units.extend(units_of_migration(migration, include_down=include_down))
    report = lint_units(units, config=config, env=env, conn=conn, execute=execute)
    report.context_files = [str(m.path) for m in context or ()]
    return report


def lint_project(
    config: Config,
    env: str | None = None,
    *,
    latest: int | None = None,
    git_base: str | None = None,
    pending: list[Path] | None = None,
    execute: bool = False,
) -> LintReport:
    """Lint the project's new migrations: ``pending`` in ``env`` (the caller asks the migrations package which
    files those are), or chosen by ``latest`` / ``git_base`` / automatically; earlier files are context."""
    folder = config.migrations_path
    if not folder.is_dir():
        raise BadInput(f"{folder}: migrations folder not found", hint="run `pgwarden init`")
    files = expand_paths([folder])
    selection = select_files(files, folder=folder, latest=latest, git_base=git_base, pending=pending, env=env)
    return lint_selection(selection, config=config, env=env, execute=execute)
