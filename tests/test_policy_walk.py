"""One policy on every path to a protected database: each command that changes it, refused the same way.

Without TLS (the embedded server's unix socket) and without a terminal, every command
that touches a protected database exits 5 and the database is exactly as before.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from conftest import Project
from pgwarden.schema.snapshot import take_snapshot

PARTITIONS = """
[[partitions]]
table = "audit"
key = "at"
interval = "1 month"
"""


def _state(url: str) -> tuple[Any, ...]:
    """The catalog plus pgwarden's own records: what 'unchanged' means here."""
    with psycopg.connect(url, autocommit=True) as conn:
        snapshot = take_snapshot(conn, exclude_schemas=())
        history = conn.execute("SELECT version, status, checksum FROM pgwarden.migrations ORDER BY 1").fetchall()
        events = conn.execute("SELECT count(*) FROM pgwarden.events").fetchone()
        rows = conn.execute("SELECT count(*) FROM users").fetchone()
    return snapshot, history, events, rows


def _prepare(project: Project) -> str:
    """Migrations 001 applied and 002 pending, a table to partition, a seed file, and one backup."""
    project.write_config(PARTITIONS)
    project.write_migration(
        "001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text);", "DROP TABLE users;"
    )
    project.cli("migrate", "up", check_exit=0)
    project.write_migration("002_orders.sql", "CREATE TABLE orders (id bigint PRIMARY KEY);", "DROP TABLE orders;")
    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute("INSERT INTO users VALUES (1, 'a@example.com')")
        conn.execute("CREATE TABLE audit (id bigint, at timestamptz NOT NULL)")
        conn.execute("CREATE TABLE big (id bigint, at timestamptz NOT NULL)")
        conn.execute("INSERT INTO big SELECT g, now() FROM generate_series(1, 100) g")
    (project.root / "seeds").mkdir()
    (project.root / "seeds" / "001.sql").write_text("INSERT INTO users VALUES (2, 'seed');", encoding="utf-8")
    backup = json.loads(project.cli("backup", "create", "--json", check_exit=0).stdout)
    return str(backup["id"])


def _commands(backup_id: str) -> list[list[str]]:
    """Every command that changes a database, as a user in CI would run it (``--yes`` where it exists)."""
    return [
        ["migrate", "up"],
        ["migrate", "down", "--yes"],
        ["migrate", "repair", "--yes"],
        ["migrate", "baseline", "--version", "001", "--yes"],
        ["deploy", "--yes"],
        ["backup", "create"],
        ["backup", "restore", backup_id, "--yes"],
        ["partition", "create", "audit", "--key", "at", "--interval", "1 month", "--apply", "--yes"],
        ["partition", "maintain", "--yes"],
        ["partition", "convert", "big", "--key", "at", "--interval", "1 month", "--apply", "--yes"],
        ["backfill", "users", "--set", "email = lower(email)", "--yes"],
        ["seed"],
        ["migrate", "reset", "--yes"],
    ]


def test_every_command_is_refused_on_a_protected_database_without_tls(project: Project) -> None:
    backup_id = _prepare(project)
    project.write_config(PARTITIONS, env_extra="protected = true")  # unix socket: no TLS
    before = _state(project.url)
    for args in _commands(backup_id):
        result = project.cli(*args)
        assert result.returncode == 5, (args, result.returncode, result.stdout, result.stderr)
        assert "nothing was changed" in result.stderr, (args, result.stderr)
        assert "next: " in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
        assert _state(project.url) == before, args
    assert not list((project.root / "backups" / "test").glob("*-*"))[1:]  # only the one taken before


def test_without_a_terminal_or_yes_every_change_is_refused(project: Project) -> None:
    backup_id = _prepare(project)
    project.write_config(PARTITIONS, env_extra="protected = true\nallow_insecure = true")
    before = _state(project.url)
    for args in _commands(backup_id):
        args = [a for a in args if a != "--yes"]
        if args[:2] == ["backup", "create"]:
            continue  # a read: allowed without confirmation
        result = project.cli(*args)
        assert result.returncode == 5, (args, result.returncode, result.stdout, result.stderr)
        assert "next: " in result.stderr, (args, result.stderr)
        assert _state(project.url) == before, args
    up = project.cli("migrate", "up", check_exit=5)
    assert "next: pgwarden deploy --env test" in up.stderr


def test_two_names_for_one_database_get_the_strictest_policy(project: Project) -> None:
    _prepare(project)
    text = project.config_path.read_text()
    text = text.replace("[environments.test]\n", "[environments.test]\nprotected = true\n", 1)
    text += f'\n[environments.alias]\nurl = "{project.url}"\n'
    project.config_path.write_text(text, encoding="utf-8")
    before = _state(project.url)
    result = project.cli("migrate", "up", "--env", "alias", check_exit=5)
    assert "alias names the same database as test" in result.stderr
    result = project.cli(
        "partition",
        "create",
        "audit",
        "--key",
        "at",
        "--interval",
        "1 month",
        "--env",
        "alias",
        "--apply",
        "--yes",
        check_exit=5,
    )
    assert "not encrypted" in result.stderr
    assert _state(project.url) == before


def test_a_schema_change_on_a_protected_database_takes_a_verified_backup_first(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    _prepare(project)
    project.write_config(PARTITIONS, env_extra="protected = true\nallow_insecure = true")
    folder = project.root / "backups" / "test"
    count = len([p for p in folder.iterdir() if not p.name.startswith(".")])
    project.cli(
        "partition", "create", "audit", "--key", "at", "--interval", "1 month", "--apply", "--yes", check_exit=0
    )
    assert db.execute("SELECT relkind FROM pg_class WHERE relname = 'audit'").fetchone() == ("p",)
    assert len([p for p in folder.iterdir() if not p.name.startswith(".")]) == count + 1
    events = db.execute("SELECT kind, what FROM pgwarden.events ORDER BY id").fetchall()
    kinds = [kind for kind, _ in events]
    assert kinds[-2:] == ["backup", "partition.create"]  # the backup, then the change
    assert kinds.count("backup") == 2


def test_library_callers_pass_the_same_policy(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    from pgwarden import policy
    from pgwarden.errors import Refused
    from pgwarden.partition.api import create, layout

    _prepare(project)
    project.write_config(PARTITIONS, env_extra="protected = true\nallow_insecure = true")
    config = project.config()
    audit = layout(config, "audit")
    with policy.fresh_session():
        policy.set_prompt(None)
        with pytest.raises(Refused, match="no terminal"):
            create(config, "test", audit)  # no consent
        policy.give_consent(True)
        policy.install_backup_step(None)
        with pytest.raises(Refused, match="no backup step is installed"):
            create(config, "test", audit)
    assert db.execute("SELECT relkind FROM pg_class WHERE relname = 'audit'").fetchone() == ("r",)
