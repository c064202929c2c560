"""Constraint rules: validation scans under strong locks and index builds hidden in ADD CONSTRAINT."""

from __future__ import annotations

import re
from typing import Any

from pgwarden.lint.context import StatementContext, table_key
from pgwarden.lint.model import Rule
from pgwarden.lint.rules._commands import plan_hint, relation_arg
from pgwarden.lint.rules._util import Checker, checkers, deparse, name_of, not_valid, strings, type_text
from pgwarden.lint.tree import kind_of

RULES = [
    Rule(
        "add-foreign-key-without-not-valid",
        "constraints",
        "error",
        "FOREIGN KEY added to an existing table without NOT VALID",
        "Adding a foreign key checks every existing row while holding a SHARE ROW EXCLUSIVE lock on both tables: "
        "writes to either table wait for the whole scan. Add it NOT VALID (instant; new rows are checked), then "
        "VALIDATE CONSTRAINT in a later transaction, which only takes SHARE UPDATE EXCLUSIVE.",
        "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);",
        "-- pgwarden writes these steps as migrations: pgwarden plan add-fk public.orders customer_id "
        "public.customers id\n"
        "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) "
        "NOT VALID;\n-- next migration:\nALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;",
        lock="SHARE ROW EXCLUSIVE",
        graded=True,
    ),
    Rule(
        "add-check-without-not-valid",
        "constraints",
        "error",
        "CHECK constraint added to an existing table without NOT VALID",
        "Adding a CHECK constraint scans the whole table under an ACCESS EXCLUSIVE lock: no reads or writes "
        "until every row is checked. Add it NOT VALID, then VALIDATE CONSTRAINT in a later transaction "
        "(SHARE UPDATE EXCLUSIVE: reads and writes continue).",
        "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0);",
        "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;\n"
        "-- next migration:\nALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;",
        lock="ACCESS EXCLUSIVE",
        graded=True,
    ),
    Rule(
        "add-unique-without-index",
        "constraints",
        "error",
        "UNIQUE, PRIMARY KEY or EXCLUDE constraint added without USING INDEX",
        "ADD CONSTRAINT ... UNIQUE / PRIMARY KEY builds its index while holding an ACCESS EXCLUSIVE lock: the "
        "table is unreadable and unwritable for the whole build. Build a unique index CONCURRENTLY first, then "
        "attach it with ADD CONSTRAINT ... USING INDEX (instant).",
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
        "-- migrate:up transaction:false\n"
        "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);\n"
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;",
        lock="ACCESS EXCLUSIVE",
        graded=True,
    ),
    Rule(
        "validate-in-same-transaction",
        "constraints",
        "error",
        "VALIDATE CONSTRAINT in the same transaction as its ADD ... NOT VALID",
        "NOT VALID only helps if the validation runs in a later transaction: in the same transaction the lock "
        "taken by ADD CONSTRAINT (ACCESS EXCLUSIVE for CHECK, SHARE ROW EXCLUSIVE for FOREIGN KEY) is still "
        "held during the validating scan.",
        "-- migrate:up\nALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) "
        "REFERENCES customers (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;",
        "-- 001_add_fk.sql\nALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) "
        "REFERENCES customers (id) NOT VALID;\n-- 002_validate_fk.sql\n"
        "ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;",
        lock="ACCESS EXCLUSIVE",
        graded=True,
    ),
]

CHECKERS: dict[str, list[Checker]] = {}


def _not_valid_rewrite(ctx: StatementContext, node: Any, con: Any, what: str) -> str:
    """This ADD CONSTRAINT alone, NOT VALID (deparsed from the statement), then VALIDATE in the next migration."""
    from pgwarden.lint.rules._util import deparse, pg_ast

    table = name_of(node.relation)
    if len(node.cmds or ()) == 1:  # the common case, as text: no pglast parse
        name = (
            con.conname
            or f"{node.relation.relname}_{'_'.join(strings(con.fk_attrs or con.keys)) or 'new'}_"
            f"{'fkey' if what == 'FOREIGN KEY' else 'check'}"
        )
        sql = (
            ctx.sql
            if con.conname
            else re.sub(r"(?i)\bADD\s+(?!CONSTRAINT\b)", f"ADD CONSTRAINT {name} ", ctx.sql, count=1)
        )
        return f"{not_valid(sql).rstrip(';')};\n-- next migration:\nALTER TABLE {table} VALIDATE CONSTRAINT {name};"
    stmt = pg_ast(ctx.sql)
    stmt.cmds = (
        tuple(
            c
            for c in stmt.cmds
            if getattr(c.def_, "conname", None) == con.conname
            and getattr(c.def_, "contype", None) is not None
            and c.def_.contype.name == con.contype
        )[:1]
        or stmt.cmds[:1]
    )
    added = stmt.cmds[0].def_
    added.skip_validation = True
    added.initially_valid = False
    name = con.conname
    if not name:
        columns = "_".join(strings(con.fk_attrs or con.keys)) or what.lower()
        name = added.conname = f"{node.relation.relname}_{columns}_{'fkey' if what == 'FOREIGN KEY' else 'check'}"
    return f"{deparse(stmt)};\n-- next migration:\nALTER TABLE {table} VALIDATE CONSTRAINT {name};"


def _fk_hint(node: Any, con: Any) -> str:
    """The ``pgwarden plan add-fk`` line for a single-column foreign key ("" for a composite one)."""
    columns, keys = strings(con.fk_attrs), strings(con.pk_attrs)
    if len(columns) != 1 or len(keys) > 1 or con.pktable is None:
        return ""
    return plan_hint("add-fk", node.relation, columns[0], relation_arg(con.pktable), *keys) + "\n"


def _add_constraint(ctx: StatementContext, node: Any, con: Any, key: str) -> None:
    table = name_of(node.relation)
    kind = con.contype
    label = f"constraint {con.conname}" if con.conname else "constraint"
    if kind == "CONSTR_FOREIGN" and not con.skip_validation:
        ctx.report(
            "add-foreign-key-without-not-valid",
            f"ADD {label} FOREIGN KEY scans {table} while blocking writes to {table} and {name_of(con.pktable)}",
            table=key,
            rewrite=_fk_hint(node, con) + _not_valid_rewrite(ctx, node, con, "FOREIGN KEY"),
        )
        ctx.took_lock(key, "SHARE ROW EXCLUSIVE")
    elif kind == "CONSTR_CHECK" and not con.skip_validation:
        ctx.report(
            "add-check-without-not-valid",
            f"ADD {label} CHECK scans {table} under ACCESS EXCLUSIVE (no reads or writes meanwhile)",
            table=key,
            rewrite=_not_valid_rewrite(ctx, node, con, "CHECK"),
        )
        ctx.took_lock(key, "ACCESS EXCLUSIVE")
    elif kind in ("CONSTR_UNIQUE", "CONSTR_PRIMARY", "CONSTR_EXCLUSION") and not con.indexname:
        what = {"CONSTR_UNIQUE": "UNIQUE", "CONSTR_PRIMARY": "PRIMARY KEY", "CONSTR_EXCLUSION": "EXCLUDE"}[kind]
        columns = ", ".join(strings(con.keys)) or "..."
        index = con.conname or f"{node.relation.relname}_{'_'.join(strings(con.keys)) or 'key'}_idx"
        ctx.report(
            "add-unique-without-index",
            f"ADD {label} {what} builds an index on {table} under ACCESS EXCLUSIVE",
            table=key,
            rewrite=f"-- migrate:up transaction:false\nCREATE UNIQUE INDEX CONCURRENTLY {index} "
            f"ON {table} ({columns});\nALTER TABLE {table} ADD CONSTRAINT {index} "
            f"{what} USING INDEX {index};",
        )
        ctx.took_lock(key, "ACCESS EXCLUSIVE")


def _check_text(ctx: StatementContext, cmd_index: int, con_index: int) -> str:
    """``CHECK (expr)`` of a column constraint, deparsed from pglast's AST (parsed only for this rewrite)."""
    import pglast

    stmt: Any = pglast.parse_sql(ctx.sql)[0].stmt
    con = stmt.cmds[cmd_index].def_.constraints[con_index]
    return f"CHECK ({deparse(con.raw_expr)})"


def _column_constraints(ctx: StatementContext, node: Any, col: Any, key: str, cmd_index: int) -> None:
    table = name_of(node.relation)
    has_default = any(
        c.contype in ("CONSTR_DEFAULT", "CONSTR_IDENTITY", "CONSTR_GENERATED") and not _null_default(c)
        for c in col.constraints or ()
    )
    for con_index, con in enumerate(col.constraints or ()):
        kind = con.contype
        if kind in ("CONSTR_UNIQUE", "CONSTR_PRIMARY"):
            what = "UNIQUE" if kind == "CONSTR_UNIQUE" else "PRIMARY KEY"
            index = f"{node.relation.relname}_{col.colname}_key"
            ctx.report(
                "add-unique-without-index",
                f"ADD COLUMN {col.colname} {what} builds an index on {table} under ACCESS EXCLUSIVE",
                table=key,
                rewrite=f"ALTER TABLE {table} ADD COLUMN {col.colname} {type_text(col.typeName)};\n"
                f"-- next migration:\n-- migrate:up transaction:false\n"
                f"CREATE UNIQUE INDEX CONCURRENTLY {index} ON {table} ({col.colname});\n"
                f"-- next migration:\nALTER TABLE {table} ADD CONSTRAINT {index} {what} "
                f"USING INDEX {index};",
            )
        elif kind == "CONSTR_FOREIGN" and has_default and not con.skip_validation:
            fk = con.conname or f"{node.relation.relname}_{col.colname}_fkey"
            target = name_of(con.pktable)
            keys = ", ".join(strings(con.pk_attrs)) or "id"
            ctx.report(
                "add-foreign-key-without-not-valid",
                f"ADD COLUMN {col.colname} REFERENCES with a DEFAULT checks every row of {table}",
                table=key,
                rewrite=f"ALTER TABLE {table} ADD COLUMN {col.colname} {type_text(col.typeName)};\n"
                f"ALTER TABLE {table} ADD CONSTRAINT {fk} FOREIGN KEY ({col.colname}) REFERENCES "
                f"{target} ({keys}) NOT VALID;\n-- set the default and backfill, then next "
                f"migration:\nALTER TABLE {table} VALIDATE CONSTRAINT {fk};",
            )
        elif kind == "CONSTR_CHECK" and not con.skip_validation:
            ctx.report(
                "add-check-without-not-valid",
                f"ADD COLUMN {col.colname} with a CHECK scans every row of {table} under ACCESS EXCLUSIVE",
                table=key,
                rewrite=f"ALTER TABLE {table} ADD COLUMN {col.colname} {type_text(col.typeName)};\n"
                f"ALTER TABLE {table} ADD CONSTRAINT {node.relation.relname}_{col.colname}_check "
                f"{_check_text(ctx, cmd_index, con_index)} NOT VALID;\n"
                f"-- next migration:\nALTER TABLE {table} "
                f"VALIDATE CONSTRAINT {node.relation.relname}_{col.colname}_check;",
            )


def _null_default(con: Any) -> bool:
    expr: Any = getattr(con, "raw_expr", None)
    return con.contype == "CONSTR_DEFAULT" and kind_of(expr) == "A_Const" and bool(expr.isnull)


def _validate(ctx: StatementContext, node: Any, name: str, key: str) -> None:
    entry = ctx.knowledge.not_valid.get((key, name))
    if entry is None:
        return
    txn_id, _column, lock = entry
    if txn_id == ctx.txn.id and ctx.txn.explicit:
        table = name_of(node.relation)
        ctx.report(
            "validate-in-same-transaction",
            f"VALIDATE CONSTRAINT {name} runs in the transaction that added it: the {lock} lock on "
            f"{table} is held during the whole validating scan",
            table=key,
            lock=lock,
            rewrite=f"-- move to the next migration (its own transaction):\n"
            f"ALTER TABLE {table} VALIDATE CONSTRAINT {name};",
        )


@checkers(CHECKERS, "AlterTableStmt")
def _alter_table(ctx: StatementContext, node: Any) -> None:
    if node.objtype != "OBJECT_TABLE":
        return
    key = table_key(node.relation)
    for index, cmd in enumerate(node.cmds or ()):
        sub = cmd.subtype
        if sub == "AT_AddConstraint":
            _add_constraint(ctx, node, cmd.def_, key)
        elif sub == "AT_AddColumn":
            _column_constraints(ctx, node, cmd.def_, key, index)
        elif sub == "AT_ValidateConstraint":
            _validate(ctx, node, cmd.name, key)


@checkers(CHECKERS, "AlterDomainStmt")
def _alter_domain(ctx: StatementContext, node: Any) -> None:
    con = node.def_
    if node.subtype == "C" and con is not None and con.contype == "CONSTR_CHECK" and not con.skip_validation:
        name = ".".join(strings(node.typeName))
        con_name = con.conname or f"{name.rsplit('.', 1)[-1]}_check"
        sql = ctx.sql if con.conname else ctx.sql.replace(" ADD ", f" ADD CONSTRAINT {con_name} ", 1)
        ctx.report(
            "add-check-without-not-valid",
            f"ALTER DOMAIN {name} ADD CHECK scans every column of every table that uses the domain",
            rewrite=f"{not_valid(sql)};\n-- next migration:\nALTER DOMAIN {name} VALIDATE CONSTRAINT {con_name};",
        )
