-- The relations of this database with the oldest unfrozen transaction IDs.
SELECT n.nspname AS schema, c.relname AS "table", age(c.relfrozenxid)::bigint AS xid_age
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm', 't') AND c.relfrozenxid <> '0'::xid
ORDER BY age(c.relfrozenxid) DESC
LIMIT 5
