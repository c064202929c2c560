"""Every expected error of the README's list carries a ``next:`` line, its exit code and no traceback."""

from __future__ import annotations

import json

from conftest import Project


def _expect(project: Project, args: list[str], code: int, next_text: str, env: dict[str, str] | None = None) -> None:
    result = project.cli(*args, env=env)
    assert result.returncode == code, (args, result.returncode, result.stderr)
    assert result.stderr.startswith("pgwarden: error: "), (args, result.stderr)
    assert f"\n  next: {next_text}" in result.stderr, (args, result.stderr)
    assert "Traceback" not in result.stderr


def test_expected_errors_say_what_to_do_next(project: Project) -> None:
    project.write_migration("001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY);", "DROP TABLE users;")
    project.cli("migrate", "up", check_exit=0)
    backup_id = json.loads(project.cli("backup", "create", "--json", check_exit=0).stdout)["id"]

    _expect(project, ["init"], 5, "edit it, or run `pgwarden init` in a new folder")
    _expect(project, ["migrate", "baseline", "--version", "001", "--yes"], 5, "pgwarden migrate status --env test")
    _expect(project, ["backup", "create", "--tables", "nowhere"], 2, "name tables as schema.table")
    _expect(
        project,
        ["backup", "restore", backup_id, "--tables", "nowhere", "--target-db", "x_new"],
        2,
        "it holds: pgwarden.migrations, public.users",
    )
    _expect(project, ["backup", "restore", backup_id, "--target-db", "postgres"], 2, "pick a name")

    project.write_config(env_extra='[environments.remote]\nurl = "${PGWARDEN_TEST_UNSET_URL}"')
    _expect(project, ["migrate", "status", "--env", "remote"], 2, "export PGWARDEN_TEST_UNSET_URL=...")
    _expect(
        project,
        ["migrate", "status", "--env", "remote"],
        3,
        "check that the server runs",
        env={"PGWARDEN_TEST_UNSET_URL": "postgresql://nobody:secret@127.0.0.1:1/app"},
    )
