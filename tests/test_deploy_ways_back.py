"""Ways back that tell the truth: a deploy stopped part-way reports what happened and each printed way works."""

from __future__ import annotations

import json
import shlex
import subprocess

import pytest

from conftest import Project


def _partial_deploy(project: Project) -> dict:  # type: ignore[type-arg]
    project.write_migration(
        "001_users.sql",
        """
        CREATE TABLE users (id bigint PRIMARY KEY, email text);
        INSERT INTO users VALUES (1, 'same@example.com'), (2, 'same@example.com');
    """,
        "DROP TABLE users;",
    )
    project.write_migration(
        "002_indexes.sql",
        """
        CREATE INDEX CONCURRENTLY users_email_idx ON users (email);
        CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);
    """,
        "DROP INDEX CONCURRENTLY IF EXISTS users_email_key;\nDROP INDEX CONCURRENTLY IF EXISTS users_email_idx;",
        up_options="transaction:false",
        down_options="transaction:false",
    )
    result = project.cli("deploy", "--json", check_exit=1)
    doc: dict = json.loads(result.stdout)  # type: ignore[type-arg]
    return doc


def test_a_deploy_stopped_part_way_says_what_was_kept_and_left(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    doc = _partial_deploy(project)
    assert doc["applied"] == ["001"]
    assert doc["partial"] == {"002": "1 of 2 statements ran"}
    assert doc["post_checks_ran"] is False
    happened = doc["what_happened"]
    assert "nothing was applied" not in happened
    assert "applied 001" in happened and "002 stopped part-way" in happened
    assert "INVALID index(es) public.users_email_key" in happened and "post-checks did not run" in happened
    left = doc["left_behind"]
    assert "table public.users: unexpected" in left
    assert "index public.users_email_key: INVALID" in left
    assert "migration 002 stopped part-way: 1 of 2 statements ran" in left
    event = db.execute("SELECT details FROM pgwarden.events WHERE kind = 'deploy'").fetchone()[0]
    assert event["what_happened"] == happened and event["ways_back"] == doc["ways_back"]
    # the database agrees with the report
    assert db.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid").fetchone() == (1,)
    assert db.execute("SELECT status, statements_done FROM pgwarden.migrations WHERE version = '002'").fetchone() == (
        "failed",
        1,
    )


def _run(project: Project, command: str) -> None:
    args = shlex.split(command)
    if args[0] == "pgwarden":
        project.cli(*args[1:], check_exit=0)
    else:
        assert args[0] == "psql"
        subprocess.run(args, check=True, capture_output=True, timeout=60)


def test_the_printed_way_back_leads_to_the_schema_before_the_deploy(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    doc = _partial_deploy(project)
    assert len(doc["ways_back"]) == 1  # no backup was taken (not protected): one way, step by step
    way = doc["ways_back"][0]
    drop_invalid, undo_002, forget_002, down = way.split(" && ")
    assert drop_invalid.startswith("psql ") and "DROP INDEX CONCURRENTLY IF EXISTS" in drop_invalid
    assert "users_email_key" in drop_invalid
    assert undo_002.startswith("psql ") and "users_email_idx" in undo_002  # statement 1 of 002 is undone too
    assert forget_002 == "pgwarden migrate repair --forget 002 --env test"
    assert down == "pgwarden migrate down --to 0 --env test"
    if not shutil_which("psql"):
        pytest.skip("psql is not installed (apt-get install postgresql-client)")
    for command in way.split(" && "):
        _run(project, command)
    assert db.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM pgwarden.migrations").fetchone() == (0,)
    # and forward again, from that state, deploys cleanly once the data is fixed
    project.write_migration(
        "001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text);", "DROP TABLE users;"
    )
    done = json.loads(project.cli("deploy", "--json", check_exit=0).stdout)
    assert done["applied"] == ["001", "002"]


def shutil_which(name: str) -> str | None:
    import shutil

    return shutil.which(name)
