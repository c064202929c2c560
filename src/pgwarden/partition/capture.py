"""Change capture for ``partition convert``: a log table fed by a row trigger, and its replay.

The trigger records only primary-key values (of NEW for inserts and updates, of
OLD for deletes and key-changing updates) in ``pgwarden.<log>``, in the writer's
own transaction: a change and its log row commit or vanish together.

Replay takes a batch of log rows (``DELETE ... RETURNING``: only rows committed
and visible), and for those keys makes the new table equal to the old one:
delete every row with that key from the new table, copy the old table's current
row (if any). Replay is idempotent and order-free, so a batch replayed twice,
or a row also copied by the backfill, converges to the old table's content.

Why this is exact: a log row is visible only once its writer committed, and the
replay reads the old table afterwards (READ COMMITTED statement snapshot), so
it copies that change or a later one; a later one has its own log row, replayed
later. Keys never logged were not changed since the trigger was installed, so
the backfill's copy of them is current.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from psycopg import sql

from pgwarden.partition.ddl import Statement, ident

if TYPE_CHECKING:
    import psycopg

    from pgwarden.partition.inspect import TableInfo

KEYS_TABLE = "pgwarden_convert_keys"
LOG_ID = "pgwarden_log_id"  # the log's own ordering column (never clashes with a user column name)


def _cols(names: list[str], prefix: str | None = None) -> sql.Composable:
    if prefix:
        return sql.SQL(", ").join(sql.SQL(prefix + ".{}").format(sql.Identifier(n)) for n in names)
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def _match(left: str, right: str, names: list[str]) -> sql.Composable:
    return sql.SQL(" AND ").join(
        sql.SQL("{}.{} = {}.{}").format(
            sql.Identifier(left), sql.Identifier(n), sql.Identifier(right), sql.Identifier(n)
        )
        for n in names
    )


def install_statements(
    conn: psycopg.Connection[Any], info: TableInfo, log: str, function: str, trigger: str
) -> list[Statement]:
    """Create the log table, the capture function and (last, so its lock is held briefly) the trigger.

    ``CREATE TRIGGER`` takes SHARE ROW EXCLUSIVE on the table: writers wait for it
    (bounded by lock_timeout), readers do not.
    """
    pk = info.primary_key
    new_values = sql.SQL(", ").join(sql.SQL("NEW.{}").format(sql.Identifier(c)) for c in pk)
    old_values = sql.SQL(", ").join(sql.SQL("OLD.{}").format(sql.Identifier(c)) for c in pk)
    insert = sql.SQL("INSERT INTO {} ({}) VALUES ").format(ident("pgwarden", log), _cols(pk))
    body = (
        sql.SQL("""
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    RAISE EXCEPTION 'pgwarden partition convert is copying this table: TRUNCATE is refused until it finishes'
      USING HINT = 'wait for it, or run: pgwarden partition convert --abort';
  ELSIF TG_OP = 'DELETE' THEN
    {insert}({old});
  ELSE
    {insert}({new});
    IF TG_OP = 'UPDATE' AND ({old}) IS DISTINCT FROM ({new}) THEN
      {insert}({old});
    END IF;
  END IF;
  RETURN NULL;
END
""")
        .format(insert=insert, old=old_values, new=new_values)
        .as_string(conn)
    )
    return [
        sql.SQL("CREATE TABLE {} AS SELECT {} FROM {} WITH NO DATA").format(
            ident("pgwarden", log), _cols(pk), ident(info.schema, info.name)
        ),
        sql.SQL("ALTER TABLE {} ADD COLUMN {} bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY").format(
            ident("pgwarden", log), sql.Identifier(LOG_ID)
        ),
        sql.SQL("CREATE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS {}").format(
            ident("pgwarden", function), sql.Literal(body)
        ),
        sql.SQL("CREATE TRIGGER {} AFTER INSERT OR UPDATE OR DELETE ON {} FOR EACH ROW EXECUTE FUNCTION {}()").format(
            sql.Identifier(trigger), ident(info.schema, info.name), ident("pgwarden", function)
        ),
        sql.SQL("CREATE TRIGGER {} BEFORE TRUNCATE ON {} FOR EACH STATEMENT EXECUTE FUNCTION {}()").format(
            sql.Identifier(trigger + "_truncate"), ident(info.schema, info.name), ident("pgwarden", function)
        ),
    ]


def drop_triggers(info: TableInfo, table_name: str, trigger: str) -> list[Statement]:
    """Drop the capture and TRUNCATE-guard triggers (SHARE ROW EXCLUSIVE on the table, brief)."""
    return [
        sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(sql.Identifier(name), ident(info.schema, table_name))
        for name in (trigger, trigger + "_truncate")
    ]


def cleanup_statements(log: str, function: str) -> list[Statement]:
    """Drop the log table and the capture function (no lock on user tables once the trigger is gone)."""
    return [
        sql.SQL("DROP TABLE IF EXISTS {}").format(ident("pgwarden", log)),
        sql.SQL("DROP FUNCTION IF EXISTS {}()").format(ident("pgwarden", function)),
    ]


def backlog(conn: psycopg.Connection[Any], log: str) -> int:
    """Log rows waiting to be replayed (committed ones)."""
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(ident("pgwarden", log))).fetchone()
    return int(row[0]) if row else 0


def replay_batch(
    conn: psycopg.Connection[Any],
    info: TableInfo,
    new: str,
    log: str,
    columns: list[str],
    limit: int | None,
    *,
    behind: list[Any] | None = None,
    backfilling: bool = False,
) -> int:
    """Replay up to ``limit`` log rows (all if None) in the caller's transaction; returns log rows consumed.

    While the backfill runs (``backfilling``), keys after its cursor ``behind``
    (all keys when it has not copied anything yet) are only dropped from the log:
    the backfill will read them later, after the logged change committed. So the
    backfill never meets a key the replay already inserted, and needs no
    ``ON CONFLICT``.
    """
    pk = info.primary_key
    conn.execute(
        sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS AS SELECT {} FROM {} WITH NO DATA").format(
            sql.Identifier(KEYS_TABLE), _cols(pk), ident("pgwarden", log)
        )
    )
    pick = (
        sql.SQL("SELECT {i} FROM {} ORDER BY {i} LIMIT {}").format(
            ident("pgwarden", log), sql.Literal(limit), i=sql.Identifier(LOG_ID)
        )
        if limit
        else sql.SQL("SELECT {i} FROM {}").format(ident("pgwarden", log), i=sql.Identifier(LOG_ID))
    )
    consumed = conn.execute(
        sql.SQL(
            "WITH d AS (DELETE FROM {log} WHERE {i} IN ({pick}) RETURNING {pk}) "
            "INSERT INTO {keys} SELECT DISTINCT {pk} FROM d"
        ).format(
            log=ident("pgwarden", log),
            pick=pick,
            i=sql.Identifier(LOG_ID),
            pk=_cols(pk),
            keys=sql.Identifier(KEYS_TABLE),
        )
    ).rowcount
    if consumed <= 0:
        return 0
    if backfilling and behind is None:
        conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(KEYS_TABLE)))
        return consumed
    if backfilling and behind is not None:
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE ({}) > ({})").format(
                sql.Identifier(KEYS_TABLE), _cols(pk), sql.SQL(", ").join(sql.Placeholder() * len(pk))
            ),
            behind,
        )
    conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(KEYS_TABLE)))
    # a few keys against a big table: index probes, never a scan of the table (for the rest of this transaction)
    conn.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")
    conn.execute(
        sql.SQL("DELETE FROM {new} n USING {keys} k WHERE {match}").format(
            new=ident(info.schema, new), keys=sql.Identifier(KEYS_TABLE), match=_match("n", "k", pk)
        )
    )
    conn.execute(
        sql.SQL(
            "INSERT INTO {new} ({cols}) OVERRIDING SYSTEM VALUE SELECT {ocols} FROM {old} o "
            "WHERE EXISTS (SELECT 1 FROM {keys} k WHERE {match})"
        ).format(
            new=ident(info.schema, new),
            cols=_cols(columns),
            ocols=_cols(columns, "o"),
            old=ident(info.schema, info.name),
            keys=sql.Identifier(KEYS_TABLE),
            match=_match("o", "k", pk),
        )
    )
    return consumed


def checksum_sql(
    schema: str, table: str, log: str, columns: list[str], pk: list[str], *, binary_hash: bool = True
) -> sql.Composed:
    """Row count and an order-free content checksum of ``table``, leaving out keys still in the log.

    ``binary_hash`` uses ``hash_record_extended`` (each column's own hash function,
    no text conversion: several times faster); without it, the hash of the row's text.
    """
    row_hash = sql.SQL("hash_record_extended(t, 0)" if binary_hash else "hashtextextended(t::text, 0)")
    return sql.SQL(
        "SELECT count(*), coalesce(sum({h}::numeric), 0) FROM "
        "(SELECT {cols} FROM {tbl} x WHERE NOT EXISTS (SELECT 1 FROM {log} l WHERE {match})) t"
    ).format(
        h=row_hash,
        cols=_cols(columns, "x"),
        tbl=ident(schema, table),
        log=ident("pgwarden", log),
        match=_match("x", "l", pk),
    )


def binary_hash_works(conn: psycopg.Connection[Any], schema: str, table: str, columns: list[str]) -> bool:
    """Whether every column type has a hash function (``hash_record_extended`` then works)."""
    try:
        with conn.transaction():
            conn.execute(
                sql.SQL("SELECT hash_record_extended(t, 0) FROM (SELECT {} FROM {} LIMIT 1) t").format(
                    _cols(columns), ident(schema, table)
                )
            ).fetchall()
    except Exception:  # noqa: BLE001 - e.g. a json or point column: fall back to hashing the text
        return False
    return True
