"""Destructive or breaking statements: data loss, and renames that break the code still running."""

from __future__ import annotations

from typing import Any

from pgwarden.lint.context import StatementContext, table_key
from pgwarden.lint.model import Rule
from pgwarden.lint.rules._commands import plan_hint
from pgwarden.lint.rules._util import Checker, checkers, ident, name_of, strings
from pgwarden.lint.tree import kind_of, name_list

_EXPAND = (
    "-- expand/contract: ship code that no longer uses it first, keep a backup "
    "(pgwarden backup create), then drop it in a later release:\n"
)

RULES = [
    Rule(
        "drop-table",
        "destructive",
        "error",
        "DROP TABLE of an existing table",
        "The data is gone (only a backup brings it back) and code still running against the table fails. "
        "Drop it only after a release that no longer uses it, with a verified backup.",
        "DROP TABLE legacy_orders;",
        _EXPAND + "-- pgwarden:ignore drop-table unused since release 42, backup 2024-05-01\nDROP TABLE legacy_orders;",
        lock="ACCESS EXCLUSIVE",
    ),
    Rule(
        "drop-column",
        "destructive",
        "error",
        "ALTER TABLE ... DROP COLUMN",
        "The column's data is lost, and application servers still running the previous release fail on "
        "INSERTs and SELECTs that name the column (ORMs often name every column).",
        "ALTER TABLE users DROP COLUMN legacy_flag;",
        _EXPAND + "-- pgwarden:ignore drop-column not read since release 42\n"
        "ALTER TABLE users DROP COLUMN legacy_flag;",
        lock="ACCESS EXCLUSIVE",
    ),
    Rule(
        "drop-schema",
        "destructive",
        "error",
        "DROP SCHEMA or DROP DATABASE",
        "Everything in the schema is lost.",
        "DROP SCHEMA reporting CASCADE;",
        _EXPAND + "-- pgwarden:ignore drop-schema reporting moved to the warehouse\nDROP SCHEMA reporting;",
        lock="ACCESS EXCLUSIVE",
    ),
    Rule(
        "truncate",
        "destructive",
        "error",
        "TRUNCATE",
        "Removes every row and takes an ACCESS EXCLUSIVE lock. In a migration this is almost always a "
        "mistake (a script meant for development).",
        "TRUNCATE audit_logs;",
        "-- delete what must go, in batches:\n"
        "DELETE FROM audit_logs WHERE id IN (SELECT id FROM audit_logs WHERE created_at < now() - "
        "interval '1 year' LIMIT 10000);",
        lock="ACCESS EXCLUSIVE",
    ),
    Rule(
        "delete-without-where",
        "destructive",
        "error",
        "DELETE without WHERE",
        "Deletes every row of the table in one transaction, locking every row it deletes.",
        "DELETE FROM sessions;",
        "DELETE FROM sessions WHERE expires_at < now();",
        lock="ROW EXCLUSIVE",
    ),
    Rule(
        "update-without-where",
        "destructive",
        "error",
        "UPDATE without WHERE",
        "Rewrites every row in one transaction: every row stays locked against other writers until it "
        "commits, and the table doubles in size until vacuum. Backfill in batches instead.",
        "UPDATE users SET country = 'unknown';",
        "-- migrate:up transaction:false\n"
        "-- or once, from a shell: pgwarden backfill public.users --set \"country = 'unknown'\" --batch 10000\n"
        "-- pgwarden:backfill table=public.users set='country = ''unknown''' batch=10000",
        lock="ROW EXCLUSIVE",
    ),
    Rule(
        "rename-table",
        "destructive",
        "error",
        "Renaming (or moving) an existing table",
        "Code still running the previous release queries the old name and fails the moment the rename "
        "commits. Use expand/contract: create the new name as a view (or new table kept in sync), switch the "
        "code, then drop the old name.",
        "ALTER TABLE customers RENAME TO clients;",
        "-- pgwarden:ignore rename-table the old name stays readable as a view until release 43\n"
        "ALTER TABLE customers RENAME TO clients;\nCREATE VIEW customers AS SELECT * FROM clients;\n"
        "-- drop the view once no code uses the old name",
        lock="ACCESS EXCLUSIVE",
    ),
    Rule(
        "rename-column",
        "destructive",
        "error",
        "Renaming a column of an existing table",
        "Code still running the previous release names the old column and fails the moment the rename "
        "commits. Use expand/contract: add the new column, write both, backfill, switch reads, then drop "
        "the old one.",
        "ALTER TABLE users RENAME COLUMN name TO full_name;",
        "-- pgwarden writes these steps as migrations: pgwarden plan rename-column public.users name full_name\n"
        "ALTER TABLE users ADD COLUMN full_name text;\n-- sync with a trigger, backfill in batches, switch the "
        "code, then drop the old column in a later release",
        lock="ACCESS EXCLUSIVE",
    ),
    Rule(
        "rename-enum-value",
        "destructive",
        "error",
        "ALTER TYPE ... RENAME VALUE",
        "Rows and running code that use the old label break: queries comparing with the old value fail "
        "('invalid input value for enum').",
        "ALTER TYPE order_status RENAME VALUE 'canceled' TO 'cancelled';",
        "ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'cancelled';\n"
        "-- switch the code to write the new value, migrate rows in batches, stop reading the old one",
    ),
]

CHECKERS: dict[str, list[Checker]] = {}


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ignore_rewrite(ctx: StatementContext, rule: str, what: str) -> str:
    """The statement with a reasoned ignore above it, after the expand/contract steps that make it safe."""
    return f"{_EXPAND}-- pgwarden:ignore {rule} {what} unused since the previous release, backup verified\n{ctx.sql};"


def _batched_delete(table: str) -> str:
    quoted = ".".join(ident(p) for p in table.split("."))
    return f"DELETE FROM {quoted} WHERE ctid = ANY (ARRAY(SELECT ctid FROM {quoted} LIMIT 10000));"


def _expand_column(ctx: StatementContext, node: Any) -> str:
    """Expand/contract for a column rename: the new column with the old one's type, written by both releases."""
    table = name_of(node.relation)
    info = ctx.knowledge.table(table_key(node.relation))
    column_type = info.columns.get(node.subname) if info is not None else None
    add = (
        f"ALTER TABLE {table} ADD COLUMN {ident(node.newname)} {column_type};"
        if column_type
        else f"-- ALTER TABLE {table} ADD COLUMN {ident(node.newname)} <the type of {node.subname}>;"
    )
    return (
        f"{plan_hint('rename-column', node.relation, node.subname, node.newname)}\n"
        f"{add}\n-- keep {node.newname} in sync with {node.subname} (trigger), backfill it in batches, "
        f"switch the code to {node.newname},\n-- then drop {node.subname} in a later release"
    )


@checkers(CHECKERS, "DropStmt")
def _drop(ctx: StatementContext, node: Any) -> None:
    kind = node.removeType
    if kind == "OBJECT_TABLE":
        parts = [name_list(obj) for obj in node.objects or ()]
        names = [".".join(p) for p in parts]
        keys = [table_key((p[-2], p[-1]) if len(p) > 1 else (None, p[0])) for p in parts]
        existing = [n for n, k in zip(names, keys, strict=True) if not ctx.knowledge.is_new(k)]
        if existing:
            ctx.report(
                "drop-table",
                f"DROP TABLE {', '.join(existing)} deletes its data and breaks code still using it",
                rewrite=_ignore_rewrite(ctx, "drop-table", ", ".join(existing)),
            )
    elif kind == "OBJECT_SCHEMA":
        names = [".".join(name_list(obj)) for obj in node.objects or ()]
        ctx.report(
            "drop-schema",
            f"DROP SCHEMA {', '.join(names)} deletes everything in it",
            rewrite=_ignore_rewrite(ctx, "drop-schema", ", ".join(names)),
        )


@checkers(CHECKERS, "DropdbStmt")
def _drop_database(ctx: StatementContext, node: Any) -> None:
    ctx.report(
        "drop-schema",
        f"DROP DATABASE {node.dbname} deletes everything in it",
        rewrite=_ignore_rewrite(ctx, "drop-schema", node.dbname),
    )


@checkers(CHECKERS, "AlterTableStmt")
def _drop_column(ctx: StatementContext, node: Any) -> None:
    key = table_key(node.relation)
    if node.objtype != "OBJECT_TABLE" or ctx.knowledge.is_new(key):
        return
    info = ctx.knowledge.table(key)
    added = info.added_columns if info is not None else set()
    for cmd in node.cmds or ():
        if cmd.subtype == "AT_DropColumn" and cmd.name not in added:
            ctx.report(
                "drop-column",
                f"DROP COLUMN {name_of(node.relation)}.{cmd.name} deletes its data and breaks code that still names it",
                rewrite=_ignore_rewrite(ctx, "drop-column", f"{name_of(node.relation)}.{cmd.name}"),
            )


@checkers(CHECKERS, "TruncateStmt")
def _truncate(ctx: StatementContext, node: Any) -> None:
    existing = [name_of(rv) for rv in node.relations if not ctx.knowledge.is_new(table_key(rv))]
    if existing:
        ctx.report(
            "truncate",
            f"TRUNCATE {', '.join(existing)} deletes every row under ACCESS EXCLUSIVE",
            rewrite="-- delete what must go in batches (repeat until 0 rows, each its own transaction):\n"
            + "\n".join(_batched_delete(t) for t in existing),
        )


@checkers(CHECKERS, "DeleteStmt", "UpdateStmt")
def _no_where(ctx: StatementContext, node: Any) -> None:
    if node.whereClause is not None or ctx.knowledge.is_new(table_key(node.relation)):
        return
    if kind_of(node) == "DeleteStmt":
        ctx.report(
            "delete-without-where",
            f"DELETE FROM {name_of(node.relation)} without WHERE deletes every row",
            blocks="writes",
            rewrite="-- in batches (repeat until 0 rows, each its own transaction):\n"
            + _batched_delete(name_of(node.relation)),
        )
    else:
        from pgwarden.lint.rules._batch import backfill_rewrite, keyset_rewrite

        built = backfill_rewrite(ctx.sql) or keyset_rewrite(ctx.sql, ctx.knowledge, node)
        ctx.report(
            "update-without-where",
            f"UPDATE {name_of(node.relation)} without WHERE rewrites every row in one transaction",
            blocks="writes",
            rewrite=built[0] if built else None,
        )


@checkers(CHECKERS, "RenameStmt")
def _rename(ctx: StatementContext, node: Any) -> None:
    kind = node.renameType
    if node.relation is None or ctx.knowledge.is_new(table_key(node.relation)):
        return
    if kind == "OBJECT_TABLE":
        ctx.report(
            "rename-table",
            f"RENAME {name_of(node.relation)} TO {node.newname} breaks code that still uses the old name",
            rewrite=f"-- pgwarden:ignore rename-table {name_of(node.relation)} stays readable as a view until "
            f"no running code uses it\nALTER TABLE {name_of(node.relation)} RENAME TO {node.newname};\n"
            f"CREATE VIEW {name_of(node.relation)} AS SELECT * FROM {node.newname};\n"
            "-- drop the view once no running code uses the old name",
        )
    elif kind == "OBJECT_COLUMN" and node.relationType == "OBJECT_TABLE":
        ctx.report(
            "rename-column",
            f"RENAME COLUMN {name_of(node.relation)}.{node.subname} TO {node.newname} "
            "breaks code that still uses the old name",
            rewrite=_expand_column(ctx, node),
        )


@checkers(CHECKERS, "AlterObjectSchemaStmt")
def _set_schema(ctx: StatementContext, node: Any) -> None:
    if (
        node.objectType == "OBJECT_TABLE"
        and node.relation is not None
        and not ctx.knowledge.is_new(table_key(node.relation))
    ):
        ctx.report(
            "rename-table",
            f"SET SCHEMA moves {name_of(node.relation)} to {node.newschema}: code using the old name breaks",
            rewrite=f"-- pgwarden:ignore rename-table {name_of(node.relation)} stays readable as a view until "
            f"no running code uses it\n{ctx.sql};\nCREATE VIEW {name_of(node.relation)} AS SELECT * "
            f"FROM {node.newschema}.{node.relation.relname};",
        )


@checkers(CHECKERS, "AlterEnumStmt")
def _rename_value(ctx: StatementContext, node: Any) -> None:
    if node.oldVal:
        enum = ".".join(strings(node.typeName))
        ctx.report(
            "rename-enum-value",
            f"RENAME VALUE '{node.oldVal}' TO '{node.newVal}' breaks rows and code using the old label",
            rewrite=f"ALTER TYPE {enum} ADD VALUE IF NOT EXISTS {_literal(node.newVal)};\n"
            f"-- switch the code to write {_literal(node.newVal)}, then (next migration) move the rows "
            f"in batches from {_literal(node.oldVal)}; stop reading the old label",
        )
