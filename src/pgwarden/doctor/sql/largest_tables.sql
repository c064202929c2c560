-- Tables by estimated total size (heap + TOAST + indexes) from pg_class.relpages, as of the last
-- VACUUM / ANALYZE / CREATE INDEX: no lock is taken and no relation is opened, so this stays fast on
-- thousands of partitions and never waits behind DDL. Partitions are summed into their partitioned root.
WITH RECURSIVE tree (relid, root) AS (
    SELECT pt.partrelid, pt.partrelid
    FROM pg_partitioned_table pt
    WHERE NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = pt.partrelid)
    UNION ALL
    SELECT i.inhrelid, tree.root FROM pg_inherits i JOIN tree ON i.inhparent = tree.relid
), index_pages AS (
    SELECT x.indrelid, sum(i.relpages)::bigint AS pages
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
    GROUP BY x.indrelid
), sized AS (
    SELECT coalesce(tree.root, c.oid) AS root, c.oid,
           (c.relpages::bigint + coalesce(t.relpages, 0)::bigint + coalesce(tix.pages, 0))
               * current_setting('block_size')::bigint AS table_bytes,
           coalesce(ix.pages, 0) * current_setting('block_size')::bigint AS index_bytes,
           greatest(c.reltuples, 0)::bigint AS rows_estimate,
           c.relkind = 'r' AND c.reltuples < 0 AS never_analyzed
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN tree ON tree.relid = c.oid
    LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
    LEFT JOIN index_pages tix ON tix.indrelid = c.reltoastrelid
    LEFT JOIN index_pages ix ON ix.indrelid = c.oid
    WHERE c.relkind IN ('r', 'm', 'p')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
), totals AS (
    SELECT root, sum(table_bytes + index_bytes)::bigint AS total_bytes, sum(index_bytes)::bigint AS index_bytes,
           sum(rows_estimate)::bigint AS rows_estimate, (count(*) FILTER (WHERE oid <> root))::int AS partitions,
           bool_or(never_analyzed) AS never_analyzed
    FROM sized GROUP BY root
)
SELECT rn.nspname AS schema, r.relname AS "table", s.total_bytes, s.index_bytes, s.rows_estimate, s.partitions,
       s.never_analyzed
FROM totals s
JOIN pg_class r ON r.oid = s.root
JOIN pg_namespace rn ON rn.oid = r.relnamespace
ORDER BY s.total_bytes DESC, 1, 2
LIMIT %(top)s
