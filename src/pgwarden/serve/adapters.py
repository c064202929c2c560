"""Reads that no domain package offers yet (to move there when one does; noted on the board).

* :func:`server_version`: whether an environment answers and its version (a connection, no SQL).
* :func:`recent_events`: the newest rows of ``pgwarden.events`` (the events module being written will
  own this read; until then this one query, behind the same read-only, time-bounded URL as every page).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pgwarden.db import connect, redact

EVENTS_SQL = """
SELECT id, at, who, kind, what, outcome, details
FROM pgwarden.events
ORDER BY at DESC, id DESC
LIMIT %s
"""
EVENTS_EXIST_SQL = "SELECT to_regclass('pgwarden.events') IS NOT NULL"


@dataclass(frozen=True)
class Event:
    id: int
    at: datetime
    who: str
    kind: str
    what: str
    outcome: str
    details: dict[str, Any]


def server_version(url: str) -> str:
    """The server's version string (raises Unreachable when it does not answer)."""
    with connect(url, connect_timeout=3) as conn:
        return str(conn.info.parameter_status("server_version") or conn.info.server_version)


def recent_events(url: str, limit: int = 100, kinds: tuple[str, ...] | None = None) -> list[Event]:
    """The newest events, newest first (none when pgwarden never recorded one); details redacted."""
    with connect(url, connect_timeout=3) as conn:
        row = conn.execute(EVENTS_EXIST_SQL).fetchone()
        if not row or not row[0]:
            return []
        rows = conn.execute(EVENTS_SQL, [limit * 4 if kinds else limit]).fetchall()
    out = [Event(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(redact(json.dumps(r[6], default=str))))
           for r in rows if not kinds or r[3] in kinds]
    return out[:limit]
