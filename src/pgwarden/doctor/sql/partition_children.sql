-- The partitioning of %(table)s and its direct partitions with their bounds.
SELECT p.partstrat::text AS strategy,
       (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
         WHERE a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]) AS key_type,
       c.relname AS partition, n.nspname AS partition_schema, pg_get_expr(c.relpartbound, c.oid) AS bound
FROM pg_partitioned_table p
LEFT JOIN pg_inherits i ON i.inhparent = p.partrelid
LEFT JOIN pg_class c ON c.oid = i.inhrelid
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE p.partrelid = to_regclass(%(table)s)
ORDER BY c.relname
