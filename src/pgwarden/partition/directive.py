"""The ``partition-convert`` migration directive: partitioning as a step of a versioned migration.

Written by ``pgwarden partition convert`` / ``partition create`` (the default: a
migration file rather than a direct change), carried out by ``migrate up``::

    -- migrate:up transaction:false
    -- pgwarden:partition-convert table=public.chat_messages key=created_at interval='1 month' premake=3
    -- migrate:down irreversible

Arguments (``key=value``, values with spaces in single quotes):

================  ==========================================================================
``table``         the table (``name`` or ``schema.name``; double quotes protect dots/case)
``key``           the partition key column
``interval``      ``'1 day'``, ``'1 week'``, ``'1 month'``, ``'3 months'``, ``'1 year'`` (range) ...
``modulus``       ... or the number of hash partitions (exactly one of the two)
``premake``       periods created ahead (default 3); ``past``: periods before the current one (0)
``default``       ``true`` adds a default partition
``widen_unique``  ``true`` accepts extending UNIQUE constraints with the key (uniqueness weakens)
``drop_old``      ``true`` drops the original after the swap (default: kept as ``<table>_pgw_old``)
``batch``         rows per copy batch (default 10000)
================  ==========================================================================

What ``migrate up`` does (:func:`run`): on an empty table, plain DDL in one short
transaction (``partition create``); on a table with rows, the resumable online
conversion (``partition convert``): a killed or interrupted run is resumed by the
next ``migrate up``; on a table already partitioned by the same key with no
conversion recorded, nothing (the step already happened). Irreversible: the
down section must be ``-- migrate:down irreversible``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pgwarden.errors import BadInput, MigrationFileError, Refused
from pgwarden.partition.qualified import QualifiedName
from pgwarden.partition.spec import Layout, LayoutOptions

if TYPE_CHECKING:
    from pgwarden.partition.convert import Progress
    from pgwarden.partition.target import Where

NAME = "partition-convert"
ARGUMENTS = ("table", "key", "interval", "modulus", "premake", "past", "default", "widen_unique", "drop_old", "batch")
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


@dataclass(frozen=True)
class ConvertDirective:
    """One parsed ``-- pgwarden:partition-convert`` step."""

    table: QualifiedName
    options: LayoutOptions
    widen_unique: bool = False
    drop_old: bool = False
    batch: int = 10_000


def _flag(args: dict[str, str], key: str, where: str) -> bool:
    value = args.get(key, "false").lower()
    if value not in _TRUE + _FALSE:
        raise MigrationFileError(f"{where}: {NAME}: {key}={args[key]!r} is not true or false")
    return value in _TRUE


def _count(args: dict[str, str], key: str, where: str, *, minimum: int) -> int | None:
    if key not in args:
        return None
    try:
        value = int(args[key])
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise MigrationFileError(f"{where}: {NAME}: {key}={args[key]!r} must be a whole number >= {minimum}")
    return value


def parse(args: dict[str, str], *, where: str) -> ConvertDirective:
    """The directive from its ``key=value`` arguments; MigrationFileError (exit 2) naming ``where`` and the argument.

    Checks everything that needs no database: known arguments, ``table`` and
    ``key`` present, exactly one of ``interval`` and ``modulus``, valid values.
    Used by ``migrate up`` and by lint.
    """
    from pgwarden.partition.naming import parse_interval

    unknown = sorted(set(args) - set(ARGUMENTS))
    if unknown:
        raise MigrationFileError(f"{where}: {NAME}: unknown argument {unknown[0]!r} (known: {', '.join(ARGUMENTS)})")
    for required in ("table", "key"):
        if not args.get(required):
            raise MigrationFileError(f"{where}: {NAME}: missing {required}=")
    if ("interval" in args) == ("modulus" in args):
        raise MigrationFileError(f"{where}: {NAME}: give exactly one of interval= or modulus=")
    if "interval" in args:
        try:
            parse_interval(args["interval"])
        except ValueError as exc:
            raise MigrationFileError(f"{where}: {NAME}: interval: {exc}") from None
    try:
        table = QualifiedName.parse(args["table"])
    except BadInput as exc:
        raise MigrationFileError(f"{where}: {NAME}: {exc.message}") from None
    options = LayoutOptions(
        key=args["key"],
        interval=args.get("interval"),
        modulus=_count(args, "modulus", where, minimum=2),
        premake=_count(args, "premake", where, minimum=0),
        default_partition=_flag(args, "default", where) if "default" in args else None,
        past=_count(args, "past", where, minimum=0),
    )
    return ConvertDirective(
        table,
        options,
        _flag(args, "widen_unique", where),
        _flag(args, "drop_old", where),
        _count(args, "batch", where, minimum=1) or 10_000,
    )


def render(layout: Layout, *, widen_unique: bool = False, drop_old: bool = False, batch: int | None = None) -> str:
    """The directive line for ``layout`` (what ``partition convert`` writes into a migration)."""
    table = str(layout.name) if _plain(layout.name) else layout.name.sql()
    parts = [f"table={_value(table)}", f"key={_value(layout.key)}"]
    if layout.interval:
        parts.append(f"interval={_value(layout.interval.value)}")
    else:
        parts.append(f"modulus={layout.modulus}")
    parts.append(f"premake={layout.premake}")
    if layout.past:
        parts.append(f"past={layout.past}")
    if layout.default_partition:
        parts.append("default=true")
    if widen_unique:
        parts.append("widen_unique=true")
    if drop_old:
        parts.append("drop_old=true")
    if batch is not None:
        parts.append(f"batch={batch}")
    return f"-- pgwarden:{NAME} " + " ".join(parts)


def _plain(name: QualifiedName) -> bool:
    """Whether ``schema.name`` reads back as the same name without quotes."""
    return name.shell() == str(name)


def _value(text: str) -> str:
    """``text`` as a directive value: bare when simple, else single-quoted (``''`` for a quote)."""
    if text and all(c.isalnum() or c in "._-" for c in text):
        return text
    return "'" + text.replace("'", "''") + "'"


@dataclass
class DirectiveResult:
    """What one ``partition-convert`` step did: ``created`` (empty table), ``converted``, ``resumed``, ``none``."""

    table: str
    action: str
    rows_copied: int = 0
    swap_seconds: float | None = None
    old_table: str | None = None


def run(where: Where, directive: ConvertDirective, *, progress: Progress | None = None) -> DirectiveResult:
    """Carry out the step on ``env`` (see the module doc); resumable, and a no-op once done.

    Raises what ``partition create`` / ``convert`` raise (Refused exit 5, LockTimeoutGaveUp
    exit 4, ProblemsFound exit 1); a failed step leaves the conversion resumable.
    """
    from psycopg import sql

    from pgwarden.partition.conversions import ConversionStore
    from pgwarden.partition.convert import Tuning, convert, resume
    from pgwarden.partition.create import create
    from pgwarden.partition.inspect import open_session, table_info
    from pgwarden.partition.spec import layout_for

    name = directive.table
    tuning = Tuning(batch=directive.batch)
    conn = open_session(where.url)
    try:
        recorded = ConversionStore(conn).load(name)
        info = table_info(conn, name)
        has_rows = conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(name.ident())).fetchone()
        empty = not info.partitioned and not (has_rows and has_rows[0])
    finally:
        conn.close()
    if recorded is not None:
        result = resume(where, name, tuning, drop_old=directive.drop_old, progress=progress)
        return DirectiveResult(str(name), "resumed", result.rows_copied, result.swap_seconds, result.old_table)
    layout = layout_for(None, name, directive.options)
    if info.partitioned:
        if info.key != [layout.key] or info.strategy != layout.strategy:
            raise Refused(
                f"{name} is already partitioned by {info.strategy} ({', '.join(info.key)}), "
                f"not {layout.strategy} ({layout.key})"
            )
        return DirectiveResult(str(name), "none")
    if empty:
        create(where, layout, widen_unique=directive.widen_unique)
        return DirectiveResult(str(name), "created")
    result = convert(
        where, layout, tuning, drop_old=directive.drop_old, widen_unique=directive.widen_unique, progress=progress
    )
    return DirectiveResult(str(name), "converted", result.rows_copied, result.swap_seconds, result.old_table)
