-- Transaction ID and multixact age of every database (wraparound happens at 2^31).
SELECT datname AS database, age(datfrozenxid)::bigint AS xid_age, mxid_age(datminmxid)::bigint AS mxid_age,
       current_setting('autovacuum_freeze_max_age')::bigint AS autovacuum_freeze_max_age
FROM pg_database
WHERE datallowconn
ORDER BY xid_age DESC
