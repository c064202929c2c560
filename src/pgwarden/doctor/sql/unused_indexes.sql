-- Indexes never scanned since statistics were reset, that back no constraint, from %(min_size)s bytes.
-- Sizes come from pg_class.relpages (no lock taken).
SELECT s.schemaname AS schema, s.relname AS "table", s.indexrelname AS index,
       c.relpages::bigint * current_setting('block_size')::bigint AS size_bytes,
       s.idx_scan AS scans,
       (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()) AS stats_reset
FROM pg_stat_user_indexes s
JOIN pg_index i ON i.indexrelid = s.indexrelid
JOIN pg_class c ON c.oid = s.indexrelid
WHERE s.idx_scan = 0
  AND NOT i.indisunique AND NOT i.indisprimary AND i.indisvalid
  AND NOT c.relispartition
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
  AND c.relpages::bigint * current_setting('block_size')::bigint >= %(min_size)s
ORDER BY size_bytes DESC, 1, 2, 3
LIMIT 100
