"""``pgwarden.backfills``: the only code that reads or writes a backfill's progress.

A row per backfill id holds the last key of the last committed batch. The row is
updated inside each batch's own transaction, so after a crash (kill -9 included)
the stored key is exactly the end of the last batch that committed: a resumed run
neither skips nor repeats a batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from pgwarden.backfill.spec import BackfillSpec

DDL = """
CREATE SCHEMA IF NOT EXISTS pgwarden;
CREATE TABLE IF NOT EXISTS pgwarden.backfills (
    id           text PRIMARY KEY,
    table_name   text NOT NULL,
    set_clause   text NOT NULL,
    where_clause text,
    key_columns  text[] NOT NULL,
    last_key     jsonb,
    rows_done    bigint NOT NULL DEFAULT 0,
    batches      integer NOT NULL DEFAULT 0,
    status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done')),
    started_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
)
"""


@dataclass(frozen=True)
class Progress:
    """Where a backfill stands: the last committed key (None before the first batch) and totals."""

    backfill_id: str
    key_columns: list[str]
    last_key: list[str] | None
    rows_done: int
    batches: int
    status: str
    started_at: datetime | None = None


class BackfillStore:
    """Reads and writes ``pgwarden.backfills`` rows; batch progress is written on the batch's own connection."""

    def __init__(self, conn: psycopg.Connection[Any]):
        self.conn = conn

    def ensure(self) -> None:
        """Create the schema and table if missing (idempotent, safe under concurrency)."""
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(hashtext('pgwarden.backfills ddl'))")
            self.conn.execute(DDL)

    def load(self, backfill_id: str) -> Progress | None:
        """The stored progress of ``backfill_id``, or None when it never ran."""
        if not self._exists():
            return None
        row = self.conn.execute(
            "SELECT id, key_columns, last_key, rows_done, batches, status, started_at FROM pgwarden.backfills "
            "WHERE id = %s",
            (backfill_id,),
        ).fetchone()
        if row is None:
            return None
        return Progress(
            row[0], list(row[1]), list(row[2]) if row[2] is not None else None, row[3], row[4], row[5], row[6]
        )

    def start(self, spec: BackfillSpec, key_columns: list[str], *, restart: bool) -> Progress:
        """Insert the row for a new run, or reset it when ``restart``; returns the progress to continue from."""
        self.ensure()
        with self.conn.transaction():
            self.conn.execute(
                "INSERT INTO pgwarden.backfills (id, table_name, set_clause, where_clause, key_columns) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                (spec.backfill_id, str(spec.table), spec.set_clause, spec.where, key_columns),
            )
            if restart:
                self.conn.execute(
                    "UPDATE pgwarden.backfills SET last_key = NULL, rows_done = 0, batches = 0, status = 'running', "
                    "started_at = now(), updated_at = now(), finished_at = NULL, key_columns = %s WHERE id = %s",
                    (key_columns, spec.backfill_id),
                )
        progress = self.load(spec.backfill_id)
        assert progress is not None
        return progress

    @staticmethod
    def record_batch(conn: psycopg.Connection[Any], backfill_id: str, last_key: list[str], rows: int) -> None:
        """Advance the stored key inside the batch's transaction (commits or rolls back with the batch)."""
        conn.execute(
            "UPDATE pgwarden.backfills SET last_key = %s, rows_done = rows_done + %s, batches = batches + 1, "
            "updated_at = now() WHERE id = %s",
            (Jsonb(last_key), rows, backfill_id),
        )

    def finish(self, backfill_id: str) -> None:
        """Mark the run done; a later run with the same SET and WHERE starts over."""
        self.conn.execute(
            "UPDATE pgwarden.backfills SET status = 'done', finished_at = now(), updated_at = now() WHERE id = %s",
            (backfill_id,),
        )

    def _exists(self) -> bool:
        row = self.conn.execute("SELECT to_regclass('pgwarden.backfills') IS NOT NULL").fetchone()
        return bool(row and row[0])
