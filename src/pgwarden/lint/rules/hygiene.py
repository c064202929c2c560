"""Hygiene (info): schema choices that hurt later, and malformed ignore comments."""

from __future__ import annotations

from typing import Any

from pgwarden.lint.context import StatementContext
from pgwarden.lint.model import Rule
from pgwarden.lint.rules._util import Checker, checkers, name_of, retyped, strings, type_name
from pgwarden.lint.tree import kind_of

RULES = [
    Rule(
        "int-primary-key",
        "hygiene",
        "info",
        "32-bit integer primary key",
        "An integer (or serial) key runs out at 2,147,483,647; changing it to bigint later rewrites the table "
        "and every referencing foreign key. bigint costs 4 more bytes per row.",
        "CREATE TABLE orders (id serial PRIMARY KEY);",
        "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
    ),
    Rule(
        "timestamp-without-time-zone",
        "hygiene",
        "info",
        "timestamp without time zone",
        "timestamp stores wall-clock time with no zone: values shift meaning when servers or sessions change "
        "TimeZone. timestamptz stores an instant and costs the same.",
        "ALTER TABLE orders ADD COLUMN shipped_at timestamp;",
        "ALTER TABLE orders ADD COLUMN shipped_at timestamptz;",
    ),
    Rule(
        "char-n",
        "hygiene",
        "info",
        "char(n)",
        "char(n) pads with spaces, compares surprisingly and is no faster than text or varchar.",
        "CREATE TABLE countries (code char(2) PRIMARY KEY);",
        "CREATE TABLE countries (code text PRIMARY KEY CHECK (length(code) = 2));",
    ),
    Rule(
        "invalid-ignore",
        "hygiene",
        "warning",
        "pgwarden:ignore comment without a rule or a reason",
        "A suppression must say which rule it silences and why, so that reviewers can judge it: "
        "'-- pgwarden:ignore RULE reason'. Without a reason it suppresses nothing.",
        "-- pgwarden:ignore drop-table\nDROP TABLE legacy_orders;",
        "-- pgwarden:ignore drop-table unused since release 42, backup taken 2024-05-01\nDROP TABLE legacy_orders;",
    ),
]

CHECKERS: dict[str, list[Checker]] = {}

_INT = {"integer", "smallint", "serial", "smallserial", "serial4", "serial2", "int", "int4", "int2"}


_BIGGER = {
    "integer": "bigint",
    "smallint": "bigint",
    "int": "bigint",
    "int4": "bigint",
    "int2": "bigint",
    "serial": "bigserial",
    "serial4": "bigserial",
    "smallserial": "bigserial",
    "serial2": "bigserial",
}


def _column(ctx: StatementContext, col: Any, pk_columns: set[str]) -> None:
    if col.typeName is None:
        return
    base, mods = type_name(col.typeName)
    is_pk = col.colname in pk_columns or any(c.contype == "CONSTR_PRIMARY" for c in col.constraints or ())
    if is_pk and base in _INT:
        ctx.report(
            "int-primary-key",
            f"primary key {col.colname} is a 32-bit {base}: use bigint",
            rewrite=f"{retyped(ctx.sql, {col.colname: _BIGGER.get(base, 'bigint')}, 'int')};",
        )
    if base == "timestamp":
        ctx.report(
            "timestamp-without-time-zone",
            f"{col.colname} is timestamp without time zone: use timestamptz",
            rewrite=f"{retyped(ctx.sql, {col.colname: 'timestamptz'}, 'timestamp')};",
        )
    if base == "char" and strings(col.typeName.names)[:1] == ["pg_catalog"]:
        ctx.report(
            "char-n",
            f"{col.colname} is char({mods[0] if mods else 1}): use text (or varchar)",
            rewrite=f"{retyped(ctx.sql, {col.colname: 'text'}, 'char')};",
        )


@checkers(CHECKERS, "CreateStmt")
def _create(ctx: StatementContext, node: Any) -> None:
    pk: set[str] = set()
    for elt in node.tableElts or ():
        if kind_of(elt) == "Constraint" and elt.contype == "CONSTR_PRIMARY":
            keys = strings(elt.keys)
            if len(keys) == 1:
                pk.update(keys)
    for elt in node.tableElts or ():
        if kind_of(elt) == "ColumnDef":
            _column(ctx, elt, pk)


@checkers(CHECKERS, "AlterTableStmt")
def _alter(ctx: StatementContext, node: Any) -> None:
    for cmd in node.cmds or ():
        if cmd.subtype == "AT_AddColumn":
            _column(ctx, cmd.def_, set())
        elif cmd.subtype == "AT_AlterColumnType" and cmd.def_ is not None:
            base, _ = type_name(cmd.def_.typeName)
            if base == "timestamp":
                ctx.report(
                    "timestamp-without-time-zone",
                    f"{cmd.name} becomes timestamp without time zone",
                    rewrite=f"ALTER TABLE {name_of(node.relation)} ALTER COLUMN {cmd.name} TYPE timestamptz;",
                )
