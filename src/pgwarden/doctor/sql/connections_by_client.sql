-- Who holds the connections (top groups).
SELECT datname AS database, usename AS "user", application_name, state, count(*)::int AS connections
FROM pg_stat_activity
WHERE backend_type = 'client backend'
GROUP BY 1, 2, 3, 4
ORDER BY connections DESC
LIMIT 10
