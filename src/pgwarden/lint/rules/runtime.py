"""Run-time failures: statements PostgreSQL parses but refuses when they run.

The static rules here catch what the statement text proves; ``pgwarden lint --execute``
(:mod:`pgwarden.lint.execute`) applies the migrations on a scratch database and reports
every other failure under ``runtime-error`` (file:line, message, SQLSTATE).
"""

from __future__ import annotations

import re
from typing import Any

from pgwarden.lint.context import StatementContext, table_key
from pgwarden.lint.model import Rule
from pgwarden.lint.rules._util import Checker, checkers, ident, name_of, strings
from pgwarden.lint.tree import J, func_calls, kind_of

RULES = [
    Rule(
        "enum-value-used-in-same-transaction",
        "runtime",
        "error",
        "A value added with ALTER TYPE ... ADD VALUE is used in the same transaction",
        "A new enum label cannot be used until the transaction that added it commits: the statement fails with "
        "55P04 'unsafe use of new value'. Add the value in its own migration (or a transaction:false "
        "section), then use it in the next one.",
        "-- migrate:up\nALTER TYPE mood ADD VALUE 'happy';\nUPDATE people SET current_mood = 'happy' WHERE id = 1;",
        "-- one migration (transaction:false, or its own transaction):\n"
        "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'happy';\n"
        "-- the next migration, once that committed:\nUPDATE people SET current_mood = 'happy' WHERE id = 1;",
    ),
    Rule(
        "index-predicate-not-immutable",
        "runtime",
        "error",
        "Index predicate or expression calls a function that is not IMMUTABLE (now(), CURRENT_DATE, random())",
        "An index's WHERE clause and expressions must give the same answer forever, so PostgreSQL requires "
        "IMMUTABLE functions: now(), CURRENT_DATE, CURRENT_TIMESTAMP, random() and the like fail with 42P17 "
        "'functions in index predicate must be marked IMMUTABLE'. Compare with a constant instead.",
        "CREATE INDEX orders_recent_idx ON orders (created_at) WHERE created_at > CURRENT_DATE - 30;",
        "CREATE INDEX orders_recent_idx ON orders (created_at) WHERE created_at > '2025-01-01';",
    ),
    Rule(
        "create-existing-table",
        "runtime",
        "error",
        "CREATE TABLE (or PARTITION OF) of a table that already exists",
        "The table was created by an earlier statement or migration (or exists in the database): CREATE TABLE "
        "fails with 42P07 'relation already exists' and the whole migration rolls back. A partition created "
        "twice is the usual case, after two migrations were written from the same template.",
        "CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n"
        "CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');",
        "CREATE TABLE IF NOT EXISTS events_2025 PARTITION OF events\n"
        "  FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');",
    ),
    Rule(
        "runtime-error",
        "runtime",
        "error",
        "The statement failed when executed on a scratch database",
        "pgwarden lint --execute applies the migrations on a scratch database that holds the target's schema and "
        "reports each statement PostgreSQL refused, with its message and SQLSTATE: a trigger created before its "
        "function, a partition created twice, a non-IMMUTABLE function in an index predicate, a missing "
        "column. The same statement fails in `migrate up`.",
        "CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch_updated_at();\n"
        "CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now();"
        " RETURN NEW; END $$;",
        "CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now();"
        " RETURN NEW; END $$;\n"
        "CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch_updated_at();",
        needs_database=True,
    ),
    Rule(
        "extension-not-available",
        "runtime",
        "warning",
        "An extension the migration needs is not available on the scratch server",
        "pgwarden lint --execute could not check the statements that need this extension (pg_cron, uuid-ossp, "
        "pgcrypto, ...) because the scratch server does not have it: they were not checked, not passed. Make "
        "sure the target server has it installed (CREATE EXTENSION fails there otherwise).",
        "CREATE EXTENSION IF NOT EXISTS pg_cron;\nSELECT cron.schedule('nightly', '0 3 * * *', 'VACUUM');",
        "-- pgwarden:ignore extension-not-available pg_cron is installed on every server we deploy to\n"
        "CREATE EXTENSION IF NOT EXISTS pg_cron;",
        needs_database=True,
    ),
]

CHECKERS: dict[str, list[Checker]] = {}

# Built-in functions (and SQL value functions) that are not IMMUTABLE.
NOT_IMMUTABLE = frozenset(
    {
        "now",
        "current_date",
        "current_time",
        "current_timestamp",
        "localtime",
        "localtimestamp",
        "transaction_timestamp",
        "statement_timestamp",
        "clock_timestamp",
        "timeofday",
        "random",
        "random_normal",
        "gen_random_uuid",
        "uuidv4",
        "uuidv7",
        "nextval",
        "currval",
        "txid_current",
        "age",
        "current_user",
        "session_user",
        "current_setting",
        "to_char",
        "to_timestamp",
    }
)
_VALUE_FUNCTIONS = {
    "SVFOP_CURRENT_DATE": "CURRENT_DATE",
    "SVFOP_CURRENT_TIME": "CURRENT_TIME",
    "SVFOP_CURRENT_TIME_N": "CURRENT_TIME",
    "SVFOP_CURRENT_TIMESTAMP": "CURRENT_TIMESTAMP",
    "SVFOP_CURRENT_TIMESTAMP_N": "CURRENT_TIMESTAMP",
    "SVFOP_LOCALTIME": "LOCALTIME",
    "SVFOP_LOCALTIME_N": "LOCALTIME",
    "SVFOP_LOCALTIMESTAMP": "LOCALTIMESTAMP",
    "SVFOP_LOCALTIMESTAMP_N": "LOCALTIMESTAMP",
}


def _walk(data: Any) -> Any:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def string_constants(data: Any) -> set[str]:
    """Every string literal in a raw JSON subtree."""
    out = set()
    for item in _walk(data):
        const = item.get("A_Const")
        if isinstance(const, dict) and isinstance(const.get("sval"), dict):
            out.add(const["sval"].get("sval", ""))
    return out


def not_immutable_calls(data: Any) -> list[str]:
    """Names of the non-IMMUTABLE built-ins (CURRENT_DATE, now(), ...) called in a raw JSON subtree."""
    found = [f"{name}()" for name in func_calls(data) if name in NOT_IMMUTABLE]
    for item in _walk(data):
        svf = item.get("SQLValueFunction")
        if isinstance(svf, dict) and svf.get("op") in _VALUE_FUNCTIONS:
            found.append(_VALUE_FUNCTIONS[svf["op"]])
    return found


@checkers(CHECKERS, "AlterEnumStmt")
def _add_value(ctx: StatementContext, node: Any) -> None:
    if node.newVal and not node.oldVal and ctx.in_transaction_block:
        ctx.txn.new_enum_values[node.newVal] = (".".join(strings(node.typeName)), ctx.line)


def _uses_new_value(ctx: StatementContext, node: Any) -> None:
    if not ctx.txn.new_enum_values or not isinstance(node, J) or kind_of(node) == "AlterEnumStmt":
        return
    used = string_constants(node.raw) & set(ctx.txn.new_enum_values)
    for value in sorted(used):
        type_name, line = ctx.txn.new_enum_values[value]
        ctx.report(
            "enum-value-used-in-same-transaction",
            f"'{value}' was added to {type_name} in this transaction (line {line}): using it before that "
            "commits fails with 55P04 unsafe use of new value",
            rewrite=f"-- migrate:up transaction:false\nALTER TYPE {type_name} ADD VALUE IF NOT EXISTS "
            f"'{value}';\n-- next migration:\n{ctx.sql};",
        )


for _kind in (
    "UpdateStmt",
    "InsertStmt",
    "DeleteStmt",
    "SelectStmt",
    "CreateStmt",
    "AlterTableStmt",
    "CreateFunctionStmt",
    "ViewStmt",
    "IndexStmt",
    "CallStmt",
):
    CHECKERS.setdefault(_kind, []).append(_uses_new_value)


@checkers(CHECKERS, "IndexStmt")
def _index_immutable(ctx: StatementContext, node: Any) -> None:
    raw = node.raw
    calls = not_immutable_calls(raw.get("whereClause")) + not_immutable_calls(raw.get("indexParams"))
    if not calls:
        return
    where = "predicate" if not_immutable_calls(raw.get("whereClause")) else "expression"
    ctx.report(
        "index-predicate-not-immutable",
        f"index {where} on {name_of(node.relation)} calls {calls[0]}, which is not IMMUTABLE: CREATE INDEX "
        "fails (42P17)",
        rewrite=_constant_predicate(ctx.sql)
        if where == "predicate"
        else "-- index the column itself, or an IMMUTABLE function of your own that computes the expression",
    )


_TODAY_CALLS = re.compile(
    r"(?i)\b(current_date|current_timestamp|localtimestamp|now\(\s*\)|"
    r"transaction_timestamp\(\s*\)|statement_timestamp\(\s*\)|clock_timestamp\(\s*\))"
)


def _constant_predicate(sql: str) -> str:
    """The CREATE INDEX with today's date written as a constant in place of CURRENT_DATE / now()."""
    import datetime as dt

    today = dt.date.today().isoformat()

    def constant(match: re.Match[str]) -> str:
        return f"DATE '{today}'" if match.group(1).lower() == "current_date" else f"TIMESTAMPTZ '{today}'"

    return (
        "-- an index predicate must not move: compare with a constant and recreate the index when the window "
        f"should move\n{_TODAY_CALLS.sub(constant, sql)};"
    )


@checkers(CHECKERS, "CreateStmt")
def _create_existing(ctx: StatementContext, node: Any) -> None:
    if node.if_not_exists:
        return
    key = table_key(node.relation)
    info = ctx.knowledge.table(key)
    if info is None or not (info.new or info.context or info.live):
        return
    where = "earlier in this run" if info.new else "by an earlier migration" if info.context else "in the database"
    ctx.report(
        "create-existing-table",
        f"{name_of(node.relation)} already exists (created {where}): CREATE TABLE fails with 42P07",
        rewrite=f"-- remove this statement, or make it idempotent:\n"
        f"{ctx.sql.replace('CREATE TABLE ', 'CREATE TABLE IF NOT EXISTS ', 1)};",
    )


__all__ = ["RULES", "CHECKERS", "ident", "not_immutable_calls", "string_constants"]
