"""Expand/contract phase rules: never in one deploy, never while the old column is still read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from pgwarden.plans import phases
from pgwarden.sources.native import parse_migration_text


def _file(version: str, phase: str, up: str) -> Any:
    text = f"-- pgwarden:phase {phase} plan=p\n-- migrate:up\n{up}\n"
    return parse_migration_text(text, path=Path(f"migrations/{version}_x.sql"), version=version, name="x")


def test_contract_with_its_expand_in_one_deploy_is_refused() -> None:
    expand = _file("001", "expand", "ALTER TABLE accounts ADD COLUMN display_name text;")
    contract = _file("002", "contract", "ALTER TABLE accounts DROP COLUMN nickname;")
    problems = phases.same_deploy_problems([expand, contract])
    assert len(problems) == 1 and "deploy up to 001 first (--to 001)" in problems[0]
    assert phases.same_deploy_problems([contract]) == []
    assert [(c.table, c.column) for c in phases.dropped_columns(contract)] == [("accounts", "nickname")]


def test_contract_is_refused_while_queries_still_read_the_column(db: psycopg.Connection[Any]) -> None:
    db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    db.execute("CREATE TABLE accounts (id int PRIMARY KEY, nickname text, display_name text)")
    contract = _file("002", "contract", "ALTER TABLE accounts DROP COLUMN nickname;")
    db.execute("SELECT pg_stat_statements_reset()")
    assert phases.check(db, [contract]).refusals == []
    db.execute("SELECT id, nickname FROM accounts WHERE id = 1")
    refused = phases.check(db, [contract])
    assert len(refused.refusals) == 1 and "accounts.nickname" in refused.refusals[0]
    db.execute("SELECT pg_stat_statements_reset()")
    db.execute("SELECT id, display_name FROM accounts WHERE id = 1")
    assert phases.check(db, [contract]).refusals == []


def test_without_pg_stat_statements_the_check_warns(db: psycopg.Connection[Any]) -> None:
    db.execute("DROP EXTENSION IF EXISTS pg_stat_statements")
    contract = _file("002", "contract", "ALTER TABLE accounts DROP COLUMN nickname;")
    result = phases.check(db, [contract])
    assert result.refusals == []
    assert len(result.warnings) == 1 and "pg_stat_statements is not installed" in result.warnings[0]


def test_deploy_refuses_contract_with_its_expand_then_deploys_in_two_steps(project, db) -> None:  # type: ignore[no-untyped-def]
    import json

    db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    db.execute("CREATE TABLE accounts (id int PRIMARY KEY, nickname text)")
    db.execute("INSERT INTO accounts SELECT g, 'n' || g FROM generate_series(1, 500) g")
    planned = json.loads(
        project.cli("plan", "rename-column", "accounts", "nickname", "display_name", "--json", check_exit=0).stdout
    )
    versions = [Path(f["path"]).name.split("_", 1)[0] for f in planned["files"]]
    refused = project.cli("deploy", "--yes", check_exit=5)
    assert "contract step of plan accounts_rename_nickname_to_display_name" in refused.stderr
    assert db.execute(
        "SELECT count(*) FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'display_name'"
    ).fetchone() == (0,)
    project.cli("deploy", "--yes", "--to", versions[-2], check_exit=0)
    db.execute("SELECT pg_stat_statements_reset()")
    db.execute("SELECT nickname FROM accounts WHERE id = 1")  # the old application still reads it
    still_read = project.cli("deploy", "--yes", check_exit=5)
    assert "still name it" in still_read.stderr
    db.execute("SELECT pg_stat_statements_reset()")
    db.execute("SELECT display_name FROM accounts WHERE id = 1")  # the new application
    project.cli("deploy", "--yes", check_exit=0)
    assert db.execute(
        "SELECT count(*) FROM pg_attribute WHERE attrelid = 'accounts'::regclass "
        "AND attname = 'nickname' AND NOT attisdropped"
    ).fetchone() == (0,)
