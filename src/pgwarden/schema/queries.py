"""Catalog queries, one per object kind: a bounded number of round trips whatever the schema's size.

Each query returns a ``key`` column (the object's stable name), then attribute
columns that are compared, then ``meta_*`` columns that are not compared but
help to render and classify (``meta_schema``, ``meta_table``: the table the
object belongs to, ``meta_q``: the quoted name, ``meta_ddl``: PostgreSQL's own
rendering, ``meta_position``: column order).

Every query sees only user objects: system schemas, the schemas in
``%(exclude)s`` (pgwarden's own) and objects that belong to an extension are
left out. Nothing that differs between two healthy copies of a schema (OIDs,
sequence positions, statistics) is selected; owners are read by one query of
their own (``owners``) so they can be left out as a whole.
"""

from __future__ import annotations


def _user_schema(alias: str) -> str:
    return (
        f"{alias}.nspname <> 'information_schema' AND {alias}.nspname NOT LIKE 'pg\\_%%' "
        f"AND NOT ({alias}.nspname = ANY (%(exclude)s))"
    )


def _not_extension_member(catalog: str, oid: str) -> str:
    return (
        f"NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = '{catalog}'::regclass "
        f"AND x.objid = {oid} AND x.deptype = 'e')"
    )


_USER_NS = _user_schema("n")
_REL = "n.nspname || '.' || c.relname"
_QREL = "quote_ident(n.nspname) || '.' || quote_ident(c.relname)"

SCHEMAS = f"""
SELECT n.nspname AS key, quote_ident(n.nspname) AS meta_q, n.nspname AS meta_schema
FROM pg_namespace n
WHERE {_USER_NS} AND {_not_extension_member("pg_namespace", "n.oid")}
"""

EXTENSIONS = """
SELECT e.extname AS key, e.extversion AS version, n.nspname AS schema, quote_ident(e.extname) AS meta_q
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
"""

_TYPE_FROM = f"""
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.oid >= 16384 AND {_USER_NS} AND {_not_extension_member("pg_type", "t.oid")}"""
_TYPE_KEY = (
    "n.nspname || '.' || t.typname AS key, n.nspname AS meta_schema, "
    "quote_ident(n.nspname) || '.' || quote_ident(t.typname) AS meta_q"
)

ENUMS = f"""
SELECT {_TYPE_KEY},
       (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)
         AS labels
{_TYPE_FROM} AND t.typtype = 'e'
"""

COMPOSITES = f"""
SELECT {_TYPE_KEY},
       (SELECT array_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
                         || CASE WHEN a.attcollation <> at.typcollation
                                 THEN ' COLLATE ' || quote_ident(co.collname) ELSE '' END
                         ORDER BY a.attnum)
          FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid
          LEFT JOIN pg_collation co ON co.oid = a.attcollation
         WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) AS attributes
{_TYPE_FROM} AND t.typtype = 'c' AND (SELECT r.relkind FROM pg_class r WHERE r.oid = t.typrelid) = 'c'
"""

DOMAINS = f"""
SELECT {_TYPE_KEY},
       format_type(t.typbasetype, t.typtypmod) AS base_type,
       t.typnotnull AS not_null,
       t.typdefault AS "default",
       (SELECT co.collname FROM pg_collation co JOIN pg_type bt ON bt.oid = t.typbasetype
         WHERE co.oid = t.typcollation AND t.typcollation <> bt.typcollation) AS collation,
       (SELECT array_agg(quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid, true) ORDER BY c.conname)
          FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c') AS constraints
{_TYPE_FROM} AND t.typtype = 'd'
"""

RANGES = f"""
SELECT {_TYPE_KEY},
       format_type(r.rngsubtype, NULL) AS subtype,
       (SELECT co.collname FROM pg_collation co WHERE co.oid = r.rngcollation) AS collation,
       (SELECT oc.opcname FROM pg_opclass oc WHERE oc.oid = r.rngsubopc) AS opclass,
       nullif(r.rngcanonical::regproc::text, '-') AS canonical,
       nullif(r.rngsubdiff::regproc::text, '-') AS subdiff
{_TYPE_FROM.replace("FROM pg_type t", "FROM pg_type t JOIN pg_range r ON r.rngtypid = t.oid")}
"""

SEQUENCES = f"""
SELECT {_REL} AS key, n.nspname AS meta_schema, {_QREL} AS meta_q,
       format_type(s.seqtypid, NULL) AS type,
       s.seqstart AS start, s.seqincrement AS increment, s.seqmin AS min, s.seqmax AS max,
       s.seqcache AS cache, s.seqcycle AS cycle,
       c.relpersistence = 'u' AS unlogged,
       od.owned_by,
       coalesce(od.deptype = 'i', false) AS meta_identity
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (
    SELECT dn.nspname || '.' || dc.relname || '.' || da.attname AS owned_by, d.deptype
      FROM pg_depend d
      JOIN pg_class dc ON dc.oid = d.refobjid
      JOIN pg_namespace dn ON dn.oid = dc.relnamespace
      JOIN pg_attribute da ON da.attrelid = d.refobjid AND da.attnum = d.refobjsubid
     WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.objsubid = 0
       AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
     LIMIT 1) od ON true
WHERE c.oid >= 16384 AND {_USER_NS} AND {_not_extension_member("pg_class", "c.oid")}
"""

FUNCTIONS = f"""
SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS key,
       n.nspname AS meta_schema,
       quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid)
         || ')' AS meta_q,
       CASE p.prokind WHEN 'f' THEN 'function' WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate'
            WHEN 'w' THEN 'window function' END AS kind,
       l.lanname AS language,
       pg_get_function_arguments(p.oid) AS arguments,
       pg_get_function_result(p.oid) AS returns,
       CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END AS volatility,
       p.proisstrict AS strict,
       p.prosecdef AS security_definer,
       p.proleakproof AS leakproof,
       CASE p.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted' ELSE 'unsafe' END AS parallel,
       p.procost AS cost,
       CASE WHEN p.proretset THEN p.prorows END AS rows,
       p.proconfig AS config,
       CASE WHEN p.prokind <> 'a' THEN coalesce(pg_get_function_sqlbody(p.oid), p.prosrc) END AS body,
       nullif(p.probin, '') AS library,
       CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END AS meta_ddl
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE p.oid >= 16384 AND {_USER_NS} AND {_not_extension_member("pg_proc", "p.oid")}
"""

TABLES = f"""
SELECT {_REL} AS key, n.nspname AS meta_schema, {_REL} AS meta_table, {_QREL} AS meta_q,
       CASE c.relkind WHEN 'p' THEN 'partitioned table' WHEN 'f' THEN 'foreign table' ELSE 'table' END
         AS kind,
       CASE c.relpersistence WHEN 'u' THEN 'unlogged' WHEN 't' THEN 'temporary' ELSE 'logged' END
         AS persistence,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
       c.relrowsecurity AS row_security,
       c.relforcerowsecurity AS force_row_security,
       c.reloptions AS options,
       CASE WHEN c.reloftype <> 0 THEN format_type(c.reloftype, NULL) END AS of_type,
       (SELECT array_agg(pn.nspname || '.' || pc.relname ORDER BY i.inhseqno)
          FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
          JOIN pg_namespace pn ON pn.oid = pc.relnamespace
         WHERE i.inhrelid = c.oid AND NOT c.relispartition) AS inherits,
       CASE c.relreplident WHEN 'n' THEN 'nothing' WHEN 'f' THEN 'full' WHEN 'i' THEN 'index' END
         AS replica_identity,
       (SELECT s.srvname FROM pg_foreign_table ft JOIN pg_foreign_server s ON s.oid = ft.ftserver
         WHERE ft.ftrelid = c.oid) AS server,
       (SELECT ft.ftoptions FROM pg_foreign_table ft WHERE ft.ftrelid = c.oid) AS foreign_options
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid >= 16384 AND c.relkind IN ('r', 'p', 'f') AND {_USER_NS}
  AND {_not_extension_member("pg_class", "c.oid")}
"""

COLUMNS = f"""
SELECT {_REL} || '.' || a.attname AS key, n.nspname AS meta_schema, {_REL} AS meta_table,
       {_QREL} AS meta_qtable, quote_ident(a.attname) AS meta_q,
       a.attnum AS meta_position,
       format_type(a.atttypid, a.atttypmod) AS type,
       NOT a.attnotnull AS nullable,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END AS "default",
       CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END AS identity,
       CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END AS generated,
       CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS collation,
       CASE WHEN a.attstorage <> t.typstorage THEN
            CASE a.attstorage WHEN 'p' THEN 'plain' WHEN 'e' THEN 'external' WHEN 'm' THEN 'main'
                 ELSE 'extended' END END AS storage,
       CASE a.attcompression WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' END AS compression,
       nullif(coalesce(a.attstattarget::int, -1), -1) AS statistics,
       a.attoptions AS options
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
WHERE a.attrelid >= 16384 AND c.oid >= 16384 AND a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'f')
  AND {_USER_NS} AND {_not_extension_member("pg_class", "c.oid")}
"""

PARTITIONS = f"""
SELECT {_REL} AS key, n.nspname AS meta_schema, {_REL} AS meta_table, {_QREL} AS meta_q,
       pn.nspname || '.' || p.relname AS parent,
       quote_ident(pn.nspname) || '.' || quote_ident(p.relname) AS meta_qparent,
       pg_get_expr(c.relpartbound, c.oid) AS bound,
       i.inhdetachpending AS detach_pending
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_inherits i ON i.inhrelid = c.oid
JOIN pg_class p ON p.oid = i.inhparent
JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE c.oid >= 16384 AND c.relispartition AND c.relkind IN ('r', 'p', 'f') AND {_USER_NS}
"""

INDEXES = f"""
SELECT n.nspname || '.' || ic.relname AS key, n.nspname AS meta_schema,
       tn.nspname || '.' || tc.relname AS meta_table,
       quote_ident(n.nspname) || '.' || quote_ident(ic.relname) AS meta_q,
       pg_get_indexdef(i.indexrelid) AS definition,
       i.indisvalid AS valid,
       ic.reloptions AS options,
       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = i.indrelid AND k.conindid = i.indexrelid
                 AND k.contype IN ('p', 'u', 'x')) AS meta_constraint
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
JOIN pg_class tc ON tc.oid = i.indrelid
JOIN pg_namespace tn ON tn.oid = tc.relnamespace
WHERE i.indrelid >= 16384 AND i.indexrelid >= 16384 AND tc.relkind IN ('r', 'p', 'm', 'f')
  AND {_USER_NS} AND {_not_extension_member("pg_class", "tc.oid")}
"""

CONSTRAINTS = f"""
SELECT {_REL} || '.' || con.conname AS key, n.nspname AS meta_schema, {_REL} AS meta_table,
       {_QREL} AS meta_qtable, quote_ident(con.conname) AS meta_q,
       CASE con.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique' WHEN 'f' THEN 'foreign key'
            WHEN 'c' THEN 'check' WHEN 'x' THEN 'exclusion' WHEN 't' THEN 'trigger' ELSE con.contype::text END
         AS type,
       pg_get_constraintdef(con.oid, true) AS definition,
       con.condeferrable AS deferrable,
       con.condeferred AS initially_deferred,
       con.convalidated AS validated,
       con.connoinherit AS no_inherit,
       con.conislocal AS meta_local
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE con.oid >= 16384 AND c.oid >= 16384 AND con.contype <> 'n'
  AND {_USER_NS} AND {_not_extension_member("pg_class", "c.oid")}
"""

VIEWS = f"""
SELECT {_REL} AS key, n.nspname AS meta_schema, {_QREL} AS meta_q,
       CASE c.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END AS kind,
       pg_get_viewdef(c.oid, true) AS definition,
       c.reloptions AS options
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid >= 16384 AND c.relkind IN ('v', 'm') AND {_USER_NS} AND {_not_extension_member("pg_class", "c.oid")}
"""

TRIGGERS = f"""
SELECT {_REL} || '.' || t.tgname AS key, n.nspname AS meta_schema, {_REL} AS meta_table,
       {_QREL} AS meta_qtable, quote_ident(t.tgname) AS meta_q,
       pg_get_triggerdef(t.oid, true) AS definition,
       CASE t.tgenabled WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always'
            ELSE 'enabled' END AS enabled
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE t.oid >= 16384 AND NOT t.tgisinternal AND t.tgparentid = 0
  AND {_USER_NS} AND {_not_extension_member("pg_class", "c.oid")}
"""

EVENT_TRIGGERS = f"""
SELECT e.evtname AS key, quote_ident(e.evtname) AS meta_q,
       e.evtevent AS event,
       e.evtfoid::regproc::text AS function,
       CASE e.evtenabled WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always'
            ELSE 'enabled' END AS enabled,
       (SELECT array_agg(tag ORDER BY tag) FROM unnest(e.evttags) tag) AS tags
FROM pg_event_trigger e
WHERE {_not_extension_member("pg_event_trigger", "e.oid")}
"""

RULES = f"""
SELECT {_REL} || '.' || r.rulename AS key, n.nspname AS meta_schema, {_REL} AS meta_table,
       {_QREL} AS meta_qtable, quote_ident(r.rulename) AS meta_q,
       pg_get_ruledef(r.oid, true) AS definition,
       CASE r.ev_enabled WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always'
            ELSE 'enabled' END AS enabled
FROM pg_rewrite r
JOIN pg_class c ON c.oid = r.ev_class
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE r.oid >= 16384 AND r.rulename <> '_RETURN' AND {_USER_NS} AND {_not_extension_member("pg_class", "c.oid")}
"""

POLICIES = f"""
SELECT {_REL} || '.' || p.polname AS key, n.nspname AS meta_schema, {_REL} AS meta_table,
       {_QREL} AS meta_qtable, quote_ident(p.polname) AS meta_q,
       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE'
            ELSE 'ALL' END AS command,
       p.polpermissive AS permissive,
       (SELECT array_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END ORDER BY 1)
          FROM unnest(p.polroles) r) AS roles,
       pg_get_expr(p.polqual, p.polrelid) AS using,
       pg_get_expr(p.polwithcheck, p.polrelid) AS with_check
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE p.oid >= 16384 AND {_USER_NS} AND {_not_extension_member("pg_class", "c.oid")}
"""

PUBLICATIONS = """
SELECT p.pubname AS key, quote_ident(p.pubname) AS meta_q,
       p.puballtables AS all_tables,
       array_remove(ARRAY[CASE WHEN p.pubinsert THEN 'insert' END, CASE WHEN p.pubupdate THEN 'update' END,
                          CASE WHEN p.pubdelete THEN 'delete' END, CASE WHEN p.pubtruncate THEN 'truncate' END],
                    NULL) AS publish,
       p.pubviaroot AS via_root,
       (SELECT array_agg(quote_ident(n.nspname) || '.' || quote_ident(c.relname) ORDER BY 1)
          FROM pg_publication_rel r JOIN pg_class c ON c.oid = r.prrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.prpubid = p.oid) AS tables
FROM pg_publication p
"""

SERVERS = f"""
SELECT s.srvname AS key, quote_ident(s.srvname) AS meta_q,
       w.fdwname AS wrapper, s.srvtype AS type, s.srvversion AS version,
       s.srvoptions AS options
FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
WHERE {_not_extension_member("pg_foreign_server", "s.oid")}
"""

# Objects that can have an owner or privileges, with the catalog row pg_identify_object needs.
# objtype: the letter acldefault() takes for that kind of object. {columns}: the column rows
# (only privileges need them: a column has no owner of its own).
_OWNED_TEMPLATE = f"""
WITH objs(classid, objid, subid, nsp, tbl, acl, owner, objtype) AS (
  SELECT 'pg_class'::regclass, c.oid, 0, c.relnamespace, c.oid, c.relacl, c.relowner,
         CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char"
    FROM pg_class c WHERE c.oid >= 16384 AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
{{columns}}  UNION ALL
  SELECT 'pg_proc'::regclass, p.oid, 0, p.pronamespace, NULL::oid, p.proacl, p.proowner, 'f'::"char"
    FROM pg_proc p WHERE p.oid >= 16384
  UNION ALL
  SELECT 'pg_type'::regclass, t.oid, 0, t.typnamespace, NULL::oid, t.typacl, t.typowner, 'T'::"char"
    FROM pg_type t
   WHERE t.oid >= 16384 AND (t.typtype IN ('d', 'e', 'r')
      OR (t.typtype = 'c' AND (SELECT r.relkind FROM pg_class r WHERE r.oid = t.typrelid) = 'c'))
  UNION ALL
  SELECT 'pg_namespace'::regclass, n.oid, 0, n.oid, NULL::oid, n.nspacl, n.nspowner, 'n'::"char"
    FROM pg_namespace n
  UNION ALL
  SELECT 'pg_foreign_server'::regclass, s.oid, 0, NULL::oid, NULL::oid, s.srvacl, s.srvowner, 'S'::"char"
    FROM pg_foreign_server s
  UNION ALL
  SELECT 'pg_foreign_data_wrapper'::regclass, w.oid, 0, NULL::oid, NULL::oid, w.fdwacl, w.fdwowner, 'F'::"char"
    FROM pg_foreign_data_wrapper w
  UNION ALL
  SELECT 'pg_event_trigger'::regclass, e.oid, 0, NULL::oid, NULL::oid, NULL::aclitem[], e.evtowner, NULL::"char"
    FROM pg_event_trigger e
  UNION ALL
  SELECT 'pg_publication'::regclass, p.oid, 0, NULL::oid, NULL::oid, NULL::aclitem[], p.pubowner, NULL::"char"
    FROM pg_publication p
), mine AS (
  SELECT o.*, n.nspname AS schema_name, tn.nspname || '.' || tc.relname AS in_table
    FROM objs o
    LEFT JOIN pg_namespace n ON n.oid = o.nsp
    LEFT JOIN pg_class tc ON tc.oid = o.tbl
    LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
   WHERE (CASE WHEN o.nsp IS NULL THEN o.objid >= 16384 ELSE {_USER_NS} END)
     AND NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = o.classid AND x.objid = o.objid
                       AND x.deptype IN ('e', 'i'))
)"""

_COLUMN_ROWS = """  UNION ALL
  SELECT 'pg_class'::regclass, c.oid, a.attnum, c.relnamespace, c.oid, a.attacl, c.relowner, 'c'::"char"
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
   WHERE a.attrelid >= 16384 AND a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped
"""
_OWNED = _OWNED_TEMPLATE.format(columns=_COLUMN_ROWS)
_OWNED_NO_COLUMNS = _OWNED_TEMPLATE.format(columns="")

OWNERS = f"""{_OWNED_NO_COLUMNS}
SELECT io.type || ' ' || io.identity AS key, m.schema_name AS meta_schema, m.in_table AS meta_table,
       io.type AS meta_type, io.identity AS meta_q,
       quote_ident(pg_get_userbyid(m.owner)) AS owner
FROM mine m CROSS JOIN LATERAL pg_identify_object(m.classid, m.objid, m.subid) io
WHERE m.subid = 0
"""

# One row per object and grantee whose privileges differ from PostgreSQL's defaults for that
# object (acldefault), so untouched objects give no rows and a REVOKE from PUBLIC shows as "none".
GRANTS = f"""{_OWNED}, granted AS (
  SELECT m.*, g.grantee, g.privilege_type, g.is_grantable, true AS actual
    FROM mine m CROSS JOIN LATERAL aclexplode(m.acl) g WHERE m.acl IS NOT NULL
  UNION ALL
  SELECT m.*, g.grantee, g.privilege_type, g.is_grantable, false
    FROM mine m CROSS JOIN LATERAL aclexplode(acldefault(m.objtype, m.owner)) g
   WHERE m.acl IS NOT NULL AND m.subid = 0
), per_grantee AS (
  SELECT classid, objid, subid, schema_name, in_table, grantee, owner,
         coalesce(string_agg(privilege_type || CASE WHEN is_grantable THEN ' WITH GRANT OPTION' ELSE '' END,
                             ', ' ORDER BY privilege_type) FILTER (WHERE actual), 'none') AS privileges,
         coalesce(string_agg(privilege_type || CASE WHEN is_grantable THEN ' WITH GRANT OPTION' ELSE '' END,
                             ', ' ORDER BY privilege_type) FILTER (WHERE NOT actual), 'none') AS defaults
    FROM granted
   GROUP BY classid, objid, subid, schema_name, in_table, grantee, owner
)
SELECT io.type || ' ' || io.identity || ' to '
         || CASE WHEN pg.grantee = 0 THEN 'PUBLIC' WHEN pg.grantee = pg.owner THEN '(owner)'
                 ELSE pg_get_userbyid(pg.grantee) END AS key,
       pg.schema_name AS meta_schema, pg.in_table AS meta_table, io.type AS meta_type, io.identity AS meta_q,
       CASE WHEN pg.grantee = 0 THEN 'PUBLIC' WHEN pg.grantee = pg.owner THEN quote_ident(pg_get_userbyid(pg.owner))
            ELSE quote_ident(pg_get_userbyid(pg.grantee)) END AS meta_grantee,
       pg.privileges, pg.defaults AS meta_defaults
FROM per_grantee pg CROSS JOIN LATERAL pg_identify_object(pg.classid, pg.objid, pg.subid) io
WHERE pg.privileges <> pg.defaults
"""

DEFAULT_PRIVILEGES = """
SELECT 'for role ' || pg_get_userbyid(d.defaclrole) || coalesce(' in schema ' || n.nspname, '') || ' on '
         || CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
                 WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas' ELSE d.defaclobjtype::text END
         || ' to ' || CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee) END AS key,
       n.nspname AS meta_schema,
       string_agg(g.privilege_type || CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END, ', '
                  ORDER BY g.privilege_type) AS privileges
FROM pg_default_acl d
LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
CROSS JOIN LATERAL aclexplode(d.defaclacl) g
WHERE n.oid IS NULL OR NOT (n.nspname = ANY (%(exclude)s))
GROUP BY 1, 2
"""

COMMENTS = f"""
SELECT io.type || ' ' || io.identity AS key, io.schema AS meta_schema,
       CASE WHEN d.classoid = 'pg_class'::regclass THEN
            (SELECT tn.nspname || '.' || tc.relname FROM pg_class tc JOIN pg_namespace tn ON tn.oid = tc.relnamespace
              WHERE tc.oid = coalesce((SELECT i.indrelid FROM pg_index i WHERE i.indexrelid = d.objoid), d.objoid))
       END AS meta_table,
       io.type AS meta_type, io.identity AS meta_q,
       d.description AS comment
FROM pg_description d
CROSS JOIN LATERAL pg_identify_object(d.classoid, d.objoid, d.objsubid) io
LEFT JOIN pg_namespace n
       ON n.nspname = coalesce(io.schema, CASE WHEN io.type = 'schema' THEN d.objoid::regnamespace::text END)
WHERE d.objoid >= 16384
  AND io.type NOT IN ('database', 'role', 'tablespace')
  AND (n.oid IS NULL OR {_USER_NS})
  AND NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = d.classoid AND x.objid = d.objoid
                    AND x.deptype IN ('e', 'i'))
"""

# Counted, not compared: how many relations, functions and types live in an excluded schema.
EXCLUDED_COUNT = """
SELECT n.nspname AS schema,
       (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i'))
       + (SELECT count(*) FROM pg_proc p WHERE p.pronamespace = n.oid) AS objects
FROM pg_namespace n WHERE n.nspname = ANY (%(exclude)s)
"""

# In creation order: a kind may depend on the kinds before it.
BY_KIND: dict[str, str] = {
    "schemas": SCHEMAS,
    "extensions": EXTENSIONS,
    "enums": ENUMS,
    "composites": COMPOSITES,
    "domains": DOMAINS,
    "ranges": RANGES,
    "sequences": SEQUENCES,
    "functions": FUNCTIONS,
    "servers": SERVERS,
    "tables": TABLES,
    "columns": COLUMNS,
    "partitions": PARTITIONS,
    "constraints": CONSTRAINTS,
    "indexes": INDEXES,
    "views": VIEWS,
    "triggers": TRIGGERS,
    "event_triggers": EVENT_TRIGGERS,
    "rules": RULES,
    "policies": POLICIES,
    "publications": PUBLICATIONS,
    "comments": COMMENTS,
    "grants": GRANTS,
    "default_privileges": DEFAULT_PRIVILEGES,
    "owners": OWNERS,
}
