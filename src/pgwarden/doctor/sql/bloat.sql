-- Estimated bloat of tables and btree indexes from %(min_size)s bytes up, from planner statistics
-- (pg_stats average widths and null fractions, readable without superuser; sizes from pg_class.relpages, no lock taken).
-- Tables: expected pages = rows x (24-byte tuple header + 4-byte line pointer + data width)
--         / (block size - 24-byte page header) x fillfactor.
-- Btree indexes: rows x (8-byte index tuple header + 4 + key width) / (block size - 40) x 90%%.
-- An estimate: relations without statistics (never analyzed) are skipped.
WITH rel AS (
    SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind, c.reltuples, c.relpages,
           coalesce((SELECT option_value::int FROM pg_options_to_table(c.reloptions)
                     WHERE option_name = 'fillfactor'), 100) AS fillfactor,
           current_setting('block_size')::numeric AS bs
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'm') AND c.reltuples > 0
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
      AND c.relpages::bigint * current_setting('block_size')::bigint >= %(min_size)s
), tab AS (
    SELECT r.*, w.width, w.analyzed
    FROM rel r
    CROSS JOIN LATERAL (
        SELECT coalesce(sum((1 - s.null_frac) * s.avg_width), 0) AS width,
               count(s.attname) = count(a.attnum) AS analyzed
        FROM pg_attribute a
        LEFT JOIN pg_stats s ON s.schemaname = r.schema AND s.tablename = r.name AND s.attname = a.attname
                            AND NOT s.inherited
        WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    ) w
), tables AS (
    SELECT 'table' AS kind, schema, name AS "table", NULL::name AS index, relpages,
           ceil(reltuples * (24 + 4 + width) / ((bs - 24) * fillfactor / 100)) AS expected_pages, bs
    FROM tab WHERE analyzed
), idx AS (
    SELECT 'index' AS kind, t.schema, t.name AS "table", c.relname AS index, c.relpages,
           ceil(c.reltuples * (8 + 4 + w.width) / ((t.bs - 40) * 0.9)) AS expected_pages, t.bs
    FROM tab t
    JOIN pg_index i ON i.indrelid = t.oid
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_am am ON am.oid = c.relam AND am.amname = 'btree'
    CROSS JOIN LATERAL (
        SELECT coalesce(sum((1 - s.null_frac) * s.avg_width), 0) AS width,
               count(s.attname) = count(*) AS analyzed
        FROM unnest(i.indkey) k(attnum)
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
        LEFT JOIN pg_stats s ON s.schemaname = t.schema AND s.tablename = t.name AND s.attname = a.attname
                            AND NOT s.inherited
    ) w
    WHERE i.indexprs IS NULL AND w.analyzed AND c.reltuples > 0
      AND c.relpages::bigint * current_setting('block_size')::bigint >= %(min_size)s
)
SELECT kind, schema, "table", index,
       (relpages * bs)::bigint AS size_bytes,
       greatest(relpages - expected_pages, 0)::bigint * bs::bigint AS wasted_bytes,
       round((100 * greatest(relpages - expected_pages, 0) / relpages)::numeric, 1)::float8 AS wasted_pct
FROM (SELECT * FROM tables UNION ALL SELECT * FROM idx) x
WHERE relpages > 0
ORDER BY wasted_bytes DESC
LIMIT 100
