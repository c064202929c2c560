-- Tables whose dead rows exceed %(pct)s percent of their rows (and %(min_dead)s rows).
SELECT s.schemaname AS schema, s.relname AS "table", s.n_live_tup AS live_rows, s.n_dead_tup AS dead_rows,
       round(100.0 * s.n_dead_tup / nullif(s.n_live_tup + s.n_dead_tup, 0), 1)::float8 AS dead_pct,
       s.last_vacuum, s.last_autovacuum,
       coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions)
                 WHERE option_name = 'autovacuum_enabled'), 'on') AS autovacuum_enabled
FROM pg_stat_user_tables s
JOIN pg_class c ON c.oid = s.relid
WHERE s.n_dead_tup >= %(min_dead)s
  AND 100.0 * s.n_dead_tup / nullif(s.n_live_tup + s.n_dead_tup, 0) >= %(pct)s
ORDER BY s.n_dead_tup DESC
LIMIT 50
