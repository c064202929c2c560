"""A read that no domain package offers yet (to move there when one does; noted on the board).

* :func:`server_version`: whether an environment answers and its version (a connection, no SQL).
* :func:`recent_events`: the newest events through :func:`pgwarden.events.read`, newest first, redacted.
"""

from __future__ import annotations

import json
from typing import Any

from pgwarden.db import connect, redact


def server_version(url: str) -> str:
    """The server's version string (raises Unreachable when it does not answer)."""
    with connect(url, connect_timeout=3) as conn:
        return str(conn.info.parameter_status("server_version") or conn.info.server_version)


def recent_events(url: str, limit: int = 100) -> list[Any]:
    """The newest ``limit`` events, newest first (none when pgwarden never recorded one); details redacted."""
    from dataclasses import replace

    from pgwarden.events import read

    with connect(url, connect_timeout=3) as conn:
        events = read(conn, limit=limit)
    return [replace(e, details=json.loads(redact(json.dumps(e.details, default=str)))) for e in reversed(events)]
