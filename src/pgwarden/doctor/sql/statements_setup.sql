-- Is pg_stat_statements preloaded, available and created in this database (and in which schema)?
-- shared_preload_libraries is read through pg_settings: a role without superuser or
-- pg_read_all_settings gets NULL there instead of "permission denied to examine".
SELECT (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries') AS preload,
       EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements') AS available,
       (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'pg_stat_statements') AS schema,
       current_user AS "user"
