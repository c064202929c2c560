"""Attribute access over pglast's JSON parse tree (libpg_query JSON), ten times cheaper than pglast AST objects.

``J`` mimics the pglast AST closely enough for the rules: ``node.relation.relname``,
``cmd.def_``, ``cmd.subtype == "AT_AddColumn"`` (enums are their names); missing fields read as None
(PostgreSQL's JSON omits false/zero defaults). ``kind_of(node)`` is the node type.
"""

from __future__ import annotations

import json
from typing import Any

_RENAMES = {"def_": "def"}


class J:
    """One JSON parse-tree node (or typed sub-structure) with attribute access.

    A field is wrapped on first access and stored on the instance, so later reads
    are plain attribute lookups.
    """

    def __init__(self, kind: str | None, data: dict[str, Any]):
        self._kind = kind
        self._data = data

    __slots__ = ("_kind", "_data", "__dict__")

    def __getattr__(self, name: str) -> Any:
        if name[0] == "_" and name[:2] == "__":
            raise AttributeError(name)
        value = self._data.get(name if name != "def_" else "def")
        # wrap() inlined for the common cases (a scalar, a missing field): this is the linter's hottest path
        if value is not None and type(value) is not str and type(value) is not bool and type(value) is not int:
            value = wrap(value)
        self.__dict__[name] = value
        return value

    def __repr__(self) -> str:
        return f"J({self._kind}, {self._data!r})"

    @property
    def raw(self) -> dict[str, Any]:
        """The node's own fields."""
        return self._data

    @property
    def tree(self) -> dict[str, Any]:
        """The node as JSON, with its type key (``{"FuncCall": {...}}``)."""
        return {self._kind: self._data} if self._kind else self._data


def wrap(value: Any) -> Any:
    """Wrap a JSON value: nodes become J, lists tuples; strings, numbers and booleans stay as they are."""
    if type(value) is dict:
        if len(value) == 1:
            for key, inner in value.items():
                if type(inner) is dict and key[:1].isupper():
                    return J(key, inner)
        return J(None, value)
    if type(value) is list:
        return tuple(map(wrap, value))
    return value


def kind_of(node: Any) -> str:
    """The node type name ("IndexStmt", "ColumnDef", ...), "" for typed sub-structures."""
    if isinstance(node, J):
        return node._kind or ""
    return type(node).__name__


def root(tree: dict[str, Any]) -> J:
    """The statement node of a ``{"IndexStmt": {...}}`` tree."""
    node = wrap(tree)
    return node if isinstance(node, J) else J("Unknown", {})


def tree_of(statement: Any) -> dict[str, Any]:
    """A Statement's JSON tree (parsing its SQL when the Statement has none)."""
    tree = getattr(statement, "tree", None)
    if tree:
        return tree  # type: ignore[no-any-return]
    from pglast.parser import parse_sql_json

    stmts = json.loads(parse_sql_json(statement.sql)).get("stmts", [])
    return stmts[0]["stmt"] if stmts else {}


def const_value(node: Any) -> str | int | float | bool | None:
    """The Python value of an A_Const (None for NULL or anything else)."""
    if kind_of(node) != "A_Const" or node.isnull:
        return None
    data = node.raw
    if "ival" in data:
        return int(data["ival"].get("ival", 0))
    if "sval" in data:
        return str(data["sval"].get("sval", ""))
    if "fval" in data:
        return str(data["fval"].get("fval", "0"))
    if "boolval" in data:
        return bool(data["boolval"].get("boolval", False))
    return None


def const_sql(node: Any) -> str:
    """SQL text of a constant-ish bound value (A_Const, MINVALUE/MAXVALUE, a cast literal)."""
    kind = kind_of(node)
    if kind == "TypeCast":
        return const_sql(node.arg)
    if kind == "ColumnRef":
        return ".".join(f.sval for f in node.fields or () if f.sval).upper()
    value = const_value(node)
    if isinstance(value, str) and kind == "A_Const" and "sval" in node.raw:
        return "'" + value.replace("'", "''") + "'"
    return "NULL" if value is None else str(value)


def name_list(obj: Any) -> list[str]:
    """A qualified name given as a List of Strings (DROP objects) or a single String."""
    if kind_of(obj) == "List":
        return [item.sval for item in obj.items or () if item.sval is not None]
    if kind_of(obj) == "String":
        return [obj.sval]
    return []


def func_calls(data: Any) -> list[str]:
    """Names (last part, lower-case) of every function called anywhere in a raw JSON subtree."""
    out: list[str] = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            call = item.get("FuncCall")
            if isinstance(call, dict):
                names = [n.get("String", {}).get("sval", "") for n in call.get("funcname", [])]
                if names:
                    out.append(names[-1].lower())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out
