-- Sequences that can run out, with the column they feed (a column default calling nextval, serial or
-- identity), compared with the smaller of the sequence's and the column type's limit (PgHero's method:
-- this catches an int column fed by a bigint sequence). One row per sequence: its tightest column.
-- Only sequences feeding an int2/int4 column or with a limit under 2^62 are read (reading last_value
-- opens each sequence, which is what costs time on thousands of tables).
WITH fed AS (
    SELECT d.refobjid AS seqid, ad.adrelid AS relid, ad.adnum AS attnum
    FROM pg_depend d
    JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
    WHERE d.refclassid = 'pg_class'::regclass
    UNION
    SELECT d.objid, d.refobjid, d.refobjsubid
    FROM pg_depend d
    WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
      AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
), candidates AS (
    SELECT DISTINCT ON (s.oid)
           s.oid AS seqid, sn.nspname AS sequence_schema, s.relname AS sequence,
           tn.nspname AS schema, t.relname AS "table", a.attname AS "column",
           format_type(a.atttypid, a.atttypmod) AS column_type, format_type(sq.seqtypid, NULL) AS sequence_type,
           sq.seqincrement AS increment_by, sq.seqmin AS min_value, sq.seqmax AS max_value,
           CASE a.atttypid WHEN 'int2'::regtype THEN 32767 WHEN 'int4'::regtype THEN 2147483647 END AS column_max,
           CASE a.atttypid WHEN 'int2'::regtype THEN -32768 WHEN 'int4'::regtype THEN -2147483648 END AS column_min
    FROM pg_sequence sq
    JOIN pg_class s ON s.oid = sq.seqrelid
    JOIN pg_namespace sn ON sn.oid = s.relnamespace
    LEFT JOIN fed f ON f.seqid = s.oid
    LEFT JOIN pg_class t ON t.oid = f.relid
    LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
    LEFT JOIN pg_attribute a ON a.attrelid = f.relid AND a.attnum = f.attnum
    WHERE sn.nspname NOT IN ('pg_catalog', 'information_schema')
    ORDER BY s.oid, CASE a.atttypid WHEN 'int2'::regtype THEN 1 WHEN 'int4'::regtype THEN 2 ELSE 3 END, t.relname
), read AS (
    SELECT c.*, CASE WHEN has_sequence_privilege(c.seqid, 'SELECT,USAGE')
                     THEN pg_sequence_last_value(c.seqid::regclass) END AS last_value
    FROM candidates c
    WHERE c.column_max IS NOT NULL
       OR (c.increment_by > 0 AND c.max_value < 4611686018427387904)
       OR (c.increment_by < 0 AND c.min_value > -4611686018427387904)
)
SELECT sequence_schema, sequence, schema, "table", "column", column_type, sequence_type, last_value,
       increment_by, min_value, max_value, column_max, column_min
FROM read
WHERE last_value IS NOT NULL
ORDER BY sequence_schema, sequence
