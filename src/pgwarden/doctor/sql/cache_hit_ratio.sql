-- Buffer cache hits against reads from disk (or the OS cache) for tables and indexes of this database.
SELECT 'tables' AS kind, coalesce(sum(heap_blks_hit), 0)::float8 AS hit, coalesce(sum(heap_blks_read), 0)::float8 AS read
FROM pg_statio_user_tables
UNION ALL
SELECT 'indexes', coalesce(sum(idx_blks_hit), 0)::float8, coalesce(sum(idx_blks_read), 0)::float8
FROM pg_statio_user_indexes
