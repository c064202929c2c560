-- Statements of this database running longer than %(min_seconds)s (pgwarden doctor itself excluded).
SELECT pid, usename AS "user", application_name,
       round(extract(epoch FROM clock_timestamp() - query_start)::numeric, 1)::float8 AS seconds,
       wait_event_type, left(query, 300) AS query
FROM pg_stat_activity
WHERE state = 'active' AND backend_type = 'client backend'
  AND datname = current_database()
  AND application_name <> 'pgwarden:doctor'
  AND clock_timestamp() - query_start > make_interval(secs => %(min_seconds)s)
ORDER BY query_start
LIMIT 50
