"""A small shop project for the dashboard and agent tests: migrations (one left pending), a partitioned
table kept by ``partition maintain``, and rows whose counts the pages must show."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

PARTITIONS = """
[[partitions]]
table = "events"
key = "created_at"
interval = "1 month"
premake = 2
retention = "3 months"
default_partition = true
"""

CUSTOMERS, ORDERS, EVENTS_NOW = 40, 25, 7


def build_shop(project: Any, *, extra_config: str = "") -> Any:
    """Apply two of three migrations, create the partitions, fill rows; returns the loaded config."""
    from pgwarden.migrations.api import up
    from pgwarden.partition.api import maintain
    from pgwarden.partition.maintain import MaintainOptions

    project.write_config(PARTITIONS + extra_config)
    project.write_migration(
        "001_create_shop.sql",
        """
        CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
        CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                             customer_id bigint NOT NULL REFERENCES customers (id), total numeric(10, 2) NOT NULL);
        """,
        "DROP TABLE orders; DROP TABLE customers;",
    )
    project.write_migration(
        "002_events.sql",
        """
        CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY, created_at timestamptz NOT NULL,
                             kind text NOT NULL, PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at);
        CREATE TABLE events_default PARTITION OF events DEFAULT;
        """,
        "DROP TABLE events;",
    )
    project.write_migration(
        "003_order_note.sql", "ALTER TABLE orders ADD COLUMN note text;", "ALTER TABLE orders DROP COLUMN note;"
    )
    config = project.config()
    up(config, "test", to="002")
    maintain(config, "test", MaintainOptions(now=datetime.now(UTC)))
    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute("INSERT INTO customers (name) SELECT 'c' || g FROM generate_series(1, %s) g", [CUSTOMERS])
        conn.execute(
            "INSERT INTO orders (customer_id, total) SELECT 1 + g %% %s, g FROM generate_series(1, %s) g",
            [CUSTOMERS, ORDERS],
        )
        conn.execute(
            "INSERT INTO events (created_at, kind) SELECT now(), 'visit' FROM generate_series(1, %s)", [EVENTS_NOW]
        )
        conn.execute("ANALYZE")
    return config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def holding_access_exclusive(url: str, *tables: str) -> Iterator[psycopg.Connection[Any]]:
    """Another session holding ACCESS EXCLUSIVE on ``tables`` (in an open transaction) until the block ends."""
    conn = psycopg.connect(url)
    try:
        for table in tables:
            conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")  # test-owned names
        yield conn
    finally:
        conn.rollback()
        conn.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str


def fetch(
    base: str, path: str, *, method: str = "GET", headers: dict[str, str] | None = None, timeout: float = 30
) -> Reply:
    """One HTTP request to the running dashboard (redirects not followed)."""
    request = urllib.request.Request(base + path, method=method, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Reply(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read().decode())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read().decode())
