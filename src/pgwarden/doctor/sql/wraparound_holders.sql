-- What can hold back freezing: old transactions, prepared transactions, replication slots.
SELECT 'session' AS kind, pid::text AS name, age(backend_xmin)::bigint AS xmin_age, state AS detail
FROM pg_stat_activity WHERE backend_xmin IS NOT NULL
UNION ALL
SELECT 'prepared transaction', gid, age(transaction)::bigint, prepared::text FROM pg_prepared_xacts
UNION ALL
SELECT 'replication slot', slot_name::text, age(xmin)::bigint, CASE WHEN active THEN 'active' ELSE 'inactive' END
FROM pg_replication_slots WHERE xmin IS NOT NULL
ORDER BY xmin_age DESC
LIMIT 5
