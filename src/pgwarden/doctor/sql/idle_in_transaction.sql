-- Sessions of this database idle inside an open transaction for longer than %(min_seconds)s.
SELECT pid, usename AS "user", application_name, state,
       round(extract(epoch FROM clock_timestamp() - state_change)::numeric, 1)::float8 AS idle_seconds,
       round(extract(epoch FROM clock_timestamp() - xact_start)::numeric, 1)::float8 AS transaction_seconds,
       left(query, 300) AS last_query
FROM pg_stat_activity
WHERE state IN ('idle in transaction', 'idle in transaction (aborted)')
  AND datname = current_database()
  AND clock_timestamp() - state_change > make_interval(secs => %(min_seconds)s)
ORDER BY state_change
LIMIT 50
