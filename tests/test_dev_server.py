"""`pgwarden dev` and `init`: the embedded server of an `embedded` environment, from the command line."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import psycopg

from conftest import run_cli
from helpers import assert_complete, in_project


def _cli(root: Path, *args: str):  # type: ignore[no-untyped-def]
    return in_project(root, *args)


def test_init_then_dev_lifecycle_survives_restart_and_stale_pid(tmp_path: Path) -> None:
    root = tmp_path / "app"
    root.mkdir()
    init = _cli(root, "init", "--json")
    assert init.returncode == 0, init.stderr
    assert (root / "pgwarden.toml").is_file() and (root / "migrations" / "001_create_app_settings.sql").is_file()
    assert _cli(root, "init").returncode == 5  # never overwrites

    try:
        first = json.loads(_cli(root, "dev", "up", "--json").stdout)
        assert first["server"]["running"] is True
        assert Path(first["server"]["pgdata"]) == (root / ".pgwarden" / "dev").resolve()
        again = json.loads(_cli(root, "dev", "up", "--json").stdout)
        assert again["server"]["pid"] == first["server"]["pid"]  # idempotent: same server

        up = _cli(root, "migrate", "up", "--json")
        assert up.returncode == 0, up.stderr
        url = _cli(root, "dev", "url").stdout.strip()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO app_settings VALUES ('k', '1')")

        down = json.loads(_cli(root, "dev", "down", "--json").stdout)
        assert down["server"]["running"] is False
        assert _cli(root, "dev", "status").returncode == 1

        # A crash leaves a stale postmaster.pid behind; `up` must cope.
        restarted = json.loads(_cli(root, "dev", "up", "--json").stdout)
        os.kill(restarted["server"]["pid"], signal.SIGKILL)
        time.sleep(0.5)
        assert (root / ".pgwarden" / "dev" / "postmaster.pid").exists()
        status = _cli(root, "migrate", "status", "--json")  # starts the server on demand
        assert status.returncode == 0, status.stderr
        assert [m["state"] for m in json.loads(status.stdout)["migrations"]] == ["applied"]
        with psycopg.connect(_cli(root, "dev", "url").stdout.strip()) as conn:
            assert conn.execute("SELECT value FROM app_settings WHERE key = 'k'").fetchone() == (1,)
    finally:
        _cli(root, "dev", "down")


def test_dev_refuses_non_embedded_env(tmp_path: Path) -> None:
    (tmp_path / "pgwarden.toml").write_text('[environments.dev]\nurl = "postgresql://u@db.example/app"\n')
    result = _cli(tmp_path, "dev", "up")
    assert result.returncode == 2 and "environments.dev.url" in result.stderr


def test_demo_runs_end_to_end_and_leaves_nothing_behind(tmp_path: Path) -> None:
    result = run_cli("demo", "--dir", str(tmp_path), cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert_complete(result, "tableorder", root=tmp_path)  # a pipe: nothing cut, paths whole
    for title in ("migrate up", "migrate down (one step)", "backup verify"):
        assert f"ok {title}" in result.stderr, result.stderr
    assert "was removed" in result.stdout
    assert not (tmp_path / "tableorder").exists()  # servers stopped, project, clusters and backups deleted
    clusters = Path("/var/lib/pgwarden/clusters")
    if clusters.is_dir():
        origins = [p.read_text() for p in clusters.glob("*/origin")]
        assert not [o for o in origins if str(tmp_path) in o]
