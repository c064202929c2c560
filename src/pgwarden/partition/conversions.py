"""The record of conversions in progress: ``pgwarden.partition_conversions`` (one row per table).

:class:`ConversionStore` is the only code that reads or writes that table. A row
exists from the end of ``prepare`` until ``finish`` (or ``abort``) and carries
everything a later ``resume`` needs: the twin's, log's and trigger's names, the
layout, the backfill cursor and the counters. Every change to it commits in the
same transaction as the work it describes (a batch, a replay, the swap).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pgwarden.partition.qualified import QualifiedName

if TYPE_CHECKING:
    import psycopg

PHASES = ("backfill", "catchup", "swapped", "done")
_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS pgwarden.partition_conversions (
    table_schema text NOT NULL,
    table_name   text NOT NULL,
    layout       jsonb NOT NULL,
    new_name     text NOT NULL,
    old_name     text NOT NULL,
    log_name     text NOT NULL,
    function_name text NOT NULL,
    trigger_name text NOT NULL,
    twin         jsonb NOT NULL,
    phase        text NOT NULL CHECK (phase IN ('backfill', 'catchup', 'swapped', 'done')),
    cursor       jsonb,
    rows_copied  bigint NOT NULL DEFAULT 0,
    batches      integer NOT NULL DEFAULT 0,
    replayed     bigint NOT NULL DEFAULT 0,
    started_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (table_schema, table_name)
)
"""
_COLUMNS = (
    "layout, new_name, old_name, log_name, function_name, trigger_name, twin, phase, cursor, "
    "rows_copied, batches, replayed"
)
_WHERE = " WHERE table_schema = %s AND table_name = %s"


@dataclass
class Conversion:
    """One conversion in progress, as recorded."""

    name: QualifiedName
    layout: dict[str, Any]
    new_name: str
    old_name: str
    log_name: str
    function_name: str
    trigger_name: str
    twin: dict[str, Any]
    phase: str = "backfill"
    cursor: Any = None
    rows_copied: int = 0
    batches: int = 0
    replayed: int = 0
    partitions: list[str] = field(default_factory=list)

    @property
    def new(self) -> QualifiedName:
        return self.name.sibling(self.new_name)

    @property
    def old(self) -> QualifiedName:
        return self.name.sibling(self.old_name)


class ConversionStore:
    """Reads and writes ``pgwarden.partition_conversions`` on one connection (in the caller's transaction)."""

    def __init__(self, conn: psycopg.Connection[Any]):
        self.conn = conn

    def create_table(self) -> None:
        """Create the table if missing (the schema ``pgwarden`` must exist)."""
        self.conn.execute(_TABLE_SQL)

    def load(self, name: QualifiedName) -> Conversion | None:
        """The conversion of ``name`` in progress, or None."""
        exists = self.conn.execute("SELECT to_regclass('pgwarden.partition_conversions') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return None
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM pgwarden.partition_conversions{_WHERE}", [name.schema, name.name]
        ).fetchone()
        if row is None:
            return None
        layout, new, old, log, function, trigger, twin, phase, cursor, copied, batches, replayed = row
        return Conversion(
            name,
            dict(layout),
            new,
            old,
            log,
            function,
            trigger,
            twin,
            phase,
            cursor,
            copied,
            batches,
            replayed,
            partitions=list(layout.get("partitions", [])),
        )

    def tables(self) -> list[QualifiedName]:
        """Every table with a conversion in progress."""
        exists = self.conn.execute("SELECT to_regclass('pgwarden.partition_conversions') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return []
        rows = self.conn.execute(
            "SELECT table_schema, table_name FROM pgwarden.partition_conversions ORDER BY 1, 2"
        ).fetchall()
        return [QualifiedName(str(s), str(t)) for s, t in rows]

    def insert(self, c: Conversion) -> None:
        """Record a new conversion (in prepare's transaction)."""
        self.conn.execute(
            "INSERT INTO pgwarden.partition_conversions (table_schema, table_name, layout, new_name, old_name, "
            "log_name, function_name, trigger_name, twin, phase) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                c.name.schema,
                c.name.name,
                json.dumps({**c.layout, "partitions": c.partitions}),
                c.new_name,
                c.old_name,
                c.log_name,
                c.function_name,
                c.trigger_name,
                json.dumps(c.twin),
                c.phase,
            ],
        )

    def record_batch(self, c: Conversion, rows: int, cursor: Any, phase: str) -> None:
        """One backfill batch copied ``rows`` up to ``cursor`` (None: unchanged); updates ``c`` too."""
        self.conn.execute(
            "UPDATE pgwarden.partition_conversions SET cursor = coalesce(%s::jsonb, cursor), "
            "rows_copied = rows_copied + %s, batches = batches + 1, phase = %s, updated_at = now()" + _WHERE,
            [json.dumps(cursor) if cursor is not None else None, rows, phase, c.name.schema, c.name.name],
        )
        c.cursor = cursor if cursor is not None else c.cursor
        c.rows_copied += rows
        c.batches += 1
        c.phase = phase

    def record_replayed(self, c: Conversion, rows: int) -> None:
        """``rows`` log rows were replayed; updates ``c`` too."""
        if rows:
            self.conn.execute(
                "UPDATE pgwarden.partition_conversions SET replayed = replayed + %s, updated_at = now()" + _WHERE,
                [rows, c.name.schema, c.name.name],
            )
            c.replayed += rows

    def record_partitions(self, c: Conversion, added: list[str]) -> None:
        """Partitions added to the twin after prepare; updates ``c`` too."""
        c.partitions.extend(added)
        self.conn.execute(
            "UPDATE pgwarden.partition_conversions SET layout = jsonb_set(layout, '{partitions}', %s), "
            "updated_at = now()" + _WHERE,
            [json.dumps(c.partitions), c.name.schema, c.name.name],
        )

    def mark_swapped(self, c: Conversion) -> None:
        """Record the swap (inside the swap's transaction; the caller sets ``c.phase`` once it committed)."""
        self.conn.execute(
            "UPDATE pgwarden.partition_conversions SET phase = 'swapped', updated_at = now()" + _WHERE,
            [c.name.schema, c.name.name],
        )

    def forget(self, name: QualifiedName) -> None:
        """Delete the record (finished or aborted)."""
        self.conn.execute("DELETE FROM pgwarden.partition_conversions" + _WHERE, [name.schema, name.name])
