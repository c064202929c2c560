"""Backups under harm: a flipped byte, pg_dump killed, pgwarden killed or terminated, protected envs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pgwarden.backup import api
from pgwarden.backup.storage import LocalStorage

PASSWORD = "s3cret-Pa55word"


def fill(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE a (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO a SELECT g, md5(g::text) FROM generate_series(1, 5000) g")
        conn.execute("CREATE TABLE b (id int PRIMARY KEY)")
        conn.execute("INSERT INTO b SELECT generate_series(1, 10)")


def published(root: Path) -> list[str]:
    folder = root / "backups" / "test"
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) if folder.is_dir() else []


def incomplete(root: Path) -> list[str]:
    folder = root / "backups" / "test"
    return sorted(p.name for p in folder.glob(".incomplete-*")) if folder.is_dir() else []


def test_flipped_byte_fails_verify_naming_the_file(project) -> None:  # type: ignore[no-untyped-def]
    fill(project.url)
    backup = api.create(project.config(), "test")
    dump = Path(backup.location) / "dump.pgdump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))

    result = project.cli("backup", "verify", backup.id, check_exit=1)
    assert "dump.pgdump" in result.stdout and "sha256" in result.stdout
    doc = json.loads(project.cli("backup", "verify", backup.id, "--json", check_exit=1).stdout)
    assert doc["ok"] is False and any("dump.pgdump" in p for p in doc["problems"])
    saved = json.loads((Path(backup.location) / "manifest.json").read_text())["verification"]
    assert saved["ok"] is False and "dump.pgdump" in saved["problems"][0]
    assert api.list_backups(project.config(), "test")[0].verified == "failed"
    # a damaged backup is never restored
    refused = project.cli("backup", "restore", backup.id, "--target-db", "never_created", check_exit=1)
    assert "damaged" in refused.stderr
    with psycopg.connect(project.url, autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = 'never_created'").fetchone() is None


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out += [int(c) for c in text]
    return out


def _wait_for_pg_dump(cli: subprocess.Popen[str], url: str) -> int:
    """Pid of the CLI's pg_dump once it waits for its table lock."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert cli.poll() is None, cli.communicate()
        for child in _children(cli.pid):
            try:
                cmd = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"pg_dump" in cmd:
                with psycopg.connect(url, autocommit=True) as conn:
                    waiting = conn.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                        "'pg_dump' AND wait_event_type = 'Lock'"
                    ).fetchone()
                if waiting and waiting[0]:
                    return child
        time.sleep(0.1)
    raise AssertionError("pg_dump never started waiting")


@pytest.fixture
def locked(project) -> Iterator[psycopg.Connection[tuple[object, ...]]]:  # type: ignore[no-untyped-def]
    """Table ``a`` held in ACCESS EXCLUSIVE mode: pg_dump blocks on it mid-backup."""
    fill(project.url)
    conn = psycopg.connect(project.url)
    conn.execute("LOCK TABLE a IN ACCESS EXCLUSIVE MODE")
    yield conn
    conn.close()


def _start_cli(project) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    env = {**os.environ, "PGWARDEN_CONFIG": str(project.config_path), "NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "pgwarden.cli.main", "backup", "create"],
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_pg_dump_killed_leaves_no_usable_backup(project, locked) -> None:  # type: ignore[no-untyped-def]
    cli = _start_cli(project)
    pg_dump = _wait_for_pg_dump(cli, project.url)
    os.kill(pg_dump, signal.SIGKILL)
    _, err = cli.communicate(timeout=60)
    assert cli.returncode == 1, err
    assert "pg_dump failed (killed by signal 9)" in err and "Traceback" not in err
    locked.rollback()
    assert published(project.root) == [] and incomplete(project.root) == []
    assert api.list_backups(project.config(), "test") == []


def test_sigterm_cleans_up(project, locked) -> None:  # type: ignore[no-untyped-def]
    cli = _start_cli(project)
    pg_dump = _wait_for_pg_dump(cli, project.url)
    cli.send_signal(signal.SIGTERM)
    _, err = cli.communicate(timeout=60)
    assert cli.returncode == 130, err
    locked.rollback()
    assert not Path(f"/proc/{pg_dump}").exists() or b"pg_dump" not in Path(f"/proc/{pg_dump}/cmdline").read_bytes()
    assert published(project.root) == [] and incomplete(project.root) == []


def test_pgwarden_killed_leaves_incomplete_folder_cleaned_later(project, locked) -> None:  # type: ignore[no-untyped-def]
    cli = _start_cli(project)
    pg_dump = _wait_for_pg_dump(cli, project.url)
    cli.kill()
    cli.communicate(timeout=60)
    storage = LocalStorage(project.root / "backups")
    [leftover] = incomplete(project.root)
    assert api.list_backups(project.config(), "test") == []
    # the orphaned pg_dump still holds the folder's lock: nobody may remove it yet
    assert storage.clean_incomplete("test") == []
    os.kill(pg_dump, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pg_dump}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    locked.rollback()
    assert incomplete(project.root) == [leftover] and published(project.root) == []
    created = api.create(project.config(), "test")
    assert created.cleaned_incomplete == [leftover]
    assert incomplete(project.root) == [] and published(project.root) == [created.id]


def _password_url(url: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")


def test_protected_restore_needs_yes_and_never_prints_password(project) -> None:  # type: ignore[no-untyped-def]
    fill(project.url)
    project.url = _password_url(project.url)
    project.write_config(env_extra="protected = true\nallow_insecure = true")  # a unix socket: no TLS
    outputs: list[str] = []

    def run(*args: str, code: int) -> subprocess.CompletedProcess[str]:
        result = project.cli(*args, check_exit=code)
        outputs.extend([result.stdout, result.stderr])
        return result

    backup_id = json.loads(run("backup", "create", "--json", code=0).stdout)["id"]
    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute("INSERT INTO b VALUES (11)")
    refused = run("backup", "restore", backup_id, code=5)
    assert "--yes" in refused.stderr
    with psycopg.connect(project.url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM b").fetchone() == (11,)
        assert conn.execute("SELECT count(*) FROM pgwarden.events WHERE kind = 'restore'").fetchone() == (0,)
    assert len(api.list_backups(project.config(), "test")) == 1

    done = run("backup", "restore", backup_id, "--yes", code=0)
    assert "safety backup" in done.stdout
    with psycopg.connect(project.url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM b").fetchone() == (10,)
    backups = api.list_backups(project.config(), "test")
    assert len(backups) == 2 and backups[0].reason == f"safety backup before restoring {backup_id}"
    run("backup", "list", code=0)
    run("backup", "verify", backup_id, code=0)
    run("backup", "create", "--tables", "nope", code=2)
    for manifest in (project.root / "backups").rglob("manifest.json"):
        outputs.append(manifest.read_text())
    assert outputs and not any(PASSWORD in text for text in outputs)


def test_failed_restore_rolls_back_everything(project) -> None:  # type: ignore[no-untyped-def]
    fill(project.url)
    backup = api.create(project.config(), "test")
    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute("DELETE FROM b WHERE id > 5")
        conn.execute("UPDATE a SET v = 'changed'")
        # created after the backup: DROP TABLE a (from --clean) fails because of it
        conn.execute("CREATE VIEW a_view AS SELECT id FROM a")
    result = project.cli("backup", "restore", backup.id, check_exit=1)
    assert "rolled back" in result.stderr and "a_view" in result.stderr
    with psycopg.connect(project.url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM b").fetchone() == (5,)
        assert conn.execute("SELECT count(*) FROM a WHERE v = 'changed'").fetchone() == (5000,)
        failed = conn.execute("SELECT outcome FROM pgwarden.events WHERE kind = 'restore'").fetchall()
    assert failed == [("failed",)]
