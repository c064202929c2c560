"""Catalog queries, one per object kind; each returns a ``key`` column then the attributes compared.

Every query sees only user objects: system schemas, pgwarden's own schema and
objects that belong to an extension are left out. Nothing that differs between
two healthy copies of a schema (OIDs, owners, sequence values, statistics) is
selected, so two databases built by the same migrations give equal rows.
"""

from __future__ import annotations

# %(exclude)s: schema names left out besides pg_* and information_schema.
_USER_SCHEMA = """n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%%'
    AND NOT (n.nspname = ANY (%(exclude)s))"""


def _not_extension_member(catalog: str, oid: str) -> str:
    return (f"NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = '{catalog}'::regclass "
            f"AND x.objid = {oid} AND x.deptype = 'e')")


SCHEMAS = f"""
SELECT n.nspname AS key
FROM pg_namespace n
WHERE {_USER_SCHEMA} AND {_not_extension_member('pg_namespace', 'n.oid')}
"""

EXTENSIONS = """
SELECT e.extname AS key, e.extversion AS version, n.nspname AS schema
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
"""

TABLES = f"""
SELECT n.nspname || '.' || c.relname AS key,
       CASE c.relkind WHEN 'p' THEN 'partitioned table' WHEN 'f' THEN 'foreign table' ELSE 'table' END
         AS kind,
       CASE c.relpersistence WHEN 'u' THEN 'unlogged' WHEN 't' THEN 'temporary' ELSE 'logged' END
         AS persistence,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
       c.relrowsecurity AS row_security,
       coalesce(array_to_string(c.reloptions, ', '), '') AS options
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'f') AND {_USER_SCHEMA} AND {_not_extension_member('pg_class', 'c.oid')}
"""

COLUMNS = f"""
SELECT n.nspname || '.' || c.relname || '.' || a.attname AS key,
       n.nspname || '.' || c.relname AS "table",
       row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum)::int AS position,
       format_type(a.atttypid, a.atttypmod) AS type,
       NOT a.attnotnull AS nullable,
       pg_get_expr(d.adbin, d.adrelid) AS "default",
       CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END AS identity,
       CASE a.attgenerated WHEN 's' THEN 'stored' WHEN 'v' THEN 'virtual' END AS generated,
       CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS collation
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f')
  AND {_USER_SCHEMA} AND {_not_extension_member('pg_class', 'c.oid')}
"""

PARTITIONS = f"""
SELECT n.nspname || '.' || c.relname AS key,
       pn.nspname || '.' || p.relname AS parent,
       pg_get_expr(c.relpartbound, c.oid) AS bound
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_inherits i ON i.inhrelid = c.oid
JOIN pg_class p ON p.oid = i.inhparent
JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE c.relispartition AND c.relkind IN ('r', 'p', 'f') AND {_USER_SCHEMA}
"""

INDEXES = f"""
SELECT n.nspname || '.' || ic.relname AS key,
       tn.nspname || '.' || tc.relname AS "table",
       pg_get_indexdef(i.indexrelid) AS definition,
       i.indisvalid AS valid
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
JOIN pg_class tc ON tc.oid = i.indrelid
JOIN pg_namespace tn ON tn.oid = tc.relnamespace
WHERE {_USER_SCHEMA} AND {_not_extension_member('pg_class', 'tc.oid')}
"""

CONSTRAINTS = f"""
SELECT n.nspname || '.' || c.relname || '.' || con.conname AS key,
       n.nspname || '.' || c.relname AS "table",
       CASE con.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique' WHEN 'f' THEN 'foreign key'
            WHEN 'c' THEN 'check' WHEN 'x' THEN 'exclusion' WHEN 't' THEN 'trigger' ELSE con.contype::text END
         AS type,
       pg_get_constraintdef(con.oid, true) AS definition,
       con.condeferrable AS deferrable,
       con.condeferred AS initially_deferred,
       con.convalidated AS validated
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE con.contype <> 'n' AND {_USER_SCHEMA} AND {_not_extension_member('pg_class', 'c.oid')}
"""

SEQUENCES = f"""
SELECT n.nspname || '.' || c.relname AS key,
       format_type(s.seqtypid, NULL) AS type,
       s.seqstart AS start, s.seqincrement AS increment, s.seqmin AS min, s.seqmax AS max,
       s.seqcache AS cache, s.seqcycle AS cycle,
       (SELECT dn.nspname || '.' || dc.relname || '.' || da.attname
          FROM pg_depend d
          JOIN pg_class dc ON dc.oid = d.refobjid
          JOIN pg_namespace dn ON dn.oid = dc.relnamespace
          JOIN pg_attribute da ON da.attrelid = d.refobjid AND da.attnum = d.refobjsubid
         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
           AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
         LIMIT 1) AS owned_by
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_USER_SCHEMA} AND {_not_extension_member('pg_class', 'c.oid')}
"""

VIEWS = f"""
SELECT n.nspname || '.' || c.relname AS key,
       CASE c.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END AS kind,
       pg_get_viewdef(c.oid, true) AS definition
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND {_USER_SCHEMA} AND {_not_extension_member('pg_class', 'c.oid')}
"""

FUNCTIONS = f"""
SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS key,
       CASE p.prokind WHEN 'f' THEN 'function' WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate'
            WHEN 'w' THEN 'window function' END AS kind,
       CASE WHEN p.prokind = 'a' THEN 'returns ' || pg_get_function_result(p.oid)
            ELSE pg_get_functiondef(p.oid) END AS definition
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {_USER_SCHEMA} AND {_not_extension_member('pg_proc', 'p.oid')}
"""

TRIGGERS = f"""
SELECT n.nspname || '.' || c.relname || '.' || t.tgname AS key,
       n.nspname || '.' || c.relname AS "table",
       pg_get_triggerdef(t.oid, true) AS definition,
       CASE t.tgenabled WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always'
            ELSE 'enabled' END AS enabled
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND {_USER_SCHEMA} AND {_not_extension_member('pg_class', 'c.oid')}
"""

ENUMS = f"""
SELECT n.nspname || '.' || t.typname AS key,
       array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
FROM pg_type t
JOIN pg_enum e ON e.enumtypid = t.oid
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE {_USER_SCHEMA} AND {_not_extension_member('pg_type', 't.oid')}
GROUP BY 1
"""

BY_KIND: dict[str, str] = {
    "schemas": SCHEMAS,
    "extensions": EXTENSIONS,
    "tables": TABLES,
    "columns": COLUMNS,
    "partitions": PARTITIONS,
    "indexes": INDEXES,
    "constraints": CONSTRAINTS,
    "sequences": SEQUENCES,
    "views": VIEWS,
    "functions": FUNCTIONS,
    "triggers": TRIGGERS,
    "enums": ENUMS,
}
