-- Tables that autovacuum would have processed (default trigger: 50 rows + 10%% changed) but that have
-- not been vacuumed / analyzed for %(stale_seconds)s seconds (never = since the server started).
SELECT schemaname AS schema, relname AS "table", n_live_tup AS live_rows, n_dead_tup AS dead_rows,
       n_mod_since_analyze AS changed_since_analyze,
       greatest(last_vacuum, last_autovacuum) AS last_vacuum,
       greatest(last_analyze, last_autoanalyze) AS last_analyze,
       coalesce(greatest(last_vacuum, last_autovacuum), pg_postmaster_start_time())
           < now() - make_interval(secs => %(stale_seconds)s) AND n_dead_tup > 50 + 0.2 * n_live_tup
           AS needs_vacuum,
       coalesce(greatest(last_analyze, last_autoanalyze), pg_postmaster_start_time())
           < now() - make_interval(secs => %(stale_seconds)s) AND n_mod_since_analyze > 50 + 0.1 * n_live_tup
           AS needs_analyze
FROM pg_stat_user_tables
WHERE (coalesce(greatest(last_vacuum, last_autovacuum), pg_postmaster_start_time())
           < now() - make_interval(secs => %(stale_seconds)s) AND n_dead_tup > 50 + 0.2 * n_live_tup)
   OR (coalesce(greatest(last_analyze, last_autoanalyze), pg_postmaster_start_time())
           < now() - make_interval(secs => %(stale_seconds)s) AND n_mod_since_analyze > 50 + 0.1 * n_live_tup)
ORDER BY n_dead_tup + n_mod_since_analyze DESC
LIMIT 50
