"""Small AST helpers shared by the rule families."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from pgwarden.lint.context import StatementContext
from pgwarden.lint.tree import const_value, kind_of

Checker = Callable[[StatementContext, Any], None]


def checkers(table: dict[str, list[Checker]], *kinds: str) -> Callable[[Checker], Checker]:
    """Decorator: register a check function for the given node class names."""

    def register(fn: Checker) -> Checker:
        for kind in kinds:
            table.setdefault(kind, []).append(fn)
        return fn

    return register


def name_of(relation: Any) -> str:
    """A RangeVar as SQL text (``schema.name`` or ``name``)."""
    if relation is None:
        return "?"
    return f"{relation.schemaname}.{relation.relname}" if relation.schemaname else relation.relname


_PLAIN = re.compile(r"[a-z_][a-z0-9_$]*")


def ident(name: str) -> str:
    """``name`` as an SQL identifier: as is when plain lower-case and not reserved, else double-quoted."""
    from pglast.keywords import RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

    if _PLAIN.fullmatch(name) and name not in RESERVED_KEYWORDS and name not in TYPE_FUNC_NAME_KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def strings(nodes: Iterable[Any] | None) -> list[str]:
    """The ``sval`` of each String node (e.g. a qualified name)."""
    return [n.sval for n in nodes or () if getattr(n, "sval", None) is not None]


def deparse(node: Any) -> str:
    """SQL text of a pglast AST node (only for the rare rewrites that need it: costs a pglast parse)."""
    from pglast.stream import RawStream

    return str(RawStream()(node))


def with_concurrently(sql: str) -> str:
    """``CREATE [UNIQUE] INDEX ...`` rewritten as ``CREATE [UNIQUE] INDEX CONCURRENTLY ...``."""
    return re.sub(r"(?is)^(\s*CREATE\s+(?:UNIQUE\s+)?INDEX)\b(?!\s+CONCURRENTLY)", r"\1 CONCURRENTLY", sql, count=1)


def not_valid(sql: str) -> str:
    """A one-command ``ALTER TABLE ... ADD CONSTRAINT ...`` with NOT VALID appended."""
    return sql if re.search(r"(?i)\bNOT\s+VALID\s*$", sql) else f"{sql} NOT VALID"


_ALIASES = {
    "int4": "integer",
    "int8": "bigint",
    "int2": "smallint",
    "bpchar": "char",
    "float8": "double precision",
    "float4": "real",
    "bool": "boolean",
    "timestamptz": "timestamptz",
    "varchar": "varchar",
}


def type_name(type_node: Any) -> tuple[str, tuple[int, ...]]:
    """(base name, integer typmods) of a TypeName node, e.g. ("varchar", (20,))."""
    names = strings(type_node.names)
    base = names[-1].lower() if names else "?"
    mods = []
    for mod in type_node.typmods or ():
        value = const_value(mod)
        if isinstance(value, int) and not isinstance(value, bool):
            mods.append(value)
    base = _ALIASES.get(base, base)
    if type_node.arrayBounds:
        base += "[]"
    return base, tuple(mods)


def type_text(type_node: Any) -> str:
    base, mods = type_name(type_node)
    array = "[]" if base.endswith("[]") else ""
    base = base.removesuffix("[]")
    return (f"{base}({','.join(map(str, mods))})" if mods else base) + array


def column_constraints(column_def: Any) -> list[Any]:
    return list(column_def.constraints or ())


def has_identity_or_serial(column_def: Any) -> bool:
    base, _ = type_name(column_def.typeName) if column_def.typeName is not None else ("", ())
    if base in ("serial", "bigserial", "smallserial", "serial4", "serial8", "serial2"):
        return True
    return any(c.contype == "CONSTR_IDENTITY" for c in column_constraints(column_def))


def not_null_check_column(expr: Any) -> str | None:
    """``col`` when ``expr`` is exactly ``col IS NOT NULL`` (the CHECK that lets SET NOT NULL skip its scan)."""
    if kind_of(expr) != "NullTest" or expr.nulltesttype != "IS_NOT_NULL":
        return None
    arg = expr.arg
    if kind_of(arg) != "ColumnRef":
        return None
    fields = strings(arg.fields)
    return fields[-1] if fields else None


def pg_ast(sql: str) -> Any:
    """pglast's AST of one statement (only for rewrites that must edit the statement: costs a pglast parse)."""
    import pglast

    return pglast.parse_sql(sql)[0].stmt


def column_defs(stmt: Any) -> list[Any]:
    """The ColumnDef nodes of a pglast CREATE TABLE or ALTER TABLE ... ADD COLUMN."""
    from pglast import ast

    if isinstance(stmt, ast.CreateStmt):
        return [e for e in stmt.tableElts or () if isinstance(e, ast.ColumnDef)]
    if isinstance(stmt, ast.AlterTableStmt):
        return [c.def_ for c in stmt.cmds or () if isinstance(c.def_, ast.ColumnDef)]
    return []


_TYPE_TEXT = {
    "timestamp": r"timestamp\b(?:\s*\(\s*\d+\s*\))?(?:\s+without\s+time\s+zone\b)?",
    "char": r"(?:character|char|bpchar)\b(?!\s+varying)(?:\s*\(\s*\d+\s*\))?",
    "int": r"(?:integer|int4|int2|int|smallint|serial4|serial2|smallserial|serial)\b",
}
_TYPE_PATTERNS = {
    old: re.compile(
        rf'(?i)(?:\(|,|\bCOLUMN)\s*(?P<col>"(?:[^"]|"")+"|\w+)\s+'
        rf"(?P<type>(?:pg_catalog\.)?{text})"
    )
    for old, text in _TYPE_TEXT.items()
}


def retyped(sql: str, types: dict[str, str], old: str | None = None) -> str:
    """``sql`` (CREATE TABLE / ALTER TABLE ADD COLUMN) with the named columns' types replaced.

    With ``old`` (a key of _TYPE_TEXT) and one column, the type is replaced in the text
    itself (the statement keeps its formatting and costs no pglast parse); otherwise the
    statement is edited as an AST and deparsed.
    """
    if old is not None and len(types) == 1:
        [(column, new)] = types.items()
        for match in _TYPE_PATTERNS[old].finditer(sql):
            name = match.group("col")
            if (name[1:-1].replace('""', '"') if name.startswith('"') else name.lower()) == column:
                return sql[: match.start("type")] + new + sql[match.end("type") :]
    stmt = pg_ast(sql)
    for col in column_defs(stmt):
        if col.colname in types:
            probe: Any = pg_ast(f"CREATE TABLE t (c {types[col.colname]})")
            col.typeName = probe.tableElts[0].typeName
    return deparse(stmt)
