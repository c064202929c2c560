"""Every embedded server of a project is known: status lists them, down --all stops them, scratch stops itself."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import psycopg

from helpers import in_project
from pgwarden.config import load_config
from pgwarden.devserver import destroy_all


def _cli(root: Path, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return in_project(root, *args, stdin=stdin)


def _running(root: Path) -> dict[str, bool]:
    doc = json.loads(_cli(root, "dev", "status", "--json").stdout)
    return {s["env"]: s["server"]["running"] for s in doc["servers"]}


def _modes(path: Path) -> dict[str, int]:
    return {str(p): stat.S_IMODE(p.stat().st_mode) for p in path.parents}


def test_registry_scratch_lifecycle_psql_and_no_permission_changes(tmp_path: Path) -> None:
    root = tmp_path / "app"
    assert _cli(tmp_path, "init", "app").returncode == 0
    before = _modes(root)
    try:
        assert _cli(root, "dev", "up").returncode == 0
        assert _running(root) == {"dev": True, "scratch": False}
        listing = _cli(root, "dev", "status")
        assert listing.returncode == 0 and "dev" in listing.stdout and "scratch" in listing.stdout

        # first start created pg_stat_statements in the dev database
        with psycopg.connect(_cli(root, "dev", "url").stdout.strip()) as conn:
            assert conn.execute(
                "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'"
            ).fetchone() == (1,)

        # psql gets its arguments and its exit code comes back
        ok = _cli(root, "dev", "psql", "-A", "-t", "-c", "select 41 + 1")
        assert ok.returncode == 0 and ok.stdout.strip() == "42", ok.stderr
        assert _cli(root, "dev", "psql", "-c", "select nope").returncode != 0
        assert _cli(root, "dev", "psql", stdin="select nope;\nselect 1;\n").returncode != 0
        assert _cli(root, "dev", "psql", stdin="select 1;\n").returncode == 0

        # a scratch server started by a command stops with it, unless --keep
        tested = _cli(root, "migrate", "test")
        assert tested.returncode == 0, tested.stderr
        assert _running(root)["scratch"] is False
        assert _cli(root, "migrate", "test", "--keep").returncode == 0
        assert _running(root)["scratch"] is True
        down_scratch = _cli(root, "dev", "down", "--env", "scratch")
        assert down_scratch.returncode == 0, down_scratch.stderr
        assert _running(root) == {"dev": True, "scratch": False}

        assert _cli(root, "migrate", "test", "--keep").returncode == 0
        stopped = json.loads(_cli(root, "dev", "down", "--all", "--json").stdout)
        assert [s["server"]["running"] for s in stopped["servers"]] == [False, False]
        assert _cli(root, "dev", "status").returncode == 1  # nothing runs
        assert _cli(root, "dev", "status", "--env", "dev").returncode == 1
    finally:
        destroy_all(load_config(root / "pgwarden.toml"))
    assert _modes(root) == before  # no folder pgwarden did not create changed its permissions
    assert not (root / ".pgwarden" / "dev").exists()
