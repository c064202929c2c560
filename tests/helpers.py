"""Test helpers shared by several test files (one definition each)."""

from __future__ import annotations

import random
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg


def public_tables(db: Any) -> set[str]:
    """Names of the tables in schema ``public`` of the connection's database."""
    rows = db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds (a bound, not a measurement)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} not reached within {timeout}s"
        time.sleep(0.05)


def backend_waiting_for_lock(db: Any, query_like: str) -> int | None:
    """The pid of a session of this database whose query matches ``query_like`` and waits for a lock."""
    row = db.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query LIKE %s AND pid <> pg_backend_pid()",
        [query_like],
    ).fetchone()
    return None if row is None else int(row[0])


def backend_running_longer_than(db: Any, query_like: str, seconds: float) -> int | None:
    """The pid of an active session of this database running ``query_like`` for more than ``seconds``."""
    row = db.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
        "AND query LIKE %s AND pid <> pg_backend_pid() "
        "AND clock_timestamp() - query_start > make_interval(secs => %s)",
        [query_like, seconds],
    ).fetchone()
    return None if row is None else int(row[0])


def assert_complete(
    result: subprocess.CompletedProcess[str], *present: str, root: Path | None = None, exit_code: int | None = 0
) -> str:
    """The properties every command's piped output must have (and its exit code); returns stdout + stderr."""
    text = result.stdout + result.stderr
    if exit_code is not None:
        assert result.returncode == exit_code, (result.args, result.returncode, text)
    assert "Traceback" not in text, text
    assert "…" not in text, text
    assert ";;" not in text, text
    assert "seed 00" not in text.lower(), text
    for needle in present:
        assert needle in text, (needle, text)
    if root is not None:
        # a path to the project is printed whole or not at all (never cut at the line end)
        head = str(root)[:25]
        for line in text.splitlines():
            if head in line:
                assert str(root) in line, line
    return text


def in_project(root: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``pgwarden ARGS`` in ``root`` with the config found there (not $PGWARDEN_CONFIG)."""
    from conftest import run_cli

    return run_cli(*args, cwd=root, env={"PGWARDEN_CONFIG": ""}, stdin=stdin)


# --- partition conversions under concurrent writers (test_partition_convert, test_partition_migration) ---

CHAT_MESSAGES = Path(__file__).parent / "fixtures" / "seed004_chat_messages.sql"


def load_chat_messages(db: Any, rows: int) -> None:
    """The seed chat_messages table with ``rows`` rows spread over June..November 2026."""
    db.execute(CHAT_MESSAGES.read_text(encoding="utf-8"))
    db.execute(
        """
        INSERT INTO chat_messages (session_id, role, content, created_at)
        SELECT g %% 997, CASE WHEN g %% 2 = 0 THEN 'user' ELSE 'assistant' END, md5(g::text),
               timestamptz '2026-06-01 00:00+00' + g * (interval '170 days' / %s)
        FROM generate_series(1, %s) g
    """,
        [rows, rows],
    )
    db.execute("ANALYZE chat_messages")


def chat_fingerprint(db: Any, table: str = "chat_messages") -> Any:
    """Row count, distinct ids and a content checksum of the chat_messages rows."""
    return db.execute(
        f"SELECT count(*), count(DISTINCT id), coalesce(sum(hashtextextended(t::text, 0)::numeric), 0) "
        f"FROM (SELECT id, session_id, role, content, created_at FROM {table}) t"
    ).fetchone()


def is_partitioned(db: Any, table: str = "chat_messages") -> bool:
    return db.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = %s::regclass", [table]).fetchone()[0]


def conversion_leftovers(db: Any) -> list[str]:
    """Log tables, twins and capture triggers a conversion left behind (none after it finished or aborted)."""
    return [
        r[0]
        for r in db.execute(
            "SELECT relname FROM pg_class WHERE relname LIKE 'cv%\\_log' OR relname LIKE '%\\_pgw\\_new' "
            "UNION ALL SELECT tgname FROM pg_trigger WHERE tgname LIKE 'pgwarden\\_%'"
        ).fetchall()
    ]


class ChatWriter(threading.Thread):
    """Inserts, updates (sometimes moving a row to another month) and deletes its own rows (id % 4 = n)."""

    def __init__(self, url: str, n: int, owned: dict[int, tuple[int, datetime]]):
        super().__init__(daemon=True)
        self.url, self.n, self.model = url, n, owned
        self.stop = threading.Event()
        self.longest = 0.0
        self.errors: list[str] = []
        self.ops = 0
        self.rng = random.Random(n)
        self.ids = list(owned)

    def timed(self, conn: Any, query: str, params: list[Any]) -> list[Any]:
        started = time.monotonic()
        rows = conn.execute(query, params).fetchall() if "RETURNING" in query else (conn.execute(query, params), [])[1]
        self.longest = max(self.longest, time.monotonic() - started)
        return rows

    def run(self) -> None:
        base = datetime(2026, 6, 1, tzinfo=UTC)
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                try:
                    op = self.rng.random()
                    at = base + timedelta(minutes=self.rng.randrange(0, 240 * 24 * 60))
                    if op < 0.4 or not self.model:
                        # take a fresh id from the sequence until it is ours (id % 4 == n)
                        while True:
                            new_id = conn.execute("SELECT nextval('chat_messages_id_seq')").fetchone()[0]
                            if new_id % 4 == self.n:
                                break
                        v = self.rng.randrange(1_000_000)
                        self.timed(
                            conn,
                            "INSERT INTO chat_messages (id, session_id, role, content, created_at) "
                            "VALUES (%s, %s, 'user', 'w', %s)",
                            [new_id, v, at],
                        )
                        self.model[new_id] = (v, at)
                        self.ids.append(new_id)
                    elif op < 0.8:
                        row_id = self.rng.choice(self.ids)
                        v = self.rng.randrange(1_000_000)
                        if self.rng.random() < 0.3:  # also move it to another month (another partition)
                            self.timed(
                                conn,
                                "UPDATE chat_messages SET session_id = %s, created_at = %s WHERE id = %s",
                                [v, at, row_id],
                            )
                            self.model[row_id] = (v, at)
                        else:
                            self.timed(conn, "UPDATE chat_messages SET session_id = %s WHERE id = %s", [v, row_id])
                            self.model[row_id] = (v, self.model[row_id][1])
                    else:
                        row_id = self.rng.choice(self.ids)
                        self.timed(conn, "DELETE FROM chat_messages WHERE id = %s", [row_id])
                        del self.model[row_id]
                        self.ids.remove(row_id)
                    self.ops += 1
                except Exception as exc:  # noqa: BLE001 - counted and asserted on
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    time.sleep(0.05)
