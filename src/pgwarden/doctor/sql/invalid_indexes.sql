-- Indexes marked INVALID (a failed CREATE INDEX CONCURRENTLY, or a partitioned index missing partitions),
-- and whether a build is in progress right now.
SELECT n.nspname AS schema, t.relname AS "table", c.relname AS index, c.relkind::text AS kind,
       pg_get_indexdef(i.indexrelid) AS definition,
       EXISTS (SELECT 1 FROM pg_stat_progress_create_index p
               WHERE p.index_relid = i.indexrelid
                  OR (p.relid = i.indrelid AND p.command LIKE 'CREATE INDEX CONCURRENTLY%%'
                      AND p.index_relid = 0)) AS being_built
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid
ORDER BY 1, 2, 3
