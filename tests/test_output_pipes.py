"""Output in a pipe (CI logs): every command prints complete lines, whatever $COLUMNS says.

These tests check properties, not exact text (other parts of the output change often): no
ellipsis, the full identifiers (14-digit versions, long names, backup ids) present, no path
broken across lines, no doubled semicolons, no references to documents users do not have.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import Project, run_cli
from helpers import assert_complete

NARROW = {"COLUMNS": "40"}  # a narrow CI runner: pipes must ignore it
V1, V2 = "20261203172233", "20261203174455"
LONG_NAME = "rename_menu_description_to_a_much_longer_descriptive_column_name"
LONG_TABLE = "customer_order_audit_events_with_a_long_table_name"


@pytest.fixture
def long_project(tmp_path: Path, db_url: str, pg_server) -> Project:  # type: ignore[no-untyped-def]
    root = tmp_path / "a_project_folder_with_a_rather_long_name_for_paths" / "service"
    (root / "migrations").mkdir(parents=True)
    project = Project(root, db_url, pg_server.url("postgres"))
    project.write_config('[backup]\ndir = "backups"\n')
    project.write_migration(
        f"{V1}_{LONG_NAME}.sql",
        f"CREATE TABLE {LONG_TABLE} (id bigint GENERATED ALWAYS AS IDENTITY, "
        "created_at timestamptz NOT NULL DEFAULT now(), note text);",
        f"DROP TABLE {LONG_TABLE};",
    )
    project.write_migration(
        f"{V2}_add_an_index_concurrently_on_the_notes.sql",
        f"CREATE INDEX CONCURRENTLY audit_note_idx ON {LONG_TABLE} (note);",
        "DROP INDEX CONCURRENTLY audit_note_idx;",
        up_options="transaction:false",
        down_options="transaction:false",
    )
    return project


def cli(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=project.root, env={"PGWARDEN_CONFIG": str(project.config_path), **NARROW})


def test_migrate_lint_check_and_doctor_output_is_complete_in_a_pipe(long_project: Project) -> None:
    p = long_project
    root = p.root
    assert_complete(cli(p, "migrate", "up", "--dry-run"), V1, V2, LONG_NAME, root=root)
    assert_complete(cli(p, "migrate", "up", "--to", V1), V1, LONG_NAME, root=root)
    assert_complete(cli(p, "migrate", "up"), V2, root=root)
    assert_complete(cli(p, "migrate", "history"), V1, V2, LONG_NAME, root=root)
    assert_complete(cli(p, "lint"), root=root)
    assert_complete(cli(p, "check"), root=root)
    assert_complete(cli(p, "migrate", "test"), V1, V2, LONG_NAME, root=root)
    assert_complete(cli(p, "doctor"), "largest_tables", root=root, exit_code=None)  # depends on the cluster
    assert_complete(cli(p, "doctor", "--list"), "idle_in_transaction_warn", "extension_parity")
    assert_complete(cli(p, "tune", "--ram", "4GB", "--cpus", "2"), "effective_io_concurrency", "maintenance_work_mem")
    assert_complete(cli(p, "metrics"), "pgwarden_up")
    assert_complete(cli(p, "migrate", "down"), V2, root=root)
    for group in ("", "dev", "backup"):
        shown = assert_complete(cli(p, *group.split(), "--help"))
        assert not re.search(r"\w\.\.\.$", shown, re.M), shown  # no cut command summaries


def test_backup_and_partition_output_is_complete_in_a_pipe(long_project: Project) -> None:
    p = long_project
    root = p.root
    assert cli(p, "migrate", "up").returncode == 0
    created = cli(p, "backup", "create", "--json")
    assert created.returncode == 0, created.stderr
    backup_id = json.loads(created.stdout)["id"]
    assert_complete(cli(p, "backup", "list"), backup_id, root=root)
    assert_complete(cli(p, "backup", "verify", backup_id), backup_id, root=root)
    assert_complete(cli(p, "backup", "prune", "--dry-run"), backup_id, root=root)

    p.write_config(
        '[[partitions]]\ntable = "' + LONG_TABLE + '_p"\nkey = "created_at"\ninterval = "1 month"\npremake = 1\n'
    )
    table = f"{LONG_TABLE}_p"
    assert_complete(cli(p, "migrate", "status"), V1, V2, LONG_NAME, root=root)
    import psycopg

    with psycopg.connect(p.url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id bigint NOT NULL, created_at timestamptz NOT NULL)")
    assert_complete(cli(p, "partition", "create", table, "--now", "2026-11-22"), table, root=root)
    assert_complete(cli(p, "migrate", "up"), table, root=root)  # create writes a migration; up applies it
    assert_complete(cli(p, "partition", "maintain", "--now", "2026-12-22"), table, root=root)
    assert_complete(cli(p, "partition", "list", table), f"{table}_p2026_12", root=root)
    assert_complete(cli(p, "partition", "advise"), root=root)


def test_deploy_seed_restore_convert_and_project_commands_are_complete_in_a_pipe(long_project: Project) -> None:
    p = long_project
    root = p.root
    assert_complete(cli(p, "deploy", "--yes"), V1, V2, root=root)
    (root / "seeds").mkdir()
    (root / "seeds" / "001_settings_for_a_long_named_seed_file.sql").write_text(
        f"INSERT INTO {LONG_TABLE} (note) VALUES ('from a seed');\n", encoding="utf-8"
    )
    assert_complete(cli(p, "seed"), "001_settings_for_a_long_named_seed_file", root=root)
    created = cli(p, "migrate", "new", "a_third_migration_with_a_long_descriptive_name")
    assert_complete(created, "a_third_migration_with_a_long_descriptive_name", root=root)
    next(p.migrations.glob("*_a_third_*.sql")).unlink()
    assert_complete(cli(p, "migrate", "repair"), root=root)

    backup_id = json.loads(cli(p, "backup", "create", "--json").stdout)["id"]
    assert_complete(
        cli(p, "backup", "restore", backup_id, "--target-db", f"{LONG_TABLE}_copy", "--yes"),
        backup_id,
        f"{LONG_TABLE}_copy",
        root=root,
    )
    import psycopg

    assert_complete(cli(p, "agent", "status"), root=root, exit_code=None)
    assert_complete(cli(p, "plan", "--help"))
    with psycopg.connect(p.url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {LONG_TABLE}_copy WITH (FORCE)")
        conn.execute(f"ALTER TABLE {LONG_TABLE} ADD PRIMARY KEY (id, created_at)")
    assert_complete(
        cli(p, "backfill", LONG_TABLE, "--set", "note = coalesce(note, 'n')", "--yes"), LONG_TABLE, root=root
    )
    assert_complete(
        cli(
            p,
            "partition",
            "convert",
            LONG_TABLE,
            "--key",
            "created_at",
            "--interval",
            "1 month",
            "--now",
            "2026-11-22",
            "--drop-old",
        ),
        LONG_TABLE,
        root=root,
    )
    assert_complete(cli(p, "migrate", "up"), LONG_TABLE, root=root)  # the conversion runs as a migration
    assert_complete(cli(p, "lint", "--explain", "all"))
    assert_complete(cli(p, "dev", "status"), exit_code=1)  # no embedded server: an empty list, exit 1
