"""Recording backup, restore and prune in ``pgwarden.events`` of the database concerned."""

from __future__ import annotations

from typing import Any


def record(url: str, kind: str, what: str, outcome: str, details: dict[str, Any]) -> bool:
    """Append one event; best effort (a read-only or unreachable server must not fail the operation).

    Returns whether the event was written.
    """
    import psycopg

    from pgwarden.db import connect
    from pgwarden.errors import PgwardenError
    from pgwarden.events import record_event

    try:
        with connect(url) as conn:
            record_event(conn, kind, what, outcome, details)
        return True
    except (psycopg.Error, PgwardenError):
        return False
