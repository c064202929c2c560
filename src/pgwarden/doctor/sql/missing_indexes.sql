-- Large tables read mostly by sequential scans: candidates for a missing index.
SELECT schemaname AS schema, relname AS "table", n_live_tup AS live_rows, seq_scan,
       coalesce(idx_scan, 0) AS idx_scan, seq_tup_read,
       (seq_tup_read / nullif(seq_scan, 0))::bigint AS rows_per_seq_scan
FROM pg_stat_user_tables
WHERE n_live_tup >= %(min_rows)s AND seq_scan >= %(min_seq_scans)s AND seq_scan > coalesce(idx_scan, 0)
ORDER BY seq_tup_read DESC
LIMIT 20
