"""The tables a backup holds and their row counts.

Guarantees: counts are taken in the transaction whose snapshot pg_dump uses,
so an exact count is exactly the number of rows in the dump; tables above the
size threshold get the planner's estimate, marked ``exact = False``.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from pgwarden.backup.manifest import TableInfo

TABLES_SQL = """
SELECT n.nspname, c.relname,
       -- a partitioned table counts its partitions
       coalesce((SELECT sum(pg_total_relation_size(t.relid))::bigint FROM pg_partition_tree(c.oid) t),
                pg_total_relation_size(c.oid)),
       coalesce((SELECT sum(greatest(p.reltuples, 0))::bigint FROM pg_partition_tree(c.oid) t
                   JOIN pg_class p ON p.oid = t.relid WHERE t.isleaf),
                c.reltuples::bigint),
       coalesce((SELECT array_agg(i.relname::text ORDER BY i.relname) FROM pg_index x
                 JOIN pg_class i ON i.oid = x.indexrelid
                 WHERE x.indrelid = c.oid), '{}'),
       coalesce((SELECT array_agg(s.relname::text ORDER BY s.relname) FROM pg_depend d
                 JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
                 WHERE d.refobjid = c.oid AND d.classid = 'pg_class'::regclass
                   AND d.deptype IN ('a', 'i')), '{}'),
       coalesce((SELECT array_agg(ARRAY[fn.nspname::text, fc.relname::text, f.conname::text]
                                  ORDER BY fn.nspname, fc.relname, f.conname)
                 FROM pg_constraint f JOIN pg_class fc ON fc.oid = f.conrelid
                 JOIN pg_namespace fn ON fn.oid = fc.relnamespace
                 WHERE f.confrelid = c.oid AND f.contype = 'f' AND f.conrelid <> c.oid), '{}')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
  AND n.nspname NOT LIKE 'pg\\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = c.oid AND e.deptype = 'e')
ORDER BY 1, 2
"""


def split_name(name: str) -> tuple[str, str]:
    """``schema.table`` or ``table`` (schema public) as a pair."""
    schema, _, table = name.rpartition(".")
    return schema or "public", table


def list_tables(
    conn: psycopg.Connection[Any], *, exact_max_bytes: int, only: list[str] | None = None
) -> list[TableInfo]:
    """Every user table (partitioned parents count their partitions' rows), with its row count.

    ``only`` restricts to the given ``[schema.]table`` names.
    """
    rows = conn.execute(TABLES_SQL).fetchall()
    wanted = {split_name(n) for n in only} if only else None
    out: list[TableInfo] = []
    for schema, name, size, estimate, indexes, sequences, referenced_by in rows:
        if wanted is not None and (schema, name) not in wanted:
            continue
        exact = size <= exact_max_bytes
        count = count_rows(conn, schema, name) if exact else max(int(estimate), 0)
        out.append(
            TableInfo(
                schema,
                name,
                count,
                exact,
                int(size),
                list(indexes),
                list(sequences),
                [list(r) for r in referenced_by],
            )
        )
    return out


def count_rows(conn: psycopg.Connection[Any], schema: str, name: str) -> int:
    """Exact ``count(*)`` of a table (including its partitions)."""
    row = conn.execute(
        sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(name))
    ).fetchone()
    assert row is not None
    return int(row[0])


def existing_tables(conn: psycopg.Connection[Any]) -> set[tuple[str, str]]:
    """(schema, table) of every user table now in the database."""
    return {
        (r[0], r[1])
        for r in conn.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
    }


_ALL_TABLES_SQL = """
SELECT n.nspname, c.relname,
       c.oid = ANY(%(oids)s::oid[])
       OR EXISTS (SELECT 1 FROM unnest(%(oids)s::oid[]) AS s(oid), pg_partition_tree(s.oid) t WHERE t.relid = c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgwarden')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = c.oid AND e.deptype = 'e')
ORDER BY 1, 2
"""

_OUTSIDE_SQL = """
SELECT f.conname, n.nspname, c.relname, rn.nspname, r.relname
FROM pg_constraint f
JOIN pg_class c ON c.oid = f.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class r ON r.oid = f.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE f.contype = 'f' AND f.conparentid = 0
  AND f.conrelid = ANY(%(oids)s::oid[]) AND NOT f.confrelid = ANY(%(oids)s::oid[])
ORDER BY 1, 2, 3
"""


def _oids(conn: psycopg.Connection[Any], tables: list[str]) -> list[int]:
    out = []
    for name in tables:
        row = conn.execute("SELECT %s::regclass::oid", [sql.Identifier(*split_name(name)).as_string(conn)]).fetchone()
        assert row is not None
        out.append(int(row[0]))
    return out


def data_outside(conn: psycopg.Connection[Any], tables: list[str]) -> list[tuple[str, str]]:
    """Every user table whose rows a partial backup of ``tables`` leaves out (partitions of a chosen table stay).

    pgwarden's own history tables are always kept, so the backup knows its migration version.
    """
    rows = conn.execute(_ALL_TABLES_SQL, {"oids": _oids(conn, tables)}).fetchall()
    return [(schema, name) for schema, name, chosen in rows if not chosen]


def references_outside(conn: psycopg.Connection[Any], tables: list[str]) -> list[str]:
    """Foreign keys of ``tables`` pointing at tables whose rows are not in the backup, as
    ``schema.table.constraint -> schema.table`` (restoring them alone needs those rows)."""
    rows = conn.execute(_OUTSIDE_SQL, {"oids": _oids(conn, tables)}).fetchall()
    return [f"{s}.{t}.{con} -> {rs}.{rt}" for con, s, t, rs, rt in rows]
