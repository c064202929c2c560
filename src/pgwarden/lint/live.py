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
SELECT n.nspname, c.relname, c.relkind::text,
       -- rows: reltuples only when every leaf was analyzed or vacuumed (reltuples = -1 means never)
       CASE WHEN c.relkind = 'p' THEN
              (SELECT CASE WHEN bool_and(l.reltuples >= 0) THEN sum(l.reltuples)::float8 END
                 FROM pg_partition_tree(c.oid) t JOIN pg_class l ON l.oid = t.relid WHERE t.isleaf)
            WHEN c.reltuples >= 0 THEN c.reltuples::float8 END,
       -- size: a partitioned parent holds nothing itself, its leaves hold the data
       CASE WHEN c.relkind = 'p' THEN
              (SELECT coalesce(sum(pg_total_relation_size(t.relid)), 0)::bigint
                 FROM pg_partition_tree(c.oid) t WHERE t.isleaf)
            ELSE pg_total_relation_size(c.oid) END,
       pg_table_is_visible(c.oid),
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
       (SELECT coalesce(json_object_agg(a.attname, json_build_array(format_type(a.atttypid, a.atttypmod),
                                                                     a.attnotnull)), '{}'::json)
          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
       (SELECT coalesce(array_agg(pg_get_constraintdef(k.oid)), '{}')
          FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'c' AND k.convalidated),
       (SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum))
          FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
         WHERE i.indrelid = c.oid AND i.indisprimary)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relname = ANY(%(names)s) AND c.relkind IN ('r', 'p', 'm', 'f')
"""

_NOT_NULL_CHECK = re.compile(r'^CHECK \(+("?)([^"()\s]+)\1 IS NOT NULL\)+$')
_TYPES = {
    "character varying": "varchar",
    "character": "char",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "time without time zone": "time",
}


def _normalise_type(text: str) -> str:
    base, paren, rest = text.partition("(")
    base = _TYPES.get(base.strip(), base.strip())
    return f"{base}({rest.replace(' ', '')}" if paren else base


def referenced_tables(units: list[Unit]) -> set[str]:
    """Keys of the tables the statements lock or change (the ones worth a catalog lookup)."""
    keys: set[str] = set()
    for unit in units:
        if unit.context:
            continue
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


def planner_rows(conn: Any, schema: str, name: str) -> float | None:
    """The planner's row estimate for a never-analyzed table (pages on disk x tuple density), None if unknown.

    PostgreSQL sizes a never-analyzed table from its current page count, so this is
    right after a bulk load where ``reltuples`` is still -1. Runs EXPLAIN only (the
    table is not read) inside a rolled-back transaction with a short lock_timeout.
    """
    from psycopg import sql

    query = sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {}").format(sql.Identifier(schema, name))
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("SET LOCAL lock_timeout = '1s'")
            plan = conn.execute(query).fetchone()[0]
    except Exception:  # noqa: BLE001 - an estimate is optional: no estimate is the safe answer
        return None
    doc = plan if isinstance(plan, list) else json.loads(plan)
    return float(doc[0]["Plan"]["Plan Rows"])


def load(knowledge: Knowledge, conn: Any, units: list[Unit]) -> None:
    """Fill ``knowledge`` with the catalog facts of every referenced table (one query) and switch to live mode."""
    keys = referenced_tables(units)
    knowledge.live_mode = True
    if not keys:
        return
    names = sorted({k.rsplit(".", 1)[-1] for k in keys})
    rows = conn.execute(CATALOG_QUERY, {"names": names}).fetchall()
    for schema, name, relkind, reltuples, size, visible, partkey, columns, checks, primary in rows:
        key = table_key((schema, name))
        estimated = reltuples if reltuples is not None else planner_rows(conn, schema, name)
        info = TableInfo(
            key,
            live=True,
            partitioned=relkind == "p",
            rows=estimated,
            size=int(size or 0),
            primary_key=tuple(primary) if primary else None,
            rows_estimated=reltuples is None,
        )
        if partkey:
            inner = partkey[partkey.find("(") + 1 : partkey.rfind(")")]
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
