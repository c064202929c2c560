"""The partition commands as typed functions: the one entry point the CLI (and other packages) call.

Each function takes plain arguments, returns a dataclass and raises
:class:`pgwarden.errors.PgwardenError` subclasses (the CLI maps them to exit codes).
Table names are parsed once, here, into :class:`QualifiedName`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pgwarden.partition.advise import AdviseResult, Thresholds
from pgwarden.partition.convert import ConvertResult, Progress, Tuning
from pgwarden.partition.create import CreateResult
from pgwarden.partition.inspect import ListResult, ManagedTable, PartitionInfo, TableInfo
from pgwarden.partition.maintain import MaintainOptions, MaintainResult
from pgwarden.partition.migration import MigrationWritten
from pgwarden.partition.naming import Period
from pgwarden.partition.qualified import QualifiedName
from pgwarden.partition.spec import Layout, LayoutOptions

if TYPE_CHECKING:
    import psycopg

    from pgwarden.config import Config
    from pgwarden.db import LockRetryPolicy

__all__ = [
    "AdviseResult",
    "ConvertResult",
    "CreateResult",
    "Layout",
    "LayoutOptions",
    "ListResult",
    "MaintainOptions",
    "MaintainResult",
    "ManagedTable",
    "MigrationWritten",
    "QualifiedName",
    "Thresholds",
    "Tuning",
    "abort",
    "advise",
    "config_entry",
    "convert",
    "create",
    "is_child_name",
    "layout",
    "list_partitions",
    "maintain",
    "managed_children",
    "missing_periods",
    "parse_name",
    "resume",
    "run_directive",
    "thresholds",
    "write_migration",
]


def parse_name(text: str) -> QualifiedName:
    """``'t'`` / ``'s.t'`` / ``'"a.b".t'`` as a :class:`QualifiedName` (BadInput if malformed)."""
    return QualifiedName.parse(text)


def layout(config: Config | None, table: str, options: LayoutOptions | None = None) -> Layout:
    """The layout for ``table``: its ``[[partitions]]`` entry overridden by ``options`` (BadInput if incomplete)."""
    from pgwarden.partition.spec import layout_for

    return layout_for(config, parse_name(table), options)


def create(
    config: Config, env: str | None, layout: Layout, *, widen_unique: bool = False, now: datetime | None = None
) -> CreateResult:
    """Reshape an empty table into a partitioned one (see :mod:`pgwarden.partition.create`)."""
    from pgwarden.partition.create import create as run
    from pgwarden.partition.target import resolve

    return run(resolve(config, env, changes=True), layout, widen_unique=widen_unique, now=now)


def convert(
    config: Config,
    env: str | None,
    layout: Layout,
    tuning: Tuning = Tuning(),
    *,
    drop_old: bool = False,
    widen_unique: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ConvertResult:
    """Convert a live table online (see :mod:`pgwarden.partition.convert`)."""
    from pgwarden.partition.convert import convert as run
    from pgwarden.partition.target import resolve

    return run(
        resolve(config, env, changes=True),
        layout,
        tuning,
        drop_old=drop_old,
        widen_unique=widen_unique,
        now=now,
        progress=progress,
    )


def resume(
    config: Config,
    env: str | None,
    table: str | QualifiedName,
    tuning: Tuning = Tuning(),
    *,
    drop_old: bool = False,
    progress: Progress | None = None,
) -> ConvertResult:
    """Continue an interrupted conversion of ``table``."""
    from pgwarden.partition.convert import resume as run
    from pgwarden.partition.target import resolve

    name = table if isinstance(table, QualifiedName) else parse_name(table)
    return run(resolve(config, env, changes=True), name, tuning, drop_old=drop_old, progress=progress)


def abort(config: Config, env: str | None, table: str | QualifiedName) -> ConvertResult:
    """Undo an unfinished conversion of ``table`` (the original was never changed)."""
    from pgwarden.partition.convert import abort as run
    from pgwarden.partition.target import resolve

    return run(resolve(config, env, changes=True), table if isinstance(table, QualifiedName) else parse_name(table))


def maintain(config: Config, env: str | None, options: MaintainOptions = MaintainOptions()) -> MaintainResult:
    """Premake, rescue default-partition rows, apply retention for ``[[partitions]]`` (idempotent)."""
    from pgwarden.partition.maintain import maintain as run

    return run(config, env, options)


def write_migration(
    config: Config,
    env: str | None,
    layout: Layout,
    *,
    verb: str = "convert",
    widen_unique: bool = False,
    drop_old: bool = False,
    batch: int | None = None,
    write_config: bool = False,
) -> MigrationWritten:
    """Write the migration that partitions ``layout.name`` (the default of ``partition create`` / ``convert``).

    Refused (exit 5), and nothing written, when ``env``'s database (if reachable and
    the table exists there) would refuse the change; ``write_config`` also appends the
    ``[[partitions]]`` entry unless the table has one.
    """
    from pgwarden.partition.migration import add_config_entry, preflight
    from pgwarden.partition.migration import write_migration as write

    checked = preflight(config, env, layout, widen_unique=widen_unique)
    written = write(config, layout, verb=verb, widen_unique=widen_unique, drop_old=drop_old, batch=batch)
    written.checked = checked
    if write_config:
        written.entry_added = add_config_entry(config, layout)
    return written


def config_entry(config: Config | None, layout: Layout, *, write: bool = False) -> tuple[str, bool]:
    """The ``[[partitions]]`` entry for ``layout`` (TOML) and whether it was appended (``write``, when missing)."""
    from pgwarden.partition.migration import add_config_entry
    from pgwarden.partition.migration import config_entry as entry

    return entry(config, layout), bool(write and config is not None and add_config_entry(config, layout))


def list_partitions(config: Config, env: str | None, table: str) -> ListResult:
    """``partition list TABLE``: partitions with bounds, rows, size; gaps and overlaps flagged."""
    from pgwarden.partition.inspect import list_partitions as run
    from pgwarden.partition.inspect import open_session
    from pgwarden.partition.target import resolve

    name = parse_name(table)
    conn = open_session(resolve(config, env, changes=False).url)
    try:
        return run(conn, name)
    finally:
        conn.close()


def thresholds(config: Config | None, overrides: dict[str, Any] | None = None) -> Thresholds:
    """The advisor's thresholds: flags (``overrides``, None = unset) over ``[partition.thresholds]`` over defaults."""
    from pgwarden.partition.settings import thresholds as merged

    return merged(config, overrides)


def advise(config: Config, env: str | None, *, thresholds: Thresholds | None = None) -> AdviseResult:
    """Tables worth partitioning, with key, interval, projected sizes and a command that will not be refused."""
    from pgwarden.partition.advise import advise as run

    return run(config, env, thresholds=thresholds)


def missing_periods(
    conn: psycopg.Connection[Any], layout: Layout, table: TableInfo, parts: list[PartitionInfo], now: datetime
) -> list[tuple[int, Period, str]]:
    """Periods (current = index 0, then up to ``max(premake, 1)`` ahead) no range partition covers at ``now``.

    Each comes with the DDL that creates it (identifiers quoted) for a fix hint.
    """
    from pgwarden.partition import ddl
    from pgwarden.partition.inspect import covers
    from pgwarden.partition.naming import wanted_periods

    if layout.interval is None:
        return []
    out: list[tuple[int, Period, str]] = []
    for index, wanted in enumerate(wanted_periods(layout.table, layout.interval, now, max(layout.premake, 1))):
        if covers(parts, wanted.lower):
            continue
        statement = ddl.partition_of(
            table.schema, table.name, wanted.name, ddl.range_bounds(wanted.lower, wanted.upper, table.key_type or "")
        )
        out.append((index, wanted, statement.as_string(conn) + ";"))
    return out


def managed_children(conn: psycopg.Connection[Any], config: Config) -> list[ManagedTable]:
    """For each ``[[partitions]]`` table: the relations pgwarden creates or detaches for it (not drift).

    Attached partitions (``maintain`` and ``convert`` create them), detached tables named
    like its partitions (retention mode ``detach``) and a kept ``<table>_pgw_old``.
    Catalog reads only; ``conn`` may be any session.
    """
    from pgwarden.partition.inspect import managed
    from pgwarden.partition.spec import configured

    return [managed(conn, layout.name) for layout in configured(config)]


def run_directive(conn: psycopg.Connection[Any], args: dict[str, str], *, policy: LockRetryPolicy, where: str) -> None:
    """The ``partition-convert`` migration step (see :mod:`pgwarden.partition.directive`), run by ``migrate up``.

    Works on the runner's database through sessions of its own (same user); resumable:
    called again after a crash, it continues the recorded conversion or finds it done.
    """
    from pgwarden.partition.directive import parse, run
    from pgwarden.partition.target import of_connection

    run(of_connection(conn, policy), parse(args, where=where))


def is_child_name(layout: Layout, name: str) -> bool:
    """Whether ``name`` (a relation in ``layout``'s schema) is one pgwarden gives a partition of ``layout``'s table
    (``<table>_p2026_11``, ``_p2026w47``, ``_p2026q4``, ``_p2026``, ``_p2026_11_22``, ``_h3``, ``_default``) or the
    original ``convert`` keeps (``<table>_pgw_old``)."""
    import re

    from pgwarden.partition.inspect import child_name_pattern
    from pgwarden.partition.naming import shorten

    return bool(re.match(child_name_pattern(layout.table), name)) or name == shorten(layout.table, "_pgw_old")
