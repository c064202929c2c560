"""``pgwarden.events``: the log of what pgwarden did to a database (deploys, backups, restores, partitions).

Events are their own small module below every domain: ``deploy``, ``backup``,
``partition`` and ``migrations`` write through :func:`record`; nothing else
touches the table.

Guarantees:
- the table is created idempotently (schema ``pgwarden`` included);
- every event is also appended, as one JSON line, to ``.pgwarden/events.jsonl``
  of the project that reached this database (known once the project resolved an
  environment through :func:`pgwarden.db.resolve_target`); a library caller with
  no project writes the table only;
- ids are never reused: :func:`snapshot` reads every event before an in-place
  restore and :func:`restore_after` writes back the ones the restore erased, with
  their own ids, and moves the id sequence above the largest id ever seen.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

DDL = """
CREATE SCHEMA IF NOT EXISTS pgwarden;
CREATE TABLE IF NOT EXISTS pgwarden.events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    who        text NOT NULL,
    kind       text NOT NULL,
    what       text NOT NULL,
    outcome    text NOT NULL,
    details    jsonb NOT NULL DEFAULT '{}'::jsonb
);
"""

JOURNAL_NAME = "events.jsonl"
_COLUMNS = "id, at, who, kind, what, outcome, details"

DatabaseKey = tuple[str, str, str]
"""(host or socket folder, port, database name) as the server session reports them."""

_journals: dict[DatabaseKey, Path] = {}
_journals_lock = threading.Lock()


@dataclass(frozen=True)
class Event:
    """One row of ``pgwarden.events``."""

    id: int
    at: datetime
    who: str
    kind: str
    what: str
    outcome: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """One line of ``events.jsonl``."""
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return json.dumps(data, default=str, sort_keys=True)


def who() -> str:
    """``user@host`` of the person or job running pgwarden (recorded in history and events)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname()}"


def session_key(conn: psycopg.Connection[Any]) -> DatabaseKey:
    """The database ``conn`` is connected to, as (host, port, dbname) of the live session."""
    return (conn.info.host, str(conn.info.port), conn.info.dbname)


def bind_project(conn: psycopg.Connection[Any], state_dir: Path) -> None:
    """Remember that events of ``conn``'s database are also journaled in ``state_dir/events.jsonl``.

    Called where a project resolves an environment (:func:`pgwarden.db.resolve_target`),
    so every later :func:`record` on that database, whoever opens the connection, is journaled.
    """
    with _journals_lock:
        _journals[session_key(conn)] = state_dir


def journal_path(conn: psycopg.Connection[Any]) -> Path | None:
    """The project journal bound to ``conn``'s database, or None when no project is known."""
    with _journals_lock:
        state_dir = _journals.get(session_key(conn))
    return state_dir / JOURNAL_NAME if state_dir else None


def ensure_table(conn: psycopg.Connection[Any]) -> None:
    """Create schema ``pgwarden`` and table ``pgwarden.events`` if missing."""
    row = conn.execute("SELECT to_regclass('pgwarden.events') IS NOT NULL").fetchone()
    if row and row[0]:
        return
    with conn.transaction():
        conn.execute(DDL)


def _event(row: tuple[Any, ...]) -> Event:
    return Event(row[0], row[1], row[2], row[3], row[4], row[5], row[6] or {})


def _append_journal(conn: psycopg.Connection[Any], event: Event) -> None:
    path = journal_path(conn)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(event.to_json() + "\n")
    except OSError:
        # the database row is the record; a read-only project folder must not fail the operation
        return


def record(
    conn: psycopg.Connection[Any], kind: str, what: str, outcome: str, details: dict[str, Any] | None = None
) -> Event:
    """Append one event to ``pgwarden.events`` (creating it if needed) and to the project journal.

    ``details`` must be JSON-able (other values are written with ``str``). Runs in
    the caller's transaction when one is open, so it commits or rolls back with it.
    """
    ensure_table(conn)
    row = conn.execute(
        f"INSERT INTO pgwarden.events (who, kind, what, outcome, details) VALUES (%s, %s, %s, %s, %s::jsonb) "
        f"RETURNING {_COLUMNS}",
        [who(), kind, what, outcome, json.dumps(details or {}, default=str)],
    ).fetchone()
    assert row is not None
    event = _event(row)
    _append_journal(conn, event)
    return event


record_event = record
"""The name callers used when events lived in ``migrations/history.py``."""


def read(conn: psycopg.Connection[Any], *, kind: str | None = None, limit: int | None = None) -> list[Event]:
    """Events oldest first (the newest ``limit`` when given), optionally of one ``kind``; [] without a table."""
    row = conn.execute("SELECT to_regclass('pgwarden.events') IS NOT NULL").fetchone()
    if not (row and row[0]):
        return []
    where = " WHERE kind = %s" if kind else ""
    params: list[Any] = [kind] if kind else []
    query = f"SELECT {_COLUMNS} FROM pgwarden.events{where} ORDER BY id"
    if limit is not None:
        query = f"SELECT * FROM ({query} DESC LIMIT %s) newest ORDER BY id"
        params.append(limit)
    return [_event(r) for r in conn.execute(query, params).fetchall()]


def snapshot(conn: psycopg.Connection[Any]) -> list[Event]:
    """Every event, oldest first: read it before an in-place restore and pass it to :func:`restore_after`."""
    return read(conn)


def restore_after(conn: psycopg.Connection[Any], rows: list[Event]) -> int:
    """Write back the events of ``rows`` that a restore erased; returns how many were written.

    Each keeps its id (``OVERRIDING SYSTEM VALUE``; an id already present is left
    as it is), and the id sequence is moved above the largest id in ``rows`` or the
    table, so no later event reuses an id. Runs in one transaction; nothing to do for no rows.
    """
    if not rows:
        return 0
    ensure_table(conn)
    written = 0
    with conn.transaction():
        for event in rows:
            cur = conn.execute(
                f"INSERT INTO pgwarden.events ({_COLUMNS}) OVERRIDING SYSTEM VALUE "
                "VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb) ON CONFLICT (id) DO NOTHING",
                [
                    event.id,
                    event.at,
                    event.who,
                    event.kind,
                    event.what,
                    event.outcome,
                    json.dumps(event.details, default=str),
                ],
            )
            written += cur.rowcount
        highest = max((e.id for e in rows), default=0)
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('pgwarden.events', 'id'), "
            "greatest(%s, (SELECT coalesce(max(id), 0) FROM pgwarden.events), 1), "
            "greatest(%s, (SELECT coalesce(max(id), 0) FROM pgwarden.events)) > 0)",
            [highest, highest],
        )
    return written
