"""Statements that must run alone, and what the catalog says about one whose runner died.

In a ``transaction:false`` section most statements commit in one implicit
transaction together with the progress record (``statement; UPDATE history``),
so the history row always tells whether they ran. A few cannot run inside any
transaction (``CREATE INDEX CONCURRENTLY``, ``VACUUM``...): they run alone, and
if the runner dies while one runs, its outcome is judged here from the catalog
where the catalog can tell, and reported as unknown otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg import sql

from pgwarden.sources import Statement

_ALONE_KINDS = frozenset(
    {
        "VacuumStmt",
        "CreatedbStmt",
        "DropdbStmt",
        "AlterSystemStmt",
        "CreateTableSpaceStmt",
        "DropTableSpaceStmt",
        "CreateSubscriptionStmt",
        "DropSubscriptionStmt",
        "AlterSubscriptionStmt",
    }
)
_REPEATABLE_KINDS = frozenset({"VacuumStmt", "ReindexStmt"})

Verdict = Literal["done", "not done", "rebuild", "unknown"]


def _concurrent_option(statement: Statement) -> bool:
    params = statement.fields.get("params") or []
    return any(p.get("DefElem", {}).get("defname") == "concurrently" for p in params if isinstance(p, dict))


def _detach_concurrently(statement: Statement) -> bool:
    for cmd in statement.fields.get("cmds") or []:
        definition = cmd.get("AlterTableCmd", {}).get("def", {}) if isinstance(cmd, dict) else {}
        if isinstance(definition, dict) and definition.get("PartitionCmd", {}).get("concurrent"):
            return True
    return False


def runs_alone(statement: Statement) -> bool:
    """True for a statement PostgreSQL refuses inside a transaction block (it cannot share one with its record)."""
    kind, fields = statement.kind, statement.fields
    if kind == "Directive":  # its handler runs its own transactions
        return True
    if kind in ("IndexStmt", "DropStmt") and fields.get("concurrent"):
        return True
    if kind == "ReindexStmt" and _concurrent_option(statement):
        return True
    if kind == "AlterTableStmt" and _detach_concurrently(statement):
        return True
    return kind in _ALONE_KINDS


def index_of(statement: Statement) -> tuple[str | None, str] | None:
    """``(schema, name)`` of the index a ``CREATE INDEX`` statement builds (None when it has no name)."""
    if statement.kind != "IndexStmt" or not statement.fields.get("idxname"):
        return None
    relation = statement.fields.get("relation") or {}
    return relation.get("schemaname"), statement.fields["idxname"]


def _dropped_indexes(statement: Statement) -> list[tuple[str | None, str]]:
    if statement.kind != "DropStmt" or statement.fields.get("removeType") != "OBJECT_INDEX":
        return []
    names = []
    for obj in statement.fields.get("objects") or []:
        parts = [item.get("String", {}).get("sval", "") for item in obj.get("List", {}).get("items", [])]
        names.append((parts[-2] if len(parts) > 1 else None, parts[-1]))
    return names


_INDEX_STATE = """
SELECT n.nspname, c.relname, i.indisvalid
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.indexrelid = to_regclass(CASE WHEN %(schema)s::text IS NULL THEN quote_ident(%(name)s)
                                      ELSE quote_ident(%(schema)s) || '.' || quote_ident(%(name)s) END)
"""


@dataclass(frozen=True)
class IndexState:
    """An index found in the catalog: its qualified name and whether it is usable."""

    schema: str
    name: str
    valid: bool

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


def find_index(conn: psycopg.Connection[Any], schema: str | None, name: str) -> IndexState | None:
    """The index ``schema.name`` (``name`` on the search path when ``schema`` is None), or None."""
    row = conn.execute(_INDEX_STATE, {"schema": schema, "name": name}).fetchone()
    return IndexState(row[0], row[1], bool(row[2])) if row else None


def drop_index(conn: psycopg.Connection[Any], index: IndexState) -> None:
    """``DROP INDEX CONCURRENTLY`` the (invalid) index, outside any transaction."""
    conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(index.schema, index.name)))


@dataclass(frozen=True)
class Judgement:
    """What became of a statement whose runner stopped while it ran."""

    verdict: Verdict
    reason: str
    index: IndexState | None = None


def judge(conn: psycopg.Connection[Any], statement: Statement) -> Judgement:
    """The outcome of ``statement`` after its run stopped (no other session may still be running it).

    A statement that does not run alone committed together with its progress record,
    so it did not run; a CONCURRENTLY index build is done when its index exists and is
    valid, to rebuild when it is INVALID, not done when absent; a concurrent DROP INDEX
    is done when every index is gone; VACUUM/REINDEX are simply repeated; anything else
    that runs alone is unknown.
    """
    if not runs_alone(statement):
        return Judgement("not done", "it commits together with its progress record, which says it did not")
    if statement.kind == "Directive":
        return Judgement("not done", "its handler resumes where it stopped")
    target = index_of(statement)
    if statement.kind == "IndexStmt" and target is not None:
        found = find_index(conn, *target)
        if found is None:
            return Judgement("not done", f"index {target[1]} does not exist")
        if found.valid:
            return Judgement("done", f"index {found.qualified} exists and is valid", found)
        return Judgement("rebuild", f"index {found.qualified} is INVALID (its build was cut off)", found)
    dropped = _dropped_indexes(statement)
    if dropped:
        left = [found for found in (find_index(conn, *name) for name in dropped) if found is not None]
        if not left:
            return Judgement("done", "every index it drops is gone")
        return Judgement("not done", f"index {left[0].qualified} still exists")
    if statement.kind in _REPEATABLE_KINDS:
        return Judgement("not done", "repeating it is harmless")
    return Judgement("unknown", "the catalog cannot tell whether it took effect")
