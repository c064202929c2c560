-- Statements of this database by total time and by mean time (pg_stat_statements, PG 13+ columns).
-- {schema} is the extension's schema, composed with psycopg.sql.Identifier.
WITH s AS (
    SELECT queryid, calls, total_exec_time, mean_exec_time, rows, query
    FROM {schema}.pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND query NOT LIKE '%%pg_stat_statements%%'
), by_total AS (
    SELECT 'total' AS ranking, * FROM s ORDER BY total_exec_time DESC LIMIT %(top)s
), by_mean AS (
    SELECT 'mean' AS ranking, * FROM s WHERE calls >= %(min_calls)s ORDER BY mean_exec_time DESC LIMIT %(top)s
)
SELECT ranking, queryid, calls, round(total_exec_time::numeric, 1)::float8 AS total_ms,
       round(mean_exec_time::numeric, 2)::float8 AS mean_ms, rows, left(query, 300) AS query
FROM (SELECT * FROM by_total UNION ALL SELECT * FROM by_mean) x
ORDER BY ranking DESC, CASE WHEN ranking = 'total' THEN total_exec_time ELSE mean_exec_time END DESC
