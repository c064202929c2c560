"""Column rules: ADD COLUMN that fails or rewrites, type changes that rewrite, SET NOT NULL that scans."""

from __future__ import annotations

from typing import Any

from pgwarden.lint.context import StatementContext, table_key
from pgwarden.lint.model import Rule
from pgwarden.lint.rules._commands import plan_hint, type_arg
from pgwarden.lint.rules._util import Checker, checkers, has_identity_or_serial, name_of, strings, type_name, type_text
from pgwarden.lint.tree import J, func_calls, kind_of

RULES = [
    Rule(
        "add-column-not-null-no-default",
        "columns",
        "error",
        "ADD COLUMN ... NOT NULL without a DEFAULT",
        "Existing rows would get NULL in the new column, so the statement fails on any table that has rows. "
        "Since PostgreSQL 11 a constant DEFAULT is stored in the catalog without rewriting the table.",
        "ALTER TABLE users ADD COLUMN country text NOT NULL;",
        "ALTER TABLE users ADD COLUMN country text NOT NULL DEFAULT 'unknown';\n"
        "-- or: add it nullable, backfill in batches, then add a NOT NULL constraint NOT VALID and validate it",
        lock="ACCESS EXCLUSIVE",
    ),
    Rule(
        "add-column-rewrites-table",
        "columns",
        "error",
        "ADD COLUMN with a volatile default, serial, identity or a stored generated column",
        "A DEFAULT that must be computed per row (clock_timestamp(), random(), gen_random_uuid(), nextval() from "
        "serial or identity) or a GENERATED ... STORED column makes PostgreSQL rewrite the whole table under an "
        "ACCESS EXCLUSIVE lock: no reads or writes until it is done. Constant and stable defaults (now(), "
        "CURRENT_TIMESTAMP, literals) are free.",
        "ALTER TABLE orders ADD COLUMN public_id uuid NOT NULL DEFAULT gen_random_uuid();",
        "ALTER TABLE orders ADD COLUMN public_id uuid;\n"
        "ALTER TABLE orders ALTER COLUMN public_id SET DEFAULT gen_random_uuid();\n"
        "-- backfill old rows in batches (separate migration, outside the DDL transaction):\n"
        "UPDATE orders SET public_id = gen_random_uuid() WHERE id BETWEEN 1 AND 10000 AND public_id IS NULL;",
        lock="ACCESS EXCLUSIVE",
        graded=True,
    ),
    Rule(
        "alter-column-type",
        "columns",
        "error",
        "ALTER COLUMN ... TYPE that rewrites the table",
        "Changing a column's type rewrites the table and rebuilds its indexes under an ACCESS EXCLUSIVE lock, "
        "except for binary-compatible changes: varchar(n) to a larger varchar or to text, and widening "
        "numeric(p,s) precision. A USING clause that computes anything more than a cast of the column "
        "rewrites.",
        "ALTER TABLE orders ALTER COLUMN id TYPE bigint;",
        "-- pgwarden writes these steps as migrations: pgwarden plan change-type public.orders id bigint\n"
        "-- expand/contract: add the new column, keep it in sync with a trigger, backfill in batches,\n"
        "-- then swap names in one short transaction:\n"
        "ALTER TABLE orders ADD COLUMN id_new bigint;\n"
        "-- ... trigger + batched backfill ...\n"
        "-- widening varchar(n) to a larger n, or to text, is safe as is when the old type is known\n"
        "-- (from an earlier migration or the database); an unknown old type is graded as a rewrite",
        lock="ACCESS EXCLUSIVE",
        graded=True,
    ),
    Rule(
        "set-not-null",
        "columns",
        "error",
        "SET NOT NULL without a validated CHECK (col IS NOT NULL)",
        "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock to prove there is no NULL, unless a "
        "validated CHECK (col IS NOT NULL) constraint already proves it (PostgreSQL 12+).",
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        "-- pgwarden writes these steps as migrations: pgwarden plan set-not-null public.users email\n"
        "ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;\n"
        "-- next migration (own transaction):\n"
        "ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;\n"
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"
        "ALTER TABLE users DROP CONSTRAINT users_email_not_null;",
        lock="ACCESS EXCLUSIVE",
        graded=True,
    ),
]

CHECKERS: dict[str, list[Checker]] = {}

VOLATILE = frozenset(
    {
        "random",
        "random_normal",
        "clock_timestamp",
        "timeofday",
        "gen_random_uuid",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "uuidv4",
        "uuidv7",
        "uuid_generate_v7",
        "nextval",
        "setval",
        "currval",
        "lastval",
        "txid_current",
        "pg_current_xact_id",
        "gen_random_bytes",
        "gen_salt",
        "crypt",
        "nanoid",
        "ulid",
        "gen_ulid",
        "generate_ulid",
        "uuid_time_nextval",
        "uuid_sequence_nextval",
    }
)


# Built-in functions that are STABLE or IMMUTABLE (a default using only these needs no rewrite, PostgreSQL 11+).
NOT_VOLATILE = frozenset(
    {
        "now",
        "transaction_timestamp",
        "statement_timestamp",
        "current_timestamp",
        "localtimestamp",
        "current_date",
        "timezone",
        "date_trunc",
        "date_part",
        "extract",
        "to_char",
        "to_timestamp",
        "to_date",
        "to_number",
        "make_date",
        "make_time",
        "make_interval",
        "make_timestamp",
        "make_timestamptz",
        "age",
        "lower",
        "upper",
        "initcap",
        "trim",
        "btrim",
        "ltrim",
        "rtrim",
        "concat",
        "concat_ws",
        "substr",
        "substring",
        "replace",
        "left",
        "right",
        "length",
        "char_length",
        "format",
        "md5",
        "sha256",
        "encode",
        "decode",
        "nullif",
        "abs",
        "round",
        "floor",
        "ceil",
        "ceiling",
        "trunc",
        "jsonb_build_object",
        "json_build_object",
        "jsonb_build_array",
        "json_build_array",
        "to_jsonb",
        "to_json",
        "array_fill",
        "current_setting",
        "current_schema",
        "inet_client_addr",
        "uuid_nil",
        "uuid_ns_url",
        "uuid_ns_dns",
        "uuid_ns_oid",
        "uuid_ns_x500",
        "int4range",
        "int8range",
        "tstzrange",
        "daterange",
        "numrange",
        "tsrange",
        "point",
        "jsonb_object",
        "string_to_array",
        "array_to_string",
    }
)


def volatile_call(expr: Any) -> tuple[str, bool] | None:
    """The first function in ``expr`` that may be volatile: (name(), known volatile?); None when all are stable.

    Known-volatile built-ins are certain; any other function not known to be STABLE or
    IMMUTABLE is reported as possibly volatile (CREATE FUNCTION defaults to VOLATILE).
    """
    if expr is None:
        return None
    unknown = None
    for name in func_calls(expr.tree if isinstance(expr, J) else expr):
        if name in VOLATILE:
            return f"{name}()", True
        if name not in NOT_VOLATILE and unknown is None:
            unknown = f"{name}()"
    return (unknown, False) if unknown else None


def _constraint(column_def: Any, *kinds: str) -> Any:
    for c in column_def.constraints or ():
        if c.contype in kinds:
            return c
    return None


def _rewrite_reason(column_def: Any) -> str | None:
    base, _ = type_name(column_def.typeName) if column_def.typeName is not None else ("", ())
    if base in ("serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"):
        return f"{base} fills every existing row from a sequence"
    if _constraint(column_def, "CONSTR_IDENTITY") is not None:
        return "an identity column fills every existing row from a sequence"
    generated = _constraint(column_def, "CONSTR_GENERATED")
    if generated is not None and generated.generated_kind != "v":
        return "a stored generated column is computed for every existing row"
    default = _constraint(column_def, "CONSTR_DEFAULT")
    if default is not None:
        found = volatile_call(default.raw_expr)
        if found:
            call, certain = found
            return (
                f"the volatile default {call} is evaluated for every existing row"
                if certain
                else f"the default calls {call}, which is VOLATILE unless declared STABLE or IMMUTABLE: then it "
                "is evaluated for every existing row"
            )
    return None


def _default_sql(ctx: StatementContext, col: Any) -> str | None:
    """The column's DEFAULT expression as SQL (deparsed from the statement), None without one."""
    default = _constraint(col, "CONSTR_DEFAULT")
    if default is None:
        return None
    expr = default.raw_expr
    if kind_of(expr) == "FuncCall" and not expr.args and not expr.agg_star:
        return ".".join(strings(expr.funcname)) + "()"  # the common case, without a pglast parse
    from pglast import ast

    from pgwarden.lint.rules._util import column_defs, deparse, pg_ast

    for column in column_defs(pg_ast(ctx.sql)):
        if column.colname == col.colname:
            for con in column.constraints or ():
                if (
                    isinstance(con, ast.Constraint)
                    and con.raw_expr is not None
                    and getattr(con.contype, "name", "") == "CONSTR_DEFAULT"
                ):
                    return deparse(con.raw_expr)
    return None


_SERIAL = {
    "serial": "integer",
    "serial4": "integer",
    "bigserial": "bigint",
    "serial8": "bigint",
    "smallserial": "smallint",
    "serial2": "smallint",
}


def _nullable_then_default(ctx: StatementContext, node: Any, col: Any) -> str:
    """ADD COLUMN without the per-row default (instant), the default for new rows, then a batched backfill."""
    table = name_of(node.relation)
    column_type = type_text(col.typeName)
    default = _default_sql(ctx, col)
    lines = []
    if column_type in _SERIAL or _constraint(col, "CONSTR_IDENTITY") is not None:
        column_type = _SERIAL.get(column_type, column_type)
        sequence = f"{node.relation.relname}_{col.colname}_seq"
        lines = [
            f"ALTER TABLE {table} ADD COLUMN {col.colname} {column_type};",
            f"CREATE SEQUENCE {sequence} OWNED BY {table}.{col.colname};",
            f"ALTER TABLE {table} ALTER COLUMN {col.colname} SET DEFAULT nextval('{sequence}');",
        ]
    else:
        lines = [f"ALTER TABLE {table} ADD COLUMN {col.colname} {column_type};"]
        if default:
            lines.append(f"ALTER TABLE {table} ALTER COLUMN {col.colname} SET DEFAULT {default};")
        elif _constraint(col, "CONSTR_GENERATED") is not None:
            lines.append(f"-- fill {col.colname} from a BEFORE INSERT OR UPDATE trigger, not GENERATED ... STORED")
    lines.append(f"-- then backfill the old rows of {table} in batches (next migration, transaction:false)")
    return "\n".join(lines)


def _add_column(ctx: StatementContext, node: Any, cmd: Any, key: str) -> None:
    col = cmd.def_
    table = name_of(node.relation)
    reason = _rewrite_reason(col)
    if reason:
        ctx.report(
            "add-column-rewrites-table",
            f"ADD COLUMN {col.colname} rewrites {table} under ACCESS EXCLUSIVE: {reason}",
            table=key,
            rewrite=_nullable_then_default(ctx, node, col),
        )
        ctx.took_lock(key, "ACCESS EXCLUSIVE")
        return
    not_null = col.is_not_null or _constraint(col, "CONSTR_NOTNULL", "CONSTR_PRIMARY") is not None
    if not_null and _constraint(col, "CONSTR_DEFAULT", "CONSTR_GENERATED", "CONSTR_IDENTITY") is None:
        info = ctx.knowledge.table(key)
        if ctx.knowledge.is_new(key) or (info is not None and info.live and info.rows == 0 and info.size == 0):
            return
        if ctx.knowledge.live_mode and (info is None or not info.live):
            return
        default = constant_default(type_text(col.typeName))
        rewrite = (
            f"ALTER TABLE {table} ADD COLUMN {col.colname} {type_text(col.typeName)} NOT NULL DEFAULT {default};"
            if default
            else f"ALTER TABLE {table} ADD COLUMN {col.colname} {type_text(col.typeName)};\n"
            f"-- backfill {col.colname} in batches, then add CHECK ({col.colname} IS NOT NULL) NOT VALID, "
            "validate it and SET NOT NULL"
        )
        ctx.report(
            "add-column-not-null-no-default",
            f"ADD COLUMN {col.colname} ... NOT NULL without DEFAULT fails when {table} has rows",
            rewrite=rewrite,
        )


_CONSTANT_DEFAULTS = {
    "text": "''",
    "varchar": "''",
    "char": "''",
    "citext": "''",
    "integer": "0",
    "bigint": "0",
    "smallint": "0",
    "numeric": "0",
    "real": "0",
    "double precision": "0",
    "boolean": "false",
    "timestamptz": "now()",
    "timestamp": "now()",
    "date": "CURRENT_DATE",
    "jsonb": "'{}'",
    "json": "'{}'",
    "uuid": "'00000000-0000-0000-0000-000000000000'",
    "interval": "'0'",
}


def constant_default(column_type: str) -> str | None:
    """A constant (or STABLE) default for ``column_type`` stored without a rewrite, if one is obvious."""
    if column_type.endswith("[]"):
        return "'{}'"
    return _CONSTANT_DEFAULTS.get(column_type.partition("(")[0])


_SAFE_TARGETS = {"text", "varchar", "numeric", "citext", "varbit", "bit varying", "inet"}


def _type_change_is_safe(old: str | None, new_base: str, new_mods: tuple[int, ...]) -> bool:
    """Whether changing ``old`` (e.g. "varchar(20)", None when unknown) to the new type avoids a rewrite.

    Exactly the binary-coercible changes PostgreSQL makes without a rewrite: varchar(n) to a
    larger varchar, to varchar or to text; text/citext to text or varchar without a length;
    numeric(p,s) to a larger precision with the same scale or to numeric; cidr to inet; the
    same type. Everything else (char(n) to varchar, bytea to text, int to bigint, text to
    varchar(n), a shorter varchar) rewrites; an unknown old type is graded as a rewrite.
    """
    if new_base == "inet":
        return old in ("inet", "cidr")
    if new_base not in _SAFE_TARGETS:
        return old is not None and old == (f"{new_base}({','.join(map(str, new_mods))})" if new_mods else new_base)
    if old is None:
        return False  # unknown old type: graded as a rewrite (varchar(255) -> varchar(50) rewrites, and so on)
    old_base, _, rest = old.partition("(")
    old_mods = tuple(int(x) for x in rest.rstrip(")").split(",") if x.strip().lstrip("-").isdigit())
    if new_base == "text":
        return old_base in ("varchar", "text", "citext")
    if new_base == "varchar":
        if old_base == "text":
            return not new_mods
        if old_base != "varchar":
            return False
        return not new_mods or (bool(old_mods) and new_mods[0] >= old_mods[0])
    if new_base == "numeric":
        if old_base != "numeric":
            return False
        if not new_mods:
            return True
        if not old_mods:
            return False
        old_scale = old_mods[1] if len(old_mods) > 1 else 0
        new_scale = new_mods[1] if len(new_mods) > 1 else 0
        return new_scale == old_scale and new_mods[0] >= old_mods[0]
    return old_base == new_base


def _plain_cast_of(expr: Any, column: str) -> bool:
    """Whether a USING expression is just the column, or the column cast to a type (no computation)."""
    if expr is None:
        return True
    while kind_of(expr) == "TypeCast":
        expr = expr.arg
    return kind_of(expr) == "ColumnRef" and strings(expr.fields)[-1:] == [column]


def _change_type_hint(node: Any, column: str, type_node: Any, using: bool) -> str:
    """The ``pgwarden plan change-type`` line for this column (a USING expression must go into its sync step)."""
    hint = plan_hint("change-type", node.relation, column, type_arg(type_node))
    note = "\n-- (it casts with ::TYPE: put the USING expression into its trigger and backfill)"
    return hint + (note if using else "")


def _alter_type(ctx: StatementContext, node: Any, cmd: Any, key: str) -> None:
    col = cmd.def_
    base, mods = type_name(col.typeName)
    info = ctx.knowledge.table(key)
    old = info.columns.get(cmd.name) if info is not None else None
    table = name_of(node.relation)
    using = None if _plain_cast_of(col.raw_default, cmd.name) else col.raw_default
    if using is None and _type_change_is_safe(old, base, mods):
        if info is not None:
            info.columns[cmd.name] = type_text(col.typeName)
        return
    why = (
        "USING rewrites every row"
        if using is not None
        else (
            f"{old} to {type_text(col.typeName)} is not binary compatible"
            if old
            else f"the old type of {cmd.name} is unknown (no earlier file or database says): graded as a rewrite"
        )
    )
    ctx.report(
        "alter-column-type",
        f"ALTER COLUMN {cmd.name} TYPE {type_text(col.typeName)} rewrites {table} and its indexes "
        f"under ACCESS EXCLUSIVE ({why})",
        table=key,
        rewrite=f"{_change_type_hint(node, cmd.name, col.typeName, using is not None)}\n"
        f"ALTER TABLE {table} ADD COLUMN {cmd.name}_new {type_text(col.typeName)};\n"
        f"-- sync with a trigger, backfill in batches, then in one short transaction:\n"
        f"-- ALTER TABLE {table} RENAME COLUMN {cmd.name} TO {cmd.name}_old;\n"
        f"-- ALTER TABLE {table} RENAME COLUMN {cmd.name}_new TO {cmd.name};",
    )
    ctx.took_lock(key, "ACCESS EXCLUSIVE")
    if info is not None:
        info.columns[cmd.name] = type_text(col.typeName)


def _set_not_null(ctx: StatementContext, node: Any, column: str, key: str) -> None:
    info = ctx.knowledge.table(key)
    if info is not None and (column in info.not_null_checks or column in info.not_null or info.validated_unknown):
        return
    table = name_of(node.relation)
    ctx.report(
        "set-not-null",
        f"SET NOT NULL on {table}.{column} scans the whole table under ACCESS EXCLUSIVE",
        table=key,
        rewrite=f"{plan_hint('set-not-null', node.relation, column)}\n"
        f"ALTER TABLE {table} ADD CONSTRAINT {node.relation.relname}_{column}_not_null "
        f"CHECK ({column} IS NOT NULL) NOT VALID;\n"
        f"-- next migration:\nALTER TABLE {table} VALIDATE CONSTRAINT "
        f"{node.relation.relname}_{column}_not_null;\n"
        f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL;\n"
        f"ALTER TABLE {table} DROP CONSTRAINT {node.relation.relname}_{column}_not_null;",
    )
    ctx.took_lock(key, "ACCESS EXCLUSIVE")


@checkers(CHECKERS, "AlterTableStmt")
def _alter_table(ctx: StatementContext, node: Any) -> None:
    if node.objtype not in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
        return
    key = table_key(node.relation)
    for cmd in node.cmds or ():
        sub = cmd.subtype
        if sub == "AT_AddColumn":
            _add_column(ctx, node, cmd, key)
        elif sub == "AT_AlterColumnType":
            _alter_type(ctx, node, cmd, key)
        elif sub == "AT_SetNotNull":
            _set_not_null(ctx, node, cmd.name, key)
        elif sub == "AT_AddConstraint" and cmd.def_.contype == "CONSTR_NOTNULL" and not cmd.def_.skip_validation:
            for column in strings(cmd.def_.keys):
                _set_not_null(ctx, node, column, key)


__all__ = ["RULES", "CHECKERS", "has_identity_or_serial", "volatile_call"]
