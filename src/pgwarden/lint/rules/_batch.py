"""The keyset-batched rewrite of a big UPDATE / DELETE / INSERT ... SELECT, built from the statement itself.

A plain UPDATE (no FROM, RETURNING or WITH) becomes a ``-- pgwarden:backfill`` directive
(resumable, recorded, batched by key by ``pgwarden.backfill``). Anything else becomes a
``DO`` block in a ``transaction:false`` section that walks the table's key in batches and
COMMITs after each one (PostgreSQL 11+ allows COMMIT in a DO block run outside a transaction
block): row locks are held for one batch only and vacuum can reclaim dead rows between batches.
"""

from __future__ import annotations

import re
from typing import Any

from pgwarden.lint.context import Knowledge, table_key
from pgwarden.lint.rules._util import ident

BATCH_ROWS = 10_000


def _key_of(knowledge: Knowledge, key: str) -> tuple[str, str, bool]:
    """(key column, its SQL type, known?) of the table ``key``: its single-column primary key, else ``id``."""
    info = knowledge.table(key)
    if info is not None and info.primary_key and len(info.primary_key) == 1:
        column = info.primary_key[0]
        return column, info.columns.get(column, "bigint"), True
    column_type = info.columns.get("id", "bigint") if info is not None else "bigint"
    return "id", column_type, False


def _loop(table: str, column: str, column_type: str, known: bool, body: str) -> str:
    target = ".".join(ident(p) for p in table.split("."))
    assumed = "" if known else f" (no primary key known: assumed {column}; use a unique, indexed column)"
    return (
        f"-- migrate:up transaction:false\n"
        f"-- keyset batches of {BATCH_ROWS} rows of {table} by {column}{assumed}, each committed on its own\n"
        f"DO $batch$\nDECLARE\n  last_key {column_type};\n  batch_end {column_type};\nBEGIN\n  LOOP\n"
        f"    SELECT max(k) INTO batch_end FROM (SELECT {ident(column)} AS k FROM {target}\n"
        f"      WHERE last_key IS NULL OR {ident(column)} > last_key ORDER BY {ident(column)} "
        f"LIMIT {BATCH_ROWS}) AS batch;\n"
        f"    EXIT WHEN batch_end IS NULL;\n    {body};\n    last_key := batch_end;\n    COMMIT;\n"
        f"  END LOOP;\nEND\n$batch$;"
    )


_SIMPLE = re.compile(r"(?is)^\s*(UPDATE|DELETE)\b(?!.*\b(?:WHERE|RETURNING|WITH|CURRENT\s+OF)\b)")


def _quote_arg(text: str) -> str:
    return "'" + " ".join(text.split()).replace("'", "''") + "'"


def backfill_rewrite(sql: str) -> tuple[str, str] | None:
    """(``-- pgwarden:backfill`` migration, table) for a plain UPDATE; None for anything the directive cannot say."""
    from pglast import ast

    from pgwarden.lint.rules._util import deparse, pg_ast

    stmt: Any = pg_ast(sql)
    relation: Any = getattr(stmt, "relation", None)
    if (
        not isinstance(stmt, ast.UpdateStmt)
        or relation is None
        or relation.alias
        or stmt.fromClause
        or stmt.withClause
        or getattr(stmt, "returningList", None)
        or getattr(stmt, "returningClause", None)
    ):
        return None
    table = f"{relation.schemaname or 'public'}.{relation.relname}"
    assignments = deparse(stmt).split(" SET ", 1)[1]
    where = deparse(stmt.whereClause) if stmt.whereClause is not None else None
    if where is not None:
        assignments = assignments[: len(assignments) - len(where) - len(" WHERE ")]
    args = f"table={table} set={_quote_arg(assignments)}" + (f" where={_quote_arg(where)}" if where else "")
    from pgwarden.lint.rules._commands import command, relation_arg

    shell = command(
        "backfill",
        relation_arg(relation),
        "--set",
        " ".join(assignments.split()),
        *(["--where", " ".join(where.split())] if where else []),
        "--batch",
        str(BATCH_ROWS),
    )
    return (
        f"-- migrate:up transaction:false\n-- or once, from a shell (same batches, not versioned): {shell}\n"
        f"-- batched by key, resumable, one transaction per batch:\n"
        f"-- pgwarden:backfill {args} batch={BATCH_ROWS}"
    ), table


def keyset_rewrite(sql: str, knowledge: Knowledge, node: Any = None) -> tuple[str, str] | None:
    """(rewrite SQL, walked table) for a data-change statement, None when it cannot be batched by key.

    ``node`` (the statement's JSON tree) lets an UPDATE/DELETE without WHERE be rewritten
    as text, without a pglast parse.
    """
    if node is not None and node.relation is not None and _SIMPLE.match(sql):
        rel = node.relation
        name = f"{rel.schemaname}.{rel.relname}" if rel.schemaname else rel.relname
        column, column_type, known = _key_of(knowledge, table_key((rel.schemaname, rel.relname)))
        ref = ident(rel.alias.aliasname) if rel.alias else ".".join(ident(p) for p in name.split("."))
        qualified = f"{ref}.{ident(column)}"
        body = f"{sql} WHERE (last_key IS NULL OR {qualified} > last_key) AND {qualified} <= batch_end"
        return _loop(name, column, column_type, known, body), name
    import pglast
    from pglast import ast, enums
    from pglast.stream import RawStream

    stmt: Any = pglast.parse_sql(sql)[0].stmt
    holder: Any
    relation: Any
    if isinstance(stmt, (ast.UpdateStmt, ast.DeleteStmt)):
        holder, relation = stmt, stmt.relation
    elif (
        isinstance(stmt, ast.InsertStmt)
        and isinstance(stmt.selectStmt, ast.SelectStmt)
        and stmt.selectStmt.fromClause
        and len(stmt.selectStmt.fromClause) == 1
        and isinstance(stmt.selectStmt.fromClause[0], ast.RangeVar)
    ):
        holder, relation = stmt.selectStmt, stmt.selectStmt.fromClause[0]
    else:
        return None
    table = f"{relation.schemaname}.{relation.relname}" if relation.schemaname else relation.relname
    column, column_type, known = _key_of(knowledge, table_key((relation.schemaname, relation.relname)))
    ref = ident(relation.alias.aliasname) if relation.alias else ".".join(ident(p) for p in table.split("."))
    qualified = f"{ref}.{ident(column)}"
    probe: Any = pglast.parse_sql(
        f"SELECT 1 WHERE (last_key IS NULL OR {qualified} > last_key) AND {qualified} <= batch_end"
    )[0].stmt
    cond: Any = probe.whereClause
    holder.whereClause = (
        cond
        if holder.whereClause is None
        else ast.BoolExpr(boolop=enums.BoolExprType.AND_EXPR, args=(cond, holder.whereClause))
    )
    body = RawStream()(stmt)
    return _loop(table, column, column_type, known, body), table
