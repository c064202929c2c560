-- Statements of this database waiting for a lock, how long they waited (pg_locks.waitstart, PG 14+)
-- and the sessions blocking them.
SELECT a.pid, a.usename AS "user", a.application_name,
       round(extract(epoch FROM clock_timestamp() - coalesce(w.waitstart, a.query_start))::numeric, 1)::float8
           AS waiting_seconds,
       left(a.query, 300) AS query,
       pg_blocking_pids(a.pid) AS blocked_by,
       (SELECT json_agg(json_build_object(
                   'pid', b.pid, 'state', b.state, 'application_name', b.application_name,
                   'transaction_seconds', round(extract(epoch FROM clock_timestamp() - b.xact_start)::numeric, 1),
                   'blocked', cardinality(pg_blocking_pids(b.pid)) > 0,
                   'query', left(b.query, 200)) ORDER BY b.pid)
          FROM pg_stat_activity b WHERE b.pid = ANY (pg_blocking_pids(a.pid))) AS blockers
FROM pg_stat_activity a
LEFT JOIN LATERAL (SELECT min(l.waitstart) AS waitstart FROM pg_locks l
                   WHERE l.pid = a.pid AND NOT l.granted) w ON true
WHERE a.datname = current_database()
  AND a.wait_event_type = 'Lock'
  AND cardinality(pg_blocking_pids(a.pid)) > 0
ORDER BY waiting_seconds DESC
LIMIT 50
