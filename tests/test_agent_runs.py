"""The agent on the session server: exactly once across two agents, a 14-day gap, webhooks on failure and
recovery (no password), the dead-man alert, a scheduled verify's restore time, SIGTERM mid-backup, status."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgwarden.agent.api import agent_for, run_once
from pgwarden.agent.store import Store
from pgwarden.backup import api as backup_api
from pgwarden.backup.settings import backup_dir

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class FakeClock:
    """The agent's clock, moved by the test; sleeping advances it without waiting."""

    def __init__(self, now: datetime):
        self.moment = now

    def now(self) -> datetime:
        return self.moment

    def sleep(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local webhook receiver: its URL and the JSON bodies it got."""
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    server.shutdown()


def schedule(task: str, cron: str, **extra: object) -> str:
    lines = [f'task = "{task}"', 'env = "test"', f'cron = "{cron}"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    return "\n[[schedule]]\n" + "\n".join(lines) + "\n"


def fill(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE items (id int PRIMARY KEY, name text); "
            "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g"
        )


def test_a_fourteen_day_gap_runs_an_hourly_task_once(project) -> None:  # type: ignore[no-untyped-def]
    project.write_config(schedule("prune", "0 * * * *") + schedule("prune", "30 * * * *", **{"catch-up": 3}))
    config = project.config()
    clock = FakeClock(T0 + timedelta(minutes=40))
    assert len(run_once(config, clock=clock).runs) == 2  # each schedule's newest slot, once
    assert run_once(config, clock=clock).runs == []
    clock.moment += timedelta(days=14)
    runs = run_once(config, clock=clock).runs
    hourly = [r for r in runs if r.schedule.endswith("0 * * * *") and "30" not in r.schedule]
    assert [r.slot for r in hourly] == [T0 + timedelta(days=14)] and hourly[0].outcome == "ok"
    caught = [r.slot for r in runs if "30 * * * *" in r.schedule]
    assert caught == [T0 + timedelta(days=14, minutes=30 - 60 * k) for k in (2, 1, 0)]
    stored = Store.of_project(config.state_path).runs(limit=1000)
    assert len(stored) == 2 + 1 + 3
    with psycopg.connect(project.url) as conn:  # every run is an event
        assert conn.execute("SELECT count(*) FROM pgwarden.events WHERE kind = 'agent.run'").fetchone() == (6,)


def test_due_backup_runs_exactly_once_across_two_agents(project) -> None:  # type: ignore[no-untyped-def]
    fill(project.url)
    project.write_config(schedule("backup", "0 3 * * *"))
    config = project.config()
    results: list[Any] = []
    barrier = threading.Barrier(2)

    def agent() -> None:
        runner = agent_for(config, clock=FakeClock(T0))
        barrier.wait()
        results.append(runner.run_once(lock_wait=60))

    threads = [threading.Thread(target=agent) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(len(r.runs) for r in results) == [0, 1]
    assert len(backup_api.list_backups(config, "test")) == 1
    stored = Store.of_project(config.state_path).runs(limit=10)
    assert [(r.outcome, r.slot) for r in stored] == [("ok", datetime(2026, 3, 2, 3, 0, tzinfo=UTC))]


def test_failure_and_recovery_are_posted_and_verify_reports_the_restore_time(project, receiver) -> None:  # type: ignore[no-untyped-def]
    url, got = receiver
    fill(project.url)
    secret_url = project.url.replace("postgres@", "postgres:s3cret-pw@")  # trust auth ignores it
    project.url = secret_url
    project.write_config(
        f'[agent]\nwebhook = "{url}"\n' + schedule("verify", "0 * * * *", retries=1, retry_backoff="10ms")
    )
    config = project.config()
    clock = FakeClock(T0)
    first = run_once(config, clock=clock)
    assert [(r.outcome, r.attempts) for r in first.runs] == [("failed", 2)]
    assert [b["kind"] for b in got] == ["failure"]
    assert "verify" in got[0]["text"] and "no full backup" in got[0]["text"] and got[0]["env"] == "test"
    assert "s3cret-pw" not in json.dumps(got)

    made = backup_api.create(config, "test")
    clock.moment += timedelta(hours=1)
    second = run_once(config, clock=clock)
    assert [r.outcome for r in second.runs] == ["ok"]
    assert [b["kind"] for b in got] == ["failure", "recovery"]
    details = second.runs[0].details
    assert details["backup"] == made.id and details["restore_seconds"] > 0 and details["tables_checked"] >= 1
    listed = backup_api.list_backups(config, "test")
    assert listed[0].id == made.id and listed[0].verified == "ok"
    assert "s3cret-pw" not in json.dumps(got)


def test_dead_man_alert_fires_once_when_no_success_within_twice_the_interval(project, receiver) -> None:  # type: ignore[no-untyped-def]
    url, got = receiver
    project.write_config(f'[agent]\nwebhook = "{url}"\n' + schedule("verify", "0 * * * *", retries=0))
    config = project.config()
    clock = FakeClock(T0)
    for hours in (0, 1, 3, 4):
        clock.moment = T0 + timedelta(hours=hours)
        run_once(config, clock=clock)
    kinds = [b["kind"] for b in got]
    assert kinds.count("failure") == 4 and kinds.count("dead-man") == 1
    assert kinds.index("dead-man") == 3  # raised at +3 h (more than 2 h without success), not again at +4 h


def test_sigterm_mid_backup_leaves_no_complete_looking_backup(project) -> None:  # type: ignore[no-untyped-def]
    fill(project.url)
    project.write_config(schedule("backup", "* * * * *"))
    config = project.config()
    folder = backup_dir(config) / "test"
    with psycopg.connect(project.url) as blocker:
        blocker.execute("LOCK TABLE items IN ACCESS EXCLUSIVE MODE")  # pg_dump waits here: mid-backup
        env = {**os.environ, "PGWARDEN_CONFIG": str(project.config_path), "NO_COLOR": "1"}
        agent = subprocess.Popen(
            [sys.executable, "-m", "pgwarden.cli.main", "agent"],
            cwd=project.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while not (folder.is_dir() and any(p.name.startswith(".incomplete-") for p in folder.iterdir())):
                assert agent.poll() is None, agent.communicate()
                assert time.monotonic() < deadline, "the backup never started"
                time.sleep(0.1)
            time.sleep(0.5)
            agent.send_signal(signal.SIGTERM)
            out, err = agent.communicate(timeout=60)
        finally:
            if agent.poll() is None:
                agent.kill()
        blocker.rollback()
    assert agent.returncode == 0, err
    assert backup_api.list_backups(config, "test") == []
    assert [p.name for p in folder.iterdir()] == []  # staging folder discarded, nothing published
    runs = Store.of_project(config.state_path).runs(limit=10)
    assert [r.outcome for r in runs] == ["abandoned"]


def test_once_and_status_on_the_command_line(project) -> None:  # type: ignore[no-untyped-def]
    project.write_config(schedule("prune", "0 3 * * *") + schedule("verify", "0 4 * * *", retries=0))
    once = project.cli("agent", "--once", "--json")
    assert once.returncode == 1, once.stderr  # verify had nothing to verify
    doc = json.loads(once.stdout)
    assert sorted((r["task"], r["outcome"]) for r in doc["runs"]) == [("prune", "ok"), ("verify", "failed")]
    status = project.cli("agent", "status", "--json", check_exit=0)
    rows = {s["task"]: s for s in json.loads(status.stdout)["schedules"]}
    assert rows["prune"]["last_run"]["outcome"] == "ok" and rows["prune"]["last_success"] is not None
    assert rows["verify"]["last_run"]["outcome"] == "failed" and rows["verify"]["last_success"] is None
    now = datetime.now(UTC)
    assert datetime.fromisoformat(rows["prune"]["next_run"]) > now
    text = project.cli("agent", "status", check_exit=0).stdout
    assert "prune" in text and "verify" in text and "failed" in text
    assert Path(json.loads(status.stdout)["store"]).is_file()


def test_agent_serves_metrics_and_stops_on_sigterm(project) -> None:  # type: ignore[no-untyped-def]
    import socket
    import urllib.request

    project.write_config(schedule("prune", "0 3 1 1 *"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PGWARDEN_CONFIG": str(project.config_path), "NO_COLOR": "1"}
    agent = subprocess.Popen(
        [sys.executable, "-m", "pgwarden.cli.main", "agent", "--metrics-port", str(port)],
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        text = ""
        while 'env="test"} 1' not in text:  # the first scrape may find the agent busy starting its first pass
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
                    text = response.read().decode()
            except OSError:
                assert agent.poll() is None, agent.communicate()
            assert time.monotonic() < deadline, text
            time.sleep(0.2)
        assert 'pgwarden_up{database="' in text and "pg_connections{" in text
        agent.send_signal(signal.SIGTERM)
        agent.communicate(timeout=60)
    finally:
        if agent.poll() is None:
            agent.kill()
    assert agent.returncode == 0
    runs = Store.of_project(project.config().state_path).runs(limit=10)
    assert [r.task for r in runs] == ["prune"]  # the newest slot (1 January 03:00) ran once at start


def test_scheduled_partition_maintain_premakes_partitions(project) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE hits (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at)")
    project.write_config(
        '\n[[partitions]]\ntable = "hits"\nkey = "at"\ninterval = "1 day"\npremake = 2\n'
        + schedule("partition-maintain", "5 0 * * *")
    )
    result = run_once(project.config(), clock=FakeClock(datetime.now(UTC)))
    assert [(r.task, r.outcome) for r in result.runs] == [("partition-maintain", "ok")]
    with psycopg.connect(project.url) as conn:
        made = conn.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'hits'::regclass").fetchone()
    assert made == (3,) and result.runs[0].details["created"]  # today plus two days ahead


def test_an_environment_held_by_another_agent_is_skipped(project) -> None:  # type: ignore[no-untyped-def]
    from pgwarden.agent.runner import LOCK_NAME
    from pgwarden.db import advisory_lock

    project.write_config(schedule("prune", "0 3 * * *"))
    config = project.config()
    with advisory_lock(project.url, LOCK_NAME, timeout=5):  # what a running agent holds
        held = run_once(config, clock=FakeClock(T0))
    assert held.runs == [] and "another pgwarden agent" in held.skipped_envs["test"]
    assert Store.of_project(config.state_path).runs() == []
    assert [r.outcome for r in run_once(config, clock=FakeClock(T0)).runs] == ["ok"]  # free again: it runs
