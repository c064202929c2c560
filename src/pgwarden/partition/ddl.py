"""DDL builders for partitions and their lock-bounded execution.

Every statement is composed with ``psycopg.sql`` (identifiers through
``Identifier``, bound values through ``Literal``) and run under ``lock_timeout``
with retries (:func:`pgwarden.db.retry_on_lock_timeout`).

Lock profile of each building block (what readers and writers of the parent feel):

=====================================================  =====================================================
statement                                              locks taken
=====================================================  =====================================================
``CREATE TABLE p (LIKE parent ...)``                   none on the parent (AccessShare to read its definition)
``ALTER TABLE parent ATTACH PARTITION p ...``          SHARE UPDATE EXCLUSIVE on the parent (reads and
                                                       writes go on); ACCESS EXCLUSIVE on ``p`` (new, not
                                                       yet visible); ACCESS EXCLUSIVE on the default
                                                       partition while it is scanned, if there is one
``DETACH PARTITION p CONCURRENTLY`` / ``FINALIZE``     SHARE UPDATE EXCLUSIVE on the parent; waits for
                                                       queries that use ``p``; cannot run in a transaction
                                                       nor while a default partition exists
``DETACH PARTITION p`` (plain)                         ACCESS EXCLUSIVE on the parent (catalog only: ms),
                                                       only used when a default partition exists
``DROP TABLE p`` (after detach)                        ACCESS EXCLUSIVE on ``p`` only (no longer a partition)
=====================================================  =====================================================

``CREATE TABLE ... PARTITION OF`` (ACCESS EXCLUSIVE on the parent) is used only
while the parent itself is being created, inside the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from psycopg import sql

from pgwarden.errors import Refused
from pgwarden.partition.naming import bound_literal, shorten
from pgwarden.partition.qualified import QualifiedName

if TYPE_CHECKING:
    import psycopg

    from pgwarden.db import LockRetryPolicy
    from pgwarden.partition.inspect import TableInfo

Statement = sql.SQL | sql.Composed  # what Connection.execute accepts
T = TypeVar("T")
LIKE_OPTIONS = sql.SQL(
    "INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING STORAGE "
    "INCLUDING COMPRESSION INCLUDING COMMENTS"
)


def ident(schema: str, name: str) -> sql.Identifier:
    """A qualified identifier ``schema.name``."""
    return sql.Identifier(schema, name)


def range_bounds(lower: datetime, upper: datetime, key_type: str) -> sql.Composed:
    """``FOR VALUES FROM ('lo') TO ('hi')`` for a time key of ``key_type``."""
    return sql.SQL("FOR VALUES FROM ({}) TO ({})").format(
        sql.Literal(bound_literal(lower, key_type)), sql.Literal(bound_literal(upper, key_type))
    )


def hash_bounds(modulus: int, remainder: int) -> sql.Composed:
    """``FOR VALUES WITH (MODULUS m, REMAINDER r)``."""
    return sql.SQL("FOR VALUES WITH (MODULUS {}, REMAINDER {})").format(sql.Literal(modulus), sql.Literal(remainder))


def create_like(schema: str, name: str, parent: str) -> sql.Composed:
    """A standalone table with the parent's columns, defaults, CHECKs and NOT NULLs (no lock on the parent)."""
    return sql.SQL("CREATE TABLE {} (LIKE {} {})").format(ident(schema, name), ident(schema, parent), LIKE_OPTIONS)


def range_check(schema: str, name: str, key: str, lower: datetime, upper: datetime, key_type: str) -> sql.Composed:
    """A CHECK equal to the partition constraint, so ATTACH skips its validation scan of ``name``."""
    return sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} CHECK ({k} IS NOT NULL AND {k} >= {} AND {k} < {})").format(
        ident(schema, name),
        sql.Identifier(shorten(name, "_bounds")),
        sql.Literal(bound_literal(lower, key_type)),
        sql.Literal(bound_literal(upper, key_type)),
        k=sql.Identifier(key),
    )


def drop_range_check(schema: str, name: str) -> sql.Composed:
    """Drop the helper CHECK of :func:`range_check` (redundant once attached)."""
    return sql.SQL("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}").format(
        ident(schema, name), sql.Identifier(shorten(name, "_bounds"))
    )


def attach(schema: str, parent: str, name: str, bounds: sql.Composable) -> sql.Composed:
    """``ALTER TABLE parent ATTACH PARTITION name <bounds>`` (SHARE UPDATE EXCLUSIVE on the parent)."""
    return sql.SQL("ALTER TABLE {} ATTACH PARTITION {} {}").format(ident(schema, parent), ident(schema, name), bounds)


def partition_of(schema: str, parent: str, name: str, bounds: sql.Composable) -> sql.Composed:
    """``CREATE TABLE name PARTITION OF parent <bounds>``: only for a parent created in the same transaction."""
    return sql.SQL("CREATE TABLE {} PARTITION OF {} {}").format(ident(schema, name), ident(schema, parent), bounds)


def detach(schema: str, parent: str, name: str, mode: str = "") -> sql.Composed:
    """``DETACH PARTITION`` with ``mode`` '' (plain), 'CONCURRENTLY' or 'FINALIZE'."""
    tail = sql.SQL(" " + mode) if mode in ("CONCURRENTLY", "FINALIZE") else sql.SQL("")
    return sql.SQL("ALTER TABLE {} DETACH PARTITION {}{}").format(ident(schema, parent), ident(schema, name), tail)


def drop(schema: str, name: str) -> sql.Composed:
    """``DROP TABLE`` of a detached partition."""
    return sql.SQL("DROP TABLE {}").format(ident(schema, name))


def attempt_locked(
    conn: psycopg.Connection[Any],
    work: Callable[[], T],
    policy: LockRetryPolicy,
    *,
    transaction: bool = True,
    watcher: psycopg.Connection[Any] | None = None,
) -> T:
    """One attempt at ``work`` under ``lock_timeout``; a lock timeout raises LockAttemptTimedOut (rolled back).

    In a transaction (default) the work is atomic; with ``transaction=False`` each
    statement autocommits (needed for ``DETACH ... CONCURRENTLY``) and ``work`` must
    be safe to re-run. Meant to be passed to :func:`pgwarden.db.retry_on_lock_timeout`.
    """
    from pgwarden.db import watch_lock_waits
    from pgwarden.units import postgres_duration

    timeout = postgres_duration(policy.lock_timeout)
    with watch_lock_waits(watcher, conn.info.backend_pid, policy.lock_timeout):
        if transaction:
            with conn.transaction():
                conn.execute("SELECT set_config('lock_timeout', %s, true)", [timeout])
                return work()
        conn.execute("SELECT set_config('lock_timeout', %s, false)", [timeout])
        try:
            return work()
        finally:
            conn.execute("RESET lock_timeout")


def run_locked(
    conn: psycopg.Connection[Any],
    statements: Sequence[Statement] | Callable[[], None],
    policy: LockRetryPolicy,
    *,
    what: str,
    transaction: bool = True,
    watcher: psycopg.Connection[Any] | None = None,
) -> None:
    """Run ``statements`` (or a callable doing its own work) under ``lock_timeout``, retrying lock timeouts.

    Each attempt is :func:`attempt_locked`; retries with backoff through
    :func:`pgwarden.db.retry_on_lock_timeout`, which gives up with LockTimeoutGaveUp
    (exit 4) naming the blockers.
    """
    from pgwarden.db import retry_on_lock_timeout

    def body() -> None:
        if callable(statements):
            statements()
        else:
            for statement in statements:
                conn.execute(statement)

    retry_on_lock_timeout(
        lambda: attempt_locked(conn, body, policy, transaction=transaction, watcher=watcher), policy, what=what
    )


# --- a partitioned twin of an existing table (used by `create` and `convert`) ---------------------------------


@dataclass
class KeyChange:
    """A primary key or unique constraint/index extended with the partition key."""

    name: str
    before: list[str]
    after: list[str]
    kind: str = "unique"  # "primary key" | "unique"


@dataclass
class Twin:
    """The statements that build a partitioned copy of a table, and what they changed."""

    create: list[Statement] = field(default_factory=list)
    renames: list[tuple[str, str]] = field(default_factory=list)  # (temporary index name, final name)
    key_changes: list[KeyChange] = field(default_factory=list)
    owned_sequences: list[tuple[str, str, str]] = field(default_factory=list)  # (seq schema, seq, column)
    identity_columns: list[str] = field(default_factory=list)
    grants: list[tuple[str, str]] = field(default_factory=list)  # (privilege, grantee)


_INDEXES_SQL = """
SELECT ic.relname, pg_get_indexdef(i.indexrelid), i.indisunique, con.contype, con.conname,
       coalesce((SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(i.indkey) WITH ORDINALITY k(att, ord)
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.att
                 WHERE k.ord <= i.indnkeyatts), '{}')
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
WHERE i.indrelid = %s
ORDER BY ic.relname
"""

_REFUSALS_SQL = """
SELECT 'foreign key ' || con.conname || ' of ' || con.conrelid::regclass::text || ' references it'
FROM pg_constraint con WHERE con.confrelid = %(oid)s AND con.contype = 'f'
UNION ALL
SELECT DISTINCT 'view ' || v.oid::regclass::text || ' depends on it'
FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class
WHERE d.refobjid = %(oid)s AND d.classid = 'pg_rewrite'::regclass AND v.oid <> %(oid)s
UNION ALL
SELECT 'trigger ' || t.tgname || ' is defined on it'
FROM pg_trigger t WHERE t.tgrelid = %(oid)s AND NOT t.tgisinternal AND t.tgname NOT LIKE 'pgwarden_%%'
UNION ALL
SELECT 'exclusion constraint ' || con.conname || ' cannot be carried to a partitioned table'
FROM pg_constraint con WHERE con.conrelid = %(oid)s AND con.contype = 'x'
UNION ALL
SELECT 'it has inheritance children or parents'
WHERE EXISTS (SELECT 1 FROM pg_inherits WHERE inhparent = %(oid)s OR inhrelid = %(oid)s)
"""

_SEQUENCES_SQL = """
SELECT sn.nspname, s.relname, a.attname, d.deptype
FROM pg_depend d
JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_namespace sn ON sn.oid = s.relnamespace
JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE d.refobjid = %s AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
"""

_FKS_SQL = "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s AND contype = 'f'"
_GRANTS_SQL = """
SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END
FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = %s AND a.grantee <> c.relowner
"""


def refusals(conn: psycopg.Connection[Any], info: TableInfo) -> list[str]:
    """Reasons the table cannot be swapped for a partitioned twin (empty list = it can)."""
    return [r[0] for r in conn.execute(_REFUSALS_SQL, {"oid": info.oid}).fetchall()]


def _with_key(columns: list[str], key: list[str]) -> list[str]:
    return columns + [k for k in key if k not in columns]


def widened_uniques(conn: psycopg.Connection[Any], info: TableInfo, key: list[str]) -> list[KeyChange]:
    """Unique constraints and indexes (not the primary key) that lack a column of ``key``.

    Partitioning would have to extend them with the key, which weakens them: the one
    rule that `create`, `convert` and `advise` apply.
    """
    out: list[KeyChange] = []
    for index_name, _indexdef, unique, contype, conname, columns in conn.execute(_INDEXES_SQL, [info.oid]).fetchall():
        if not unique or contype == "p":
            continue
        after = _with_key(list(columns), key)
        if after != list(columns):
            out.append(KeyChange(conname or index_name, list(columns), after, "unique"))
    return out


def _rewrite_index(
    indexdef: str, schema: str, new_table: str, new_name: str, key: list[str], unique: bool
) -> Statement:
    """The index definition moved onto the new table (and extended with the key when unique), via pglast."""
    from pglast import ast, parse_sql
    from pglast.stream import RawStream

    stmt = parse_sql(indexdef)[0].stmt
    assert isinstance(stmt, ast.IndexStmt)
    stmt.idxname = new_name
    stmt.relation = ast.RangeVar(schemaname=schema, relname=new_table, inh=True, relpersistence="p")
    stmt.concurrent = False
    if unique:
        present = {e.name for e in stmt.indexParams or () if e.name}
        extra = tuple(ast.IndexElem(name=k, ordering=0, nulls_ordering=0) for k in key if k not in present)
        stmt.indexParams = tuple(stmt.indexParams or ()) + extra
    return sql.SQL(RawStream()(stmt))  # text produced from the catalog's own definition, names re-quoted by pglast


def widening_refusal(info: TableInfo, changes: list[KeyChange]) -> Refused:
    """Why widening unique constraints is refused, what uniqueness would be lost, and the alternatives."""
    what = "; ".join(
        f"{c.name}: UNIQUE ({', '.join(c.before)}) would become UNIQUE ({', '.join(c.after)})" for c in changes
    )
    return Refused(
        f"{info.qualified}: {what}. PostgreSQL enforces uniqueness on a partitioned table only together with the "
        "partition key, so two rows with the same value in different partitions would be accepted",
        hint="pass --widen-unique to accept that loss; or keep the uniqueness another way: a separate lookup table "
        "with the unique constraint (written in the same transaction), a unique index on each partition "
        "(unique within a partition only), or a partition key that is part of the constraint",
    )


def partitioned_twin(
    conn: psycopg.Connection[Any],
    info: TableInfo,
    new_name: str,
    strategy: str,
    key: list[str],
    *,
    widen_unique: bool = False,
    suffix: str = "_pgw",
) -> Twin:
    """Statements creating ``new_name``: same columns, PARTITION BY ``strategy`` (``key``), indexes on the parent.

    A primary key lacking the key columns is extended with them (reported in
    ``key_changes``); a unique constraint or index lacking them is refused (exit 5,
    see :func:`widening_refusal`) unless ``widen_unique``. Refuses (exit 5) tables
    that cannot be swapped safely: referenced by foreign keys, used by views, with
    user triggers or exclusion constraints, or in an inheritance tree.
    """
    widened = widened_uniques(conn, info, key)
    if widened and not widen_unique:
        raise widening_refusal(info, widened)
    reasons = refusals(conn, info)
    if reasons:
        raise Refused(
            f"{info.qualified} cannot be partitioned by pgwarden: " + "; ".join(reasons),
            hint="drop or move those objects first (and re-create them afterwards)",
        )
    schema = info.schema
    twin = Twin()
    by = sql.SQL("RANGE") if strategy == "range" else sql.SQL("HASH")
    twin.create.append(
        sql.SQL("CREATE TABLE {} (LIKE {} {} INCLUDING IDENTITY) PARTITION BY {} ({})").format(
            ident(schema, new_name),
            ident(schema, info.name),
            LIKE_OPTIONS,
            by,
            sql.SQL(", ").join(sql.Identifier(k) for k in key),
        )
    )
    for index_name, indexdef, unique, contype, conname, columns in conn.execute(_INDEXES_SQL, [info.oid]).fetchall():
        temp = shorten(index_name, suffix)
        twin.renames.append((temp, index_name))
        if contype in ("p", "u"):
            after = _with_key(list(columns), key)
            if after != list(columns):
                twin.key_changes.append(
                    KeyChange(conname, list(columns), after, "primary key" if contype == "p" else "unique")
                )
            kind = sql.SQL("PRIMARY KEY") if contype == "p" else sql.SQL("UNIQUE")
            twin.create.append(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {} ({})").format(
                    ident(schema, new_name),
                    sql.Identifier(temp),
                    kind,
                    sql.SQL(", ").join(sql.Identifier(c) for c in after),
                )
            )
            continue
        if unique:
            twin.key_changes.append(KeyChange(index_name, list(columns), _with_key(list(columns), key), "unique"))
        twin.create.append(_rewrite_index(indexdef, schema, new_name, temp, key, unique))
    for conname, definition in conn.execute(_FKS_SQL, [info.oid]).fetchall():
        twin.create.append(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                ident(schema, new_name), sql.Identifier(conname), sql.SQL(definition)
            )
        )
    for seq_schema, seq, column, deptype in conn.execute(_SEQUENCES_SQL, [info.oid]).fetchall():
        if deptype == "i":
            twin.identity_columns.append(column)
        else:
            twin.owned_sequences.append((seq_schema, seq, column))
    twin.grants = [(p, g) for p, g in conn.execute(_GRANTS_SQL, [info.oid]).fetchall()]
    for privilege, grantee in twin.grants:
        target = sql.SQL("PUBLIC") if grantee == "PUBLIC" else sql.Identifier(grantee)
        twin.create.append(sql.SQL("GRANT {} ON {} TO {}").format(sql.SQL(privilege), ident(schema, new_name), target))
    return twin


def swap_statements(
    conn: psycopg.Connection[Any], info: TableInfo, twin: Twin, new_name: str, old_name: str | None
) -> list[Statement]:
    """Statements that put the twin in place of ``info``: the old table is renamed to ``old_name``
    (or dropped when None), sequences move to the twin, identity sequences continue where they were
    and keep their names (the old table's is renamed ``<seq>_pgw_old``), and the twin's indexes take
    the original names. The twin must exist (its identity sequences are looked up).
    """
    schema = info.schema
    out: list[Statement] = []
    identity_renames: list[Statement] = []
    for column in twin.identity_columns:
        old_seq = _serial_sequence(conn, schema, info.name, column)
        new_seq = _serial_sequence(conn, schema, new_name, column)
        out.append(
            sql.SQL(
                "SELECT setval({new}, s.last_value, s.is_called) FROM (SELECT last_value, is_called FROM {old}) s"
            ).format(new=sql.Literal(new_seq.ident().as_string(conn)), old=old_seq.ident())
        )
        if old_name is not None:
            out.append(
                sql.SQL("ALTER SEQUENCE {} RENAME TO {}").format(
                    old_seq.ident(), sql.Identifier(shorten(old_seq.name, "_pgw_old"))
                )
            )
        identity_renames.append(
            sql.SQL("ALTER SEQUENCE {} RENAME TO {}").format(new_seq.ident(), sql.Identifier(old_seq.name))
        )
    for seq_schema, seq, column in twin.owned_sequences:
        out.append(
            sql.SQL("ALTER SEQUENCE {} OWNED BY {}").format(
                ident(seq_schema, seq), sql.Identifier(schema, new_name, column)
            )
        )
    if old_name is None:
        out.append(drop(schema, info.name))
    else:
        out.append(sql.SQL("ALTER TABLE {} RENAME TO {}").format(ident(schema, info.name), sql.Identifier(old_name)))
        for _temp, original in twin.renames:
            out.append(
                sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                    ident(schema, original), sql.Identifier(shorten(original, "_pgw_old"))
                )
            )
    out.append(sql.SQL("ALTER TABLE {} RENAME TO {}").format(ident(schema, new_name), sql.Identifier(info.name)))
    for temp, original in twin.renames:
        out.append(sql.SQL("ALTER INDEX {} RENAME TO {}").format(ident(schema, temp), sql.Identifier(original)))
    return out + identity_renames


_SERIAL_SEQUENCE_SQL = """
SELECT n.nspname, s.relname FROM pg_depend d
JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_namespace n ON n.oid = s.relnamespace
JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE d.refobjid = %s::regclass AND a.attname = %s AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
"""


def _serial_sequence(conn: psycopg.Connection[Any], schema: str, table: str, column: str) -> QualifiedName:
    row = conn.execute(_SERIAL_SEQUENCE_SQL, [sql.Identifier(schema, table).as_string(conn), column]).fetchone()
    assert row, f"{schema}.{table}.{column} has no identity sequence"
    return QualifiedName(str(row[0]), str(row[1]))


_AUTOVACUUM_ON_SQL = """
SELECT a.pid
FROM pg_stat_activity a
JOIN (SELECT pid, relid FROM pg_stat_progress_vacuum
      UNION ALL SELECT pid, relid FROM pg_stat_progress_analyze) p ON p.pid = a.pid
WHERE a.backend_type = 'autovacuum worker'
  AND a.query NOT LIKE %s
  AND p.relid IN (SELECT relid FROM pg_partition_tree(%s::regclass)
                  UNION ALL SELECT relid FROM pg_partition_tree(%s::regclass))
"""


def yield_autovacuum(conn: psycopg.Connection[Any], schema: str, tables: Sequence[str]) -> int:
    """Cancel autovacuum workers on ``tables`` (and their partitions) before a short ACCESS EXCLUSIVE lock.

    PostgreSQL cancels an autovacuum that blocks a lock request itself, but only after
    ``deadlock_timeout`` (1 s by default) of waiting; partition DDL waits at most its
    ``lock_timeout`` (500 ms), so without this a long autovacuum of a big table makes
    every swap attempt time out. Anti-wraparound vacuums are never cancelled (PostgreSQL
    does not cancel them either). Returns how many were cancelled; 0 when the role may
    not signal autovacuum workers (superuser or ``pg_signal_autovacuum_worker``).
    """
    import psycopg

    if len(tables) != 2:
        raise ValueError("yield_autovacuum takes the original table and its twin")
    names = [sql.Identifier(schema, t).as_string(conn) for t in tables]
    pids = [r[0] for r in conn.execute(_AUTOVACUUM_ON_SQL, ["%to prevent wraparound%", *names]).fetchall()]
    cancelled = 0
    for pid in pids:
        try:
            row = conn.execute("SELECT pg_cancel_backend(%s)", [pid]).fetchone()
        except psycopg.errors.InsufficientPrivilege:
            if conn.info.transaction_status != 0:
                conn.rollback()
            return cancelled
        cancelled += bool(row and row[0])
    return cancelled
