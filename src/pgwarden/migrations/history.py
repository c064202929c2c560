"""pgwarden's migration history in the target database: ``pgwarden.migrations`` (events: :mod:`pgwarden.events`).

Guarantees: the schema is created idempotently; a history row is written in the
same transaction as a transactional migration, so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from pgwarden.events import who

SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS pgwarden;
CREATE TABLE IF NOT EXISTS pgwarden.migrations (
    version          text PRIMARY KEY,
    name             text NOT NULL,
    checksum         text NOT NULL,
    applied_at       timestamptz NOT NULL DEFAULT now(),
    applied_by       text NOT NULL,
    duration_ms      integer NOT NULL DEFAULT 0,
    transactional    boolean NOT NULL,
    status           text NOT NULL,
    statements_done  integer NOT NULL DEFAULT 0,
    statements_total integer NOT NULL DEFAULT 0,
    error            text
);
"""

# Columns and statuses added after the first release; applied idempotently to older history tables.
UPGRADE_SQL = """
ALTER TABLE pgwarden.migrations
    ADD COLUMN IF NOT EXISTS run_id text,
    ADD COLUMN IF NOT EXISTS statement_checksums text[] NOT NULL DEFAULT '{}',
    ADD COLUMN IF NOT EXISTS down_checksums text[] NOT NULL DEFAULT '{}',
    ADD COLUMN IF NOT EXISTS down_done integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS down_total integer NOT NULL DEFAULT 0;
ALTER TABLE pgwarden.migrations DROP CONSTRAINT IF EXISTS migrations_status_check;
ALTER TABLE pgwarden.migrations ADD CONSTRAINT migrations_status_check
    CHECK (status IN ('applied', 'baseline', 'running', 'failed', 'reverting', 'revert_failed'));
"""

_FIRST_COLUMNS = (
    "version, name, checksum, applied_at, applied_by, duration_ms, transactional, status, "
    "statements_done, statements_total, error"
)
_SELECT = (
    f"SELECT {_FIRST_COLUMNS}, run_id, statement_checksums, down_done, down_total, down_checksums "
    "FROM pgwarden.migrations"
)
_SELECT_FIRST_RELEASE = f"SELECT {_FIRST_COLUMNS} FROM pgwarden.migrations"


@dataclass(frozen=True)
class AppliedMigration:
    """One row of ``pgwarden.migrations``."""

    version: str
    name: str
    checksum: str
    applied_at: datetime
    applied_by: str
    duration_ms: int
    transactional: bool
    status: str
    statements_done: int
    statements_total: int
    error: str | None
    run_id: str | None = None
    statement_checksums: tuple[str, ...] = ()
    down_done: int = 0
    down_total: int = 0
    down_checksums: tuple[str, ...] = ()

    @property
    def in_progress(self) -> bool:
        """A ``transaction:false`` section stopped part-way: up (running/failed) or down (reverting/revert_failed)."""
        return self.status in ("running", "failed", "reverting", "revert_failed")


def _current(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(
        "SELECT to_regclass('pgwarden.migrations') IS NOT NULL"
        " AND EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass('pgwarden.migrations')"
        " AND attname = 'down_checksums' AND NOT attisdropped)"
    ).fetchone()
    return bool(row and row[0])


def ensure_schema(conn: psycopg.Connection[Any]) -> None:
    """Create schema ``pgwarden`` and its tables if missing; upgrade an older history table (under the runner lock)."""
    if _current(conn):
        return
    with conn.transaction():
        conn.execute(SCHEMA_SQL)
        conn.execute(UPGRADE_SQL)


def history_exists(conn: psycopg.Connection[Any]) -> bool:
    """Whether pgwarden has ever recorded anything in this database."""
    row = conn.execute("SELECT to_regclass('pgwarden.migrations') IS NOT NULL").fetchone()
    return bool(row and row[0])


def applied(conn: psycopg.Connection[Any]) -> dict[str, AppliedMigration]:
    """Every recorded migration by version (empty when the history table does not exist yet)."""
    if not history_exists(conn):
        return {}
    if not _current(conn):  # written by an older pgwarden: read what it has
        rows = conn.execute(_SELECT_FIRST_RELEASE).fetchall()
        return {row[0]: AppliedMigration(*row) for row in rows}
    rows = conn.execute(_SELECT).fetchall()
    return {row[0]: _from_row(row) for row in rows}


def _from_row(row: tuple[Any, ...]) -> AppliedMigration:
    """A current-release row: the first-release columns as they are, the checksum arrays as tuples."""
    first = AppliedMigration(*row[:11])
    run_id, statement_sums, down_done, down_total, down_sums = row[11:]
    return replace(
        first,
        run_id=run_id,
        statement_checksums=tuple(statement_sums or ()),
        down_done=down_done,
        down_total=down_total,
        down_checksums=tuple(down_sums or ()),
    )


_INSERT = sql.SQL("""
INSERT INTO pgwarden.migrations (version, name, checksum, applied_by, duration_ms, transactional, status,
                                 statements_done, statements_total, error, run_id, statement_checksums)
VALUES ({values})""")
"""A plain INSERT: a second commit of the same version fails (unique violation) instead of updating."""


ELAPSED_MS = sql.SQL("(extract(epoch FROM clock_timestamp() - now()) * 1000)::integer")
"""Milliseconds since the current transaction began, measured by the server."""


def record_sql(
    *,
    version: str,
    name: str,
    checksum: str,
    duration_ms: int | sql.Composable,
    transactional: bool,
    status: str,
    statements_done: int,
    statements_total: int,
    error: str | None = None,
    run_id: str | None = None,
    statement_checksums: tuple[str, ...] = (),
) -> sql.Composed:
    """The statement that inserts the history row of ``version`` (values as literals).

    Composed rather than parameterised so that it can share one round trip with the
    migration itself; ``duration_ms`` may be an SQL expression such as :data:`ELAPSED_MS`.
    A row for ``version`` that already exists makes it fail: nothing is applied twice.
    """
    values = [
        version,
        name,
        checksum,
        who(),
        duration_ms,
        transactional,
        status,
        statements_done,
        statements_total,
        error,
        run_id,
        list(statement_checksums),
    ]
    return _INSERT.format(
        values=sql.SQL(", ").join(v if isinstance(v, sql.Composable) else sql.Literal(v) for v in values)
    )


def record(conn: psycopg.Connection[Any], **fields: Any) -> None:
    """Insert the history row of ``version`` (fields as for :func:`record_sql`)."""
    conn.execute(record_sql(**fields))


def delete_sql(version: str, *, statuses: tuple[str, ...] | None = None) -> sql.Composed:
    """The statement that removes the history row of ``version`` (only in one of ``statuses`` if given)."""
    query = sql.SQL("DELETE FROM pgwarden.migrations WHERE version = {}").format(sql.Literal(version))
    if statuses:
        query = sql.SQL("{} AND status = ANY({})").format(query, sql.Literal(list(statuses)))
    return query


_PROGRESS = sql.SQL("""
UPDATE pgwarden.migrations SET status = {status}, error = {error}, run_id = {run_id},
    statements_done = {done}, statements_total = {total}, down_done = {down_done}, down_total = {down_total},
    checksum = {checksum}, statement_checksums = {checksums}, down_checksums = {down_checksums},
    duration_ms = {duration},
    applied_at = CASE WHEN {status} = 'applied' THEN now() ELSE applied_at END
WHERE version = {version} AND run_id IS NOT DISTINCT FROM {owner}""")


def progress_sql(
    *,
    version: str,
    owner: str | None,
    run_id: str,
    status: str,
    checksum: str,
    done: int,
    total: int,
    checksums: tuple[str, ...],
    down_done: int = 0,
    down_total: int = 0,
    down_checksums: tuple[str, ...] = (),
    error: str | None = None,
    duration_ms: int = 0,
) -> sql.Composed:
    """The UPDATE that records how far a ``transaction:false`` section got.

    It matches only the row still owned by ``owner`` (the run id last recorded), so a
    run never overwrites another run's record; :func:`progress` checks that it matched.
    """

    def lit(value: Any) -> sql.Composable:
        return sql.Literal(value)

    return _PROGRESS.format(
        status=lit(status),
        error=lit(error),
        run_id=lit(run_id),
        done=lit(done),
        total=lit(total),
        down_done=lit(down_done),
        down_total=lit(down_total),
        checksum=lit(checksum),
        checksums=lit(list(checksums)),
        down_checksums=lit(list(down_checksums)),
        duration=lit(duration_ms),
        version=lit(version),
        owner=lit(owner),
    )


class HistoryConflict(Exception):
    """The history row was changed by someone else while this run owned it."""


def progress(conn: psycopg.Connection[Any], **fields: Any) -> None:
    """Run :func:`progress_sql`; raises HistoryConflict when the row is no longer this run's."""
    cursor = conn.execute(progress_sql(**fields))
    if cursor.rowcount != 1:
        raise HistoryConflict(f"history row of {fields['version']} changed under this run")


def update_checksum(conn: psycopg.Connection[Any], version: str, checksum: str) -> None:
    """Re-record the checksum of an applied migration (``migrate repair``)."""
    conn.execute("UPDATE pgwarden.migrations SET checksum = %s WHERE version = %s", [checksum, version])


def delete(conn: psycopg.Connection[Any], version: str) -> None:
    """Remove the history row of ``version`` (after its down section ran)."""
    conn.execute(delete_sql(version))


def keep_done(
    conn: psycopg.Connection[Any],
    version: str,
    *,
    checksum: str,
    done: int,
    checksums: tuple[str, ...],
    status: str = "failed",
    error: str | None = None,
) -> None:
    """Re-record a stopped run as ``done`` statements kept, to resume at ``done + 1`` (``migrate repair``)."""
    conn.execute(
        "UPDATE pgwarden.migrations SET checksum = %s, statements_done = %s, statement_checksums = %s,"
        " status = %s, error = %s, run_id = NULL WHERE version = %s",
        [checksum, done, list(checksums), status, error, version],
    )
