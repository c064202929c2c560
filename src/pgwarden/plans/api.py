"""``pgwarden plan …``: read the column from the catalog, write the plan's migration files."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pgwarden.backfill.spec import TableName, parse_table
from pgwarden.errors import BadInput
from pgwarden.plans import recipes
from pgwarden.plans.recipes import Column, Step

if TYPE_CHECKING:
    import psycopg

    from pgwarden.config import Config

_COLUMN = """
SELECT format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_attribute a
WHERE a.attrelid = %s::regclass AND a.attname = %s AND a.attnum > 0 AND NOT a.attisdropped
"""
_INDEXED = """
SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
               WHERE i.indrelid = %s::regclass AND a.attname = %s)
"""
_PRIMARY_KEY = """
SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
WHERE i.indrelid = %s::regclass AND i.indisprimary
"""


@dataclass
class PlannedFile:
    """One written (or, with ``dry_run``, shown) migration of a plan."""

    path: str
    phase: str
    transactional: bool
    then_in_app: str | None
    text: str


@dataclass
class PlanResult:
    """The files of a plan, in the order they must be deployed."""

    plan: str
    recipe: str
    table: str
    written: bool
    files: list[PlannedFile] = field(default_factory=list)


def rename_column(
    config: Config, env: str | None, table: str, old: str, new: str, *, dry_run: bool = False
) -> PlanResult:
    """Plan ``ALTER TABLE … RENAME COLUMN old TO new`` as expand (new column + sync), backfill, contract."""
    _check_identifier(new, "NEW")
    column = _read_column(config, env, table, old)
    return _write(
        config, "rename-column", column, recipes.rename_column(column, new), f"rename_{old}_to_{new}", dry_run
    )


def change_type(
    config: Config, env: str | None, table: str, column_name: str, new_type: str, *, dry_run: bool = False
) -> PlanResult:
    """Plan a column type change through a shadow column, a backfill and a name swap."""
    _check_type(new_type)
    column = _read_column(config, env, table, column_name)
    return _write(config, "change-type", column, recipes.change_type(column, new_type), f"{column_name}_type", dry_run)


def set_not_null(config: Config, env: str | None, table: str, column_name: str, *, dry_run: bool = False) -> PlanResult:
    """Plan SET NOT NULL as a NOT VALID CHECK, its validation, then SET NOT NULL that needs no scan."""
    column = _read_column(config, env, table, column_name)
    if column.not_null:
        raise BadInput(f"{column.schema}.{column.table}.{column.name} is already NOT NULL; nothing to plan")
    return _write(config, "set-not-null", column, recipes.set_not_null(column), f"{column_name}_not_null", dry_run)


def add_foreign_key(
    config: Config,
    env: str | None,
    table: str,
    column_name: str,
    ref_table: str,
    ref_column: str | None = None,
    *,
    dry_run: bool = False,
) -> PlanResult:
    """Plan a foreign key: index the column CONCURRENTLY when needed, add it NOT VALID, then validate."""
    column = _read_column(config, env, table, column_name)
    ref = parse_table(ref_table)
    with _connect(config, env) as conn:
        regclass = _regclass(conn, ref)
        if ref_column is None:
            keys = [r[0] for r in conn.execute(_PRIMARY_KEY, (regclass,)).fetchall()]
            if len(keys) != 1:
                raise BadInput(f"{ref}: give the referenced column (it has no single-column primary key)")
            ref_column = keys[0]
        own = _regclass(conn, TableName(column.schema, column.table))
        row = conn.execute(_INDEXED, (own, column.name)).fetchone()
    steps = recipes.add_foreign_key(column, ref.schema, ref.name, ref_column, has_index=bool(row and row[0]))
    return _write(config, "add-fk", column, steps, f"{column_name}_fkey", dry_run)


def _read_column(config: Config, env: str | None, table: str, column_name: str) -> Column:
    name = parse_table(table)
    with _connect(config, env) as conn:
        regclass = _regclass(conn, name)
        row = conn.execute(_COLUMN, (regclass, column_name)).fetchone()
    if row is None:
        raise BadInput(f"{name}: has no column {column_name!r}")
    return Column(name.schema, name.name, column_name, str(row[0]), bool(row[1]))


def _regclass(conn: psycopg.Connection[Any], table: TableName) -> str:
    from psycopg import sql

    text = sql.Identifier(table.schema, table.name).as_string(conn)
    row = conn.execute("SELECT to_regclass(%s)::text", (text,)).fetchone()
    if not row or row[0] is None:
        raise BadInput(f"table {table}: does not exist")
    return text


def _connect(config: Config, env: str | None) -> psycopg.Connection[Any]:
    from pgwarden.db import Intent, connect, resolve_target

    return connect(resolve_target(config, env, intent=Intent.READ).url, application_name="pgwarden plan")


def _write(config: Config, recipe: str, column: Column, steps: list[Step], slug: str, dry_run: bool) -> PlanResult:
    from pgwarden.migrations.api import new

    plan_id = re.sub(r"[^a-z0-9]+", "_", f"{column.table}_{slug}".lower()).strip("_")[:60]
    result = PlanResult(plan_id, recipe, f"{column.schema}.{column.table}", written=not dry_run)
    for number, step in enumerate(steps, start=1):
        text = recipes.render(step, plan=plan_id, number=number, total=len(steps))
        path = "(not written)" if dry_run else str(new(config, step.slug, body=text))
        result.files.append(PlannedFile(path, step.phase, step.transactional, step.then_in_app, text))
    return result


def _check_identifier(name: str, what: str) -> None:
    if not name or len(name.encode()) > 63 or "\x00" in name:
        raise BadInput(f"{what} {name!r}: not a column name (1 to 63 bytes)")


def _check_type(type_text: str) -> None:
    """The new type must parse as a type name alone (no statement smuggled in)."""
    from pglast import parser
    from pglast.ast import SelectStmt, TypeCast

    try:
        stmts = parser.parse_sql(f"SELECT NULL::{type_text}")
    except parser.ParseError as exc:
        raise BadInput(f"TYPE {type_text!r}: {exc}") from None
    select = stmts[0].stmt if len(stmts) == 1 else None
    if not isinstance(select, SelectStmt):
        raise BadInput(f"TYPE {type_text!r}: not a type name")
    targets = select.targetList
    if not targets or len(targets) != 1 or not isinstance(targets[0].val, TypeCast) or select.fromClause:
        raise BadInput(f"TYPE {type_text!r}: not a type name")
