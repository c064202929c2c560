"""pgwarden's migration history in the target database: ``pgwarden.migrations`` (events: :mod:`pgwarden.events`).

Guarantees: the schema is created idempotently; a history row is written in the
same transaction as a transactional migration, so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    status           text NOT NULL CHECK (status IN ('applied', 'baseline', 'running', 'failed')),
    statements_done  integer NOT NULL DEFAULT 0,
    statements_total integer NOT NULL DEFAULT 0,
    error            text
);
"""

_SELECT = """
SELECT version, name, checksum, applied_at, applied_by, duration_ms, transactional, status,
       statements_done, statements_total, error
FROM pgwarden.migrations
"""


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


def ensure_schema(conn: psycopg.Connection[Any]) -> None:
    """Create schema ``pgwarden`` and its tables if missing (call under the runner lock)."""
    if history_exists(conn):
        return
    with conn.transaction():
        conn.execute(SCHEMA_SQL)


def history_exists(conn: psycopg.Connection[Any]) -> bool:
    """Whether pgwarden has ever recorded anything in this database."""
    row = conn.execute("SELECT to_regclass('pgwarden.migrations') IS NOT NULL").fetchone()
    return bool(row and row[0])


def applied(conn: psycopg.Connection[Any]) -> dict[str, AppliedMigration]:
    """Every recorded migration by version (empty when the history table does not exist yet)."""
    if not history_exists(conn):
        return {}
    rows = conn.execute(_SELECT).fetchall()
    return {row[0]: AppliedMigration(*row) for row in rows}


_INSERT = sql.SQL("""
INSERT INTO pgwarden.migrations (version, name, checksum, applied_by, duration_ms, transactional, status,
                                 statements_done, statements_total, error)
VALUES ({values})
ON CONFLICT (version) DO UPDATE SET
    name = EXCLUDED.name, checksum = EXCLUDED.checksum, applied_at = now(),
    applied_by = EXCLUDED.applied_by, duration_ms = EXCLUDED.duration_ms,
    transactional = EXCLUDED.transactional, status = EXCLUDED.status,
    statements_done = EXCLUDED.statements_done, statements_total = EXCLUDED.statements_total,
    error = EXCLUDED.error""")


ELAPSED_MS = sql.SQL("(extract(epoch FROM clock_timestamp() - now()) * 1000)::integer")
"""Milliseconds since the current transaction began, measured by the server."""


def record_sql(*, version: str, name: str, checksum: str, duration_ms: int | sql.Composable, transactional: bool,
               status: str, statements_done: int, statements_total: int, error: str | None = None) -> sql.Composed:
    """The statement that inserts or replaces the history row of ``version`` (values as literals).

    Composed rather than parameterised so that it can share one round trip with the
    migration itself; ``duration_ms`` may be an SQL expression such as :data:`ELAPSED_MS`.
    """
    values = [version, name, checksum, who(), duration_ms, transactional, status, statements_done,
              statements_total, error]
    return _INSERT.format(values=sql.SQL(", ").join(
        v if isinstance(v, sql.Composable) else sql.Literal(v) for v in values))


def record(conn: psycopg.Connection[Any], **fields: Any) -> None:
    """Insert or replace the history row of ``version`` (fields as for :func:`record_sql`)."""
    conn.execute(record_sql(**fields))


def delete_sql(version: str) -> sql.Composed:
    """The statement that removes the history row of ``version``."""
    return sql.SQL("DELETE FROM pgwarden.migrations WHERE version = {}").format(sql.Literal(version))


def update_checksum(conn: psycopg.Connection[Any], version: str, checksum: str) -> None:
    """Re-record the checksum of an applied migration (``migrate repair``)."""
    conn.execute("UPDATE pgwarden.migrations SET checksum = %s WHERE version = %s", [checksum, version])


def delete(conn: psycopg.Connection[Any], version: str) -> None:
    """Remove the history row of ``version`` (after its down section ran)."""
    conn.execute(delete_sql(version))
