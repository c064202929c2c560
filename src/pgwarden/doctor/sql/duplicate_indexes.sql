-- Indexes made useless by another index of the same table: an exact duplicate, a non-unique copy of a
-- unique index, or a btree whose columns are a leading prefix of another btree's columns.
WITH idx AS (
    SELECT i.indexrelid, i.indrelid, i.indkey::text AS keys, i.indclass::text AS classes,
           i.indcollation::text AS colls, i.indoption::text AS opts,
           coalesce(pg_get_expr(i.indexprs, i.indrelid), '') AS exprs,
           coalesce(pg_get_expr(i.indpred, i.indrelid), '') AS pred,
           i.indisunique, am.amname, n.nspname AS schema, t.relname AS "table", c.relname AS index,
           c.relpages::bigint * current_setting('block_size')::bigint AS size_bytes,
           EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) AS backs_constraint
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_am am ON am.oid = c.relam
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
      AND i.indisvalid AND NOT c.relispartition
)
SELECT DISTINCT ON (a.indexrelid)
       a.schema, a."table", a.index, b.index AS covered_by,
       CASE WHEN a.keys = b.keys THEN 'duplicate' ELSE 'prefix' END AS kind,
       a.size_bytes,
       pg_get_indexdef(a.indexrelid) AS definition, pg_get_indexdef(b.indexrelid) AS covered_by_definition
FROM idx a
JOIN idx b ON b.indrelid = a.indrelid AND b.indexrelid <> a.indexrelid AND b.amname = a.amname
WHERE NOT a.backs_constraint AND a.exprs = b.exprs AND a.pred = b.pred
  AND (
        (a.keys = b.keys AND a.classes = b.classes AND a.colls = b.colls AND a.opts = b.opts
         AND (b.indisunique OR NOT a.indisunique)
         AND ((b.indisunique AND NOT a.indisunique) OR b.backs_constraint OR a.indexrelid > b.indexrelid))
     OR (a.amname = 'btree' AND NOT a.indisunique AND a.exprs = ''
         AND b.keys LIKE a.keys || ' %%' AND b.classes LIKE a.classes || ' %%'
         AND b.colls LIKE a.colls || ' %%' AND b.opts LIKE a.opts || ' %%')
      )
ORDER BY a.indexrelid, b.indisunique DESC, b.indexrelid
