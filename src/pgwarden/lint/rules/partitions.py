"""Partitioning rules: statements that fail on partitioned tables, and attach/detach that lock."""

from __future__ import annotations

from typing import Any

from pgwarden.lint.context import StatementContext, table_key
from pgwarden.lint.model import Rule
from pgwarden.lint.rules._util import Checker, checkers, name_of, strings
from pgwarden.lint.tree import const_sql, kind_of

RULES = [
    Rule(
        "partition-key-not-in-unique",
        "partitions",
        "error",
        "PRIMARY KEY or UNIQUE on a partitioned table without the partition key",
        "A unique constraint on a partitioned table is enforced per partition, so PostgreSQL requires it to "
        "include every partition key column; without them the statement fails ('unique constraint on "
        "partitioned table must include all partitioning columns').",
        "CREATE TABLE audit_logs (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL)\n"
        "  PARTITION BY RANGE (created_at);",
        "CREATE TABLE audit_logs (id bigint GENERATED ALWAYS AS IDENTITY, created_at timestamptz NOT NULL,\n"
        "  PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at);",
    ),
    Rule(
        "partition-of-non-partitioned",
        "partitions",
        "error",
        "PARTITION OF (or ATTACH PARTITION to) a table that is not partitioned",
        "Only a table created with PARTITION BY can have partitions; the statement fails ('table is not "
        "partitioned'). Converting an existing table needs a new partitioned table and a data move "
        "(pgwarden partition convert).",
        "CREATE TABLE sessions (id uuid PRIMARY KEY, expires_at timestamptz);\n"
        "CREATE TABLE sessions_2025_q1 PARTITION OF sessions FOR VALUES FROM ('2025-01-01') TO ('2025-04-01');",
        "CREATE TABLE sessions (id uuid, expires_at timestamptz NOT NULL, PRIMARY KEY (id, expires_at))\n"
        "  PARTITION BY RANGE (expires_at);\n"
        "CREATE TABLE sessions_2025_q1 PARTITION OF sessions FOR VALUES FROM ('2025-01-01') TO ('2025-04-01');",
    ),
    Rule(
        "attach-partition-without-check",
        "partitions",
        "error",
        "ATTACH PARTITION without a validated CHECK matching the bound",
        "ATTACH PARTITION scans the whole new partition under an ACCESS EXCLUSIVE lock to prove every row fits "
        "the bound, unless a validated CHECK constraint already proves it. Add the CHECK NOT VALID, validate "
        "it, then attach (the scan is skipped) and drop the CHECK.",
        "ALTER TABLE events ATTACH PARTITION events_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
        "ALTER TABLE events_2024 ADD CONSTRAINT events_2024_bound CHECK (created_at IS NOT NULL AND\n"
        "  created_at >= '2024-01-01' AND created_at < '2025-01-01') NOT VALID;\n"
        "ALTER TABLE events_2024 VALIDATE CONSTRAINT events_2024_bound;\n"
        "ALTER TABLE events ATTACH PARTITION events_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\n"
        "ALTER TABLE events_2024 DROP CONSTRAINT events_2024_bound;",
        lock="ACCESS EXCLUSIVE",
        graded=True,
    ),
    Rule(
        "detach-partition-not-concurrently",
        "partitions",
        "error",
        "DETACH PARTITION without CONCURRENTLY",
        "A plain DETACH PARTITION locks the partitioned parent ACCESS EXCLUSIVE: every query on the whole "
        "table waits. DETACH ... CONCURRENTLY (PostgreSQL 14+, outside a transaction block) only takes SHARE "
        "UPDATE EXCLUSIVE.",
        "ALTER TABLE events DETACH PARTITION events_2023;",
        "-- migrate:up transaction:false\nALTER TABLE events DETACH PARTITION events_2023 CONCURRENTLY;",
        lock="ACCESS EXCLUSIVE",
        graded=True,
    ),
    Rule(
        "concurrent-index-on-partitioned",
        "partitions",
        "error",
        "CREATE INDEX CONCURRENTLY on a partitioned table",
        "PostgreSQL cannot build an index on a partitioned table concurrently; the statement fails. Create the "
        "index ON ONLY the parent, build each partition's index concurrently, then attach them.",
        "CREATE TABLE events (user_id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at);\n"
        "CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\n"
        "CREATE INDEX CONCURRENTLY events_user_idx ON events (user_id);",
        "CREATE INDEX events_user_idx ON ONLY events (user_id);\n"
        "CREATE INDEX CONCURRENTLY events_2024_user_idx ON events_2024 (user_id);\n"
        "ALTER INDEX events_user_idx ATTACH PARTITION events_2024_user_idx;",
    ),
]

CHECKERS: dict[str, list[Checker]] = {}


def partition_key_of(spec: Any) -> tuple[str, ...] | None:
    """Column names of a PARTITION BY spec (None when it uses an expression)."""
    names = []
    for elem in spec.partParams or ():
        if not elem.name:
            return None
        names.append(elem.name)
    return tuple(names)


def _missing(key: tuple[str, ...], columns: list[str]) -> list[str]:
    return [k for k in key if k not in columns]


def _unique_constraints(node: Any) -> list[tuple[str, list[str]]]:
    out = []
    for elt in node.tableElts or ():
        if kind_of(elt) == "ColumnDef":
            for con in elt.constraints or ():
                if con.contype in ("CONSTR_PRIMARY", "CONSTR_UNIQUE"):
                    out.append(("PRIMARY KEY" if con.contype == "CONSTR_PRIMARY" else "UNIQUE", [elt.colname]))
        elif kind_of(elt) == "Constraint" and elt.contype in ("CONSTR_PRIMARY", "CONSTR_UNIQUE"):
            out.append(("PRIMARY KEY" if elt.contype == "CONSTR_PRIMARY" else "UNIQUE", strings(elt.keys)))
    return out


def _with_key(sql: str, key: tuple[str, ...]) -> str:
    """``sql`` (CREATE TABLE, CREATE UNIQUE INDEX, ADD CONSTRAINT) with every unique key extended by the partition key.

    A column-level PRIMARY KEY / UNIQUE becomes a table constraint over (column, partition key).
    """
    from pglast import ast, enums

    from pgwarden.lint.rules._util import deparse, pg_ast

    stmt = pg_ast(sql)

    def extend(names: tuple[Any, ...] | None) -> tuple[Any, ...]:
        have = [n.sval for n in names or ()]
        return tuple(names or ()) + tuple(ast.String(sval=k) for k in key if k not in have)

    if isinstance(stmt, ast.IndexStmt):
        have = {p.name for p in stmt.indexParams or ()}
        stmt.indexParams = tuple(stmt.indexParams or ()) + tuple(
            ast.IndexElem(
                name=k, ordering=enums.SortByDir.SORTBY_DEFAULT, nulls_ordering=enums.SortByNulls.SORTBY_NULLS_DEFAULT
            )
            for k in key
            if k not in have
        )
        return deparse(stmt) + ";"
    constraints: list[Any] = []
    if isinstance(stmt, ast.AlterTableStmt):
        constraints = [c.def_ for c in stmt.cmds or () if isinstance(c.def_, ast.Constraint)]
    elif isinstance(stmt, ast.CreateStmt):
        elements = list(stmt.tableElts or ())
        for element in list(elements):
            if isinstance(element, ast.ColumnDef):
                for con in list(element.constraints or ()):
                    if con.contype in (enums.ConstrType.CONSTR_PRIMARY, enums.ConstrType.CONSTR_UNIQUE):
                        element.constraints = tuple(c for c in element.constraints or () if c is not con)
                        elements.append(ast.Constraint(contype=con.contype, keys=(ast.String(sval=element.colname),)))
            elif isinstance(element, ast.Constraint):
                constraints.append(element)
        stmt.tableElts = tuple(elements)
        constraints = [e for e in elements if isinstance(e, ast.Constraint)]
    for con in constraints:
        if con.contype in (enums.ConstrType.CONSTR_PRIMARY, enums.ConstrType.CONSTR_UNIQUE):
            con.keys = extend(con.keys)
    return deparse(stmt) + ";"


@checkers(CHECKERS, "CreateStmt")
def _create(ctx: StatementContext, node: Any) -> None:
    table = name_of(node.relation)
    if node.partspec is not None:
        key = partition_key_of(node.partspec)
        if key:
            for what, columns in _unique_constraints(node):
                missing = _missing(key, columns)
                if missing:
                    ctx.report(
                        "partition-key-not-in-unique",
                        f"{what} ({', '.join(columns)}) on partitioned table {table} omits the partition "
                        f"key column(s) {', '.join(missing)}: CREATE TABLE fails",
                        rewrite=_with_key(ctx.sql, key),
                    )
    if node.partbound is not None and node.inhRelations:
        parent = node.inhRelations[0]
        info = ctx.knowledge.table(table_key(parent))
        if info is not None and info.partitioned is False:
            ctx.report(
                "partition-of-non-partitioned",
                f"{table} is declared PARTITION OF {name_of(parent)}, which is not partitioned "
                "(no PARTITION BY): the statement fails",
                rewrite=f"-- create {name_of(parent)} with PARTITION BY (...) first, or make {table} a "
                f"plain table:\nCREATE TABLE {table} (LIKE {name_of(parent)} INCLUDING ALL);",
            )


@checkers(CHECKERS, "IndexStmt")
def _unique_index(ctx: StatementContext, node: Any) -> None:
    info = ctx.knowledge.table(table_key(node.relation))
    if not (node.unique or node.primary) or info is None or not info.partitioned or not info.partition_key:
        return
    columns = [e.name for e in node.indexParams or () if e.name]
    missing = _missing(info.partition_key, columns)
    if missing:
        ctx.report(
            "partition-key-not-in-unique",
            f"unique index on partitioned table {name_of(node.relation)} omits the partition key column(s) "
            f"{', '.join(missing)}: the statement fails",
            rewrite=_with_key(ctx.sql, info.partition_key),
        )


def _bound_check(parent_key: tuple[str, ...] | None, bound: Any) -> str | None:
    """``CHECK (...)`` implied by a range bound on a one-column key; None when it cannot be written down."""
    if not parent_key or len(parent_key) != 1:
        return None
    column = parent_key[0]
    if bound is None or bound.is_default or bound.strategy != "r":
        return None
    low = const_sql(bound.lowerdatums[0]) if bound.lowerdatums else "MINVALUE"
    high = const_sql(bound.upperdatums[0]) if bound.upperdatums else "MAXVALUE"
    parts = [f"{column} IS NOT NULL"]
    if "MINVALUE" not in low.upper():
        parts.append(f"{column} >= {low}")
    if "MAXVALUE" not in high.upper():
        parts.append(f"{column} < {high}")
    return f"CHECK ({' AND '.join(parts)})"


@checkers(CHECKERS, "AlterTableStmt")
def _alter(ctx: StatementContext, node: Any) -> None:
    key = table_key(node.relation)
    info = ctx.knowledge.table(key)
    parent = name_of(node.relation)
    for cmd in node.cmds or ():
        sub = cmd.subtype
        if sub == "AT_AttachPartition" and node.objtype == "OBJECT_TABLE":
            child_key = table_key(cmd.def_.name)
            child = name_of(cmd.def_.name)
            if info is not None and info.partitioned is False:
                ctx.report(
                    "partition-of-non-partitioned",
                    f"ATTACH PARTITION to {parent}, which is not partitioned: the statement fails",
                    rewrite=f"-- {parent} must be partitioned first (a new partitioned table and a data move):\n"
                    f"-- pgwarden partition convert --table {parent} --key <column>",
                )
                continue
            child_info = ctx.knowledge.table(child_key)
            if child_info is not None and child_info.has_check:
                continue
            check = _bound_check(info.partition_key if info else None, cmd.def_.bound)
            con = f"{cmd.def_.name.relname}_bound"
            first = (
                f"ALTER TABLE {child} ADD CONSTRAINT {con} {check} NOT VALID;"
                if check
                else f"-- ALTER TABLE {child} ADD CONSTRAINT {con} CHECK (<the bound, on the partition key of "
                f"{parent}>) NOT VALID;"
            )
            ctx.report(
                "attach-partition-without-check",
                f"ATTACH PARTITION {child} scans all of {child} under ACCESS EXCLUSIVE to check the bound",
                table=child_key,
                rewrite=f"{first}\n-- next migration:\nALTER TABLE {child} VALIDATE CONSTRAINT {con};\n"
                f"{ctx.sql};\nALTER TABLE {child} DROP CONSTRAINT {con};",
            )
        elif sub == "AT_DetachPartition":
            if cmd.def_.concurrent:
                from pgwarden.lint.rules.index import in_transaction

                in_transaction(ctx, "DETACH PARTITION CONCURRENTLY")
            else:
                ctx.report(
                    "detach-partition-not-concurrently",
                    f"DETACH PARTITION {name_of(cmd.def_.name)} locks all of {parent} ACCESS EXCLUSIVE",
                    table=key,
                    rewrite=f"-- migrate:up transaction:false\nALTER TABLE {parent} DETACH PARTITION "
                    f"{name_of(cmd.def_.name)} CONCURRENTLY;",
                )
        elif sub == "AT_AddConstraint" and info is not None and info.partitioned and info.partition_key:
            con = cmd.def_
            if con.contype in ("CONSTR_PRIMARY", "CONSTR_UNIQUE") and not con.indexname:
                missing = _missing(info.partition_key, strings(con.keys))
                if missing:
                    ctx.report(
                        "partition-key-not-in-unique",
                        f"constraint on partitioned table {parent} omits the partition key column(s) "
                        f"{', '.join(missing)}: the statement fails",
                        rewrite=_with_key(ctx.sql, info.partition_key),
                    )
