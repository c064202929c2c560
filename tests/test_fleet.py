"""``pgwarden fleet``: many databases, parallel, one failing, killed and resumed, waves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from conftest import Project
from pgwarden.server import EmbeddedServer


@pytest.fixture
def fleet(project: Project, pg_server: EmbeddedServer) -> Iterator[list[str]]:
    """Databases named f_<id>_<n>, listed in fleet.txt; dropped afterwards."""
    names: list[str] = []

    def make(count: int) -> list[str]:
        prefix = f"f_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
            for n in range(count):
                names.append(f"{prefix}_{n:03d}")
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(names[-1])))
        (project.root / "fleet.txt").write_text("".join(f"{name} {pg_server.url(name)}\n" for name in names))
        project.write_config('[fleet]\ntargets_file = "fleet.txt"\nparallel = 4\n')
        return names

    yield make  # type: ignore[misc]
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _migrations(project: Project, sleep: float = 0.0) -> None:
    project.write_migration("001_log.sql", "CREATE TABLE applied_log (v text);", "DROP TABLE applied_log;")
    project.write_migration(
        "002_users.sql",
        f"INSERT INTO applied_log VALUES ('002'); SELECT pg_sleep({sleep});\nCREATE TABLE users (id int PRIMARY KEY);",
        "DROP TABLE users;",
    )
    project.write_migration(
        "003_email.sql", "ALTER TABLE users ADD COLUMN email text;", "ALTER TABLE users DROP COLUMN email;"
    )


def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query)
        return cur.fetchall() if cur.description else []


def test_one_failing_target_then_resume_finishes_only_it(
    project: Project, fleet: Any, pg_server: EmbeddedServer
) -> None:
    names = fleet(50)
    _migrations(project)
    bad = names[17]
    _rows(pg_server.url(bad), "CREATE TABLE users (id int)")  # 002 fails there: users exists
    result = project.cli("fleet", "up", "--json", timeout=600)
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    assert doc["counts"] == {"ok": 49, "failed": 1}
    failed = [t for t in doc["targets"] if t["status"] == "failed"]
    assert failed[0]["name"] == bad and "already exists" in failed[0]["detail"]
    assert _rows(pg_server.url(names[0]), "SELECT version FROM pgwarden.migrations ORDER BY 1") == [
        ("001",),
        ("002",),
        ("003",),
    ]
    _rows(pg_server.url(bad), "DROP TABLE users")
    resumed = json.loads(project.cli("fleet", "up", "--resume", "--json", check_exit=0, timeout=600).stdout)
    assert [t["name"] for t in resumed["targets"]] == [bad]
    status = json.loads(project.cli("fleet", "status", "--json", check_exit=0, timeout=600).stdout)
    assert status["counts"] == {"ok": 50} and {t["version"] for t in status["targets"]} == {"003"}


def test_killed_run_resumes_without_applying_twice(project: Project, fleet: Any, pg_server: EmbeddedServer) -> None:
    names = fleet(12)
    _migrations(project, sleep=0.3)
    env = {**os.environ, "PGWARDEN_CONFIG": str(project.config_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pgwarden.cli.main", "fleet", "up", "--parallel", "2"],
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    state = project.root / ".pgwarden" / "fleet" / "last-run.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if state.is_file() and list(json.loads(state.read_text())["targets"].values()).count("ok") >= 3:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = [n for n, s in json.loads(state.read_text())["targets"].items() if s == "ok"]
    assert 3 <= len(finished) < 12
    resumed = json.loads(project.cli("fleet", "up", "--resume", "--json", check_exit=0, timeout=600).stdout)
    assert {t["name"] for t in resumed["targets"]} == set(names) - set(finished)
    for name in names:  # exactly once everywhere, also where the kill hit mid-migration
        assert _rows(pg_server.url(name), "SELECT v FROM applied_log") == [("002",)]


def test_waves_stop_after_a_failed_canary(project: Project, fleet: Any, pg_server: EmbeddedServer) -> None:
    names = fleet(10)
    _migrations(project)
    _rows(pg_server.url(names[0]), "CREATE TABLE users (id int)")
    result = project.cli("fleet", "up", "--waves", "1,50%,100%", "--json", timeout=600)
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert doc["waves"] == [1, 5, 10] and doc["counts"] == {"failed": 1, "skipped": 9}
    assert _rows(pg_server.url(names[5]), "SELECT to_regclass('pgwarden.migrations')") == [(None,)]
    bad = project.cli("fleet", "up", "--waves", "5,2", timeout=60)
    assert bad.returncode == 2 and "must grow" in bad.stderr
