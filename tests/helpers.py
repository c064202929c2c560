"""Test helpers shared by several test files (one definition each)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


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
    row = db.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                     "AND wait_event_type = 'Lock' AND query LIKE %s AND pid <> pg_backend_pid()",
                     [query_like]).fetchone()
    return None if row is None else int(row[0])


def backend_running_longer_than(db: Any, query_like: str, seconds: float) -> int | None:
    """The pid of an active session of this database running ``query_like`` for more than ``seconds``."""
    row = db.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
                     "AND query LIKE %s AND pid <> pg_backend_pid() "
                     "AND clock_timestamp() - query_start > make_interval(secs => %s)",
                     [query_like, seconds]).fetchone()
    return None if row is None else int(row[0])


def assert_complete(result: subprocess.CompletedProcess[str], *present: str, root: Path | None = None,
                    exit_code: int | None = 0) -> str:
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
