"""Live context for ``--env``: row estimates, sizes, columns and checks of the referenced tables.

Guarantees: one catalog query for all referenced tables; nothing is written.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pgwarden.lint.context import Knowledge, TableInfo, table_key
from pgwarden.lint.locks import statement_locks
from pgwarden.lint.sources import Unit
from pgwarden.lint.tree import root, tree_of

CATALOG_QUERY = """
SELECT n.nspname, c.relname, c.relkind::text, c.reltuples::float8, pg_total_relation_size(c.oid),
       pg_table_is_visible(c.oid),
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
       (SELECT coalesce(json_object_agg(a.attname, json_build_array(format_type(a.atttypid, a.atttypmod),
                                                                     a.attnotnull)), '{}'::json)
          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
       (SELECT coalesce(array_agg(pg_get_constraintdef(k.oid)), '{}')
          FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'c' AND k.convalidated)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relname = ANY(%(names)s) AND c.relkind IN ('r', 'p', 'm', 'f')
"""

_NOT_NULL_CHECK = re.compile(r'^CHECK \(+("?)([^"()\s]+)\1 IS NOT NULL\)+$')
_TYPES = {"character varying": "varchar", "character": "char", "timestamp without time zone": "timestamp",
          "timestamp with time zone": "timestamptz", "time without time zone": "time"}


def _normalise_type(text: str) -> str:
    base, paren, rest = text.partition("(")
    base = _TYPES.get(base.strip(), base.strip())
    return f"{base}({rest.replace(' ', '')}" if paren else base


def referenced_tables(units: list[Unit]) -> set[str]:
    """Keys of the tables the statements lock or change (the ones worth a catalog lookup)."""
    keys: set[str] = set()
    for unit in units:
        for statement in unit.statements:
            node = root(tree_of(statement))
            keys.update(t for t, _ in statement_locks(node))
            relation = node.relation
            if relation is not None and getattr(relation, "relname", None):
                keys.add(table_key(relation))
            for parent in node.inhRelations or ():
                if getattr(parent, "relname", None):
                    keys.add(table_key(parent))
    return keys


def load(knowledge: Knowledge, conn: Any, units: list[Unit]) -> None:
    """Fill ``knowledge`` with the catalog facts of every referenced table (one query) and switch to live mode."""
    keys = referenced_tables(units)
    knowledge.live_mode = True
    if not keys:
        return
    names = sorted({k.rsplit(".", 1)[-1] for k in keys})
    rows = conn.execute(CATALOG_QUERY, {"names": names}).fetchall()
    for schema, name, relkind, reltuples, size, visible, partkey, columns, checks in rows:
        key = table_key((schema, name))
        info = TableInfo(key, live=True, partitioned=relkind == "p", rows=reltuples if reltuples >= 0 else None,
                         size=int(size))
        if partkey:
            inner = partkey[partkey.find("(") + 1: partkey.rfind(")")]
            parts = [p.strip().strip('"') for p in inner.split(",")]
            info.partition_key = tuple(parts) if all(re.fullmatch(r"\w+", p) for p in parts) else None
        column_map = columns if isinstance(columns, dict) else json.loads(columns)
        for column, (type_text, not_null) in column_map.items():
            info.columns[column] = _normalise_type(type_text)
            if not_null:
                info.not_null.add(column)
        for check in checks or ():
            info.has_check = True
            match = _NOT_NULL_CHECK.match(check)
            if match:
                info.not_null_checks.add(match.group(2))
        knowledge.tables[key] = info
        if visible and name not in knowledge.tables:
            knowledge.tables[name] = info
