-- Key figures of this database and its server for `pgwarden metrics` (one row).
SELECT current_database() AS database,
       pg_database_size(current_database()) AS database_size_bytes,
       current_setting('max_connections')::int AS max_connections,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS connections,
       (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'
          AND backend_type = 'client backend')::int AS active,
       (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
          AND state LIKE 'idle in transaction%%')::int AS idle_in_transaction,
       (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock')::int
          AS waiting_for_lock,
       coalesce((SELECT extract(epoch FROM max(clock_timestamp() - xact_start)) FROM pg_stat_activity
          WHERE datname = current_database() AND backend_type = 'client backend'
            AND application_name <> 'pgwarden:metrics'), 0)::float8 AS longest_transaction_seconds,
       (SELECT max(age(datfrozenxid)) FROM pg_database)::bigint AS xid_age,
       (SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables)::bigint AS dead_tuples,
       (SELECT coalesce(sum(n_live_tup), 0) FROM pg_stat_user_tables)::bigint AS live_tuples,
       (SELECT coalesce(sum(heap_blks_hit), 0) FROM pg_statio_user_tables)::float8 AS heap_blks_hit,
       (SELECT coalesce(sum(heap_blks_read), 0) FROM pg_statio_user_tables)::float8 AS heap_blks_read,
       (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())::bigint AS xact_commit,
       (SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database())::bigint AS xact_rollback,
       (SELECT deadlocks FROM pg_stat_database WHERE datname = current_database())::bigint AS deadlocks,
       (SELECT count(*) FROM pg_index WHERE NOT indisvalid)::int AS invalid_indexes
