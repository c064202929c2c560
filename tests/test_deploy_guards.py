"""`pgwarden deploy` guards: TLS on protected environments, confirmation, lint, dry run."""

from __future__ import annotations

import json

import pytest

from conftest import Project

PROTECTED_INSECURE = "protected = true\nallow_insecure = true"


def _nothing_changed(db) -> None:  # type: ignore[no-untyped-def]
    assert db.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'pgwarden'").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)


def _users(project: Project) -> None:
    project.write_migration(
        "001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text);", "DROP TABLE users;"
    )


def test_protected_env_without_tls_is_refused(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_config(env_extra="protected = true")  # the embedded server's unix socket has no TLS
    _users(project)
    result = project.cli("deploy", "--yes", check_exit=5)
    assert "not encrypted" in result.stderr and "sslmode=verify-full" in result.stderr
    assert "refused" in result.stderr  # the tls step is shown as refused
    _nothing_changed(db)
    doc = json.loads(project.cli("deploy", "--yes", "--json", check_exit=5).stdout)
    assert doc["outcome"] == "refused" and doc["exit_code"] == 5
    tls = next(s for s in doc["steps"] if s["name"] == "preflight: connect and tls")
    assert tls["outcome"] == "refused"
    assert not (project.root / "backups").exists()
    _nothing_changed(db)


def test_protected_env_without_terminal_or_yes_is_refused(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_config(env_extra=PROTECTED_INSECURE)
    _users(project)
    result = project.cli("deploy", check_exit=5)
    assert "--yes" in result.stderr
    _nothing_changed(db)


def test_lint_error_stops_before_any_change(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("pgwarden.lint.api")
    project.write_config(env_extra=PROTECTED_INSECURE)
    _users(project)
    project.write_migration(
        "002_index.sql", "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);", "DROP INDEX users_email_idx;"
    )
    result = project.cli("deploy", "--yes", "--json", check_exit=1)
    doc = json.loads(result.stdout)
    lint = next(s for s in doc["steps"] if s["name"] == "preflight: lint")
    assert lint["outcome"] == "failed" and "concurrently-in-transaction" in lint["detail"]
    assert not any(s["name"].startswith(("backup", "apply")) for s in doc["steps"])
    _nothing_changed(db)
    assert not (project.root / "backups").exists()


def test_missing_down_section_stops_before_any_change(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_migration("001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY);")
    result = project.cli("deploy", "--yes", check_exit=1)
    assert "no down section" in result.stderr
    _nothing_changed(db)


def test_dry_run_changes_nothing_then_deploy_and_up_to_date(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    _users(project)
    doc = json.loads(project.cli("deploy", "--dry-run", "--json", check_exit=0).stdout)
    assert doc["outcome"] == "dry run" and doc["pending"] == ["001"]
    _nothing_changed(db)
    done = json.loads(project.cli("deploy", "--json", check_exit=0).stdout)
    assert done["outcome"] == "deployed" and done["applied"] == ["001"] and done["version_after"] == "001"
    assert [s["outcome"] for s in done["steps"] if s["name"].startswith("post-check")] == ["ok", "ok", "ok"]
    again = json.loads(project.cli("deploy", "--json", check_exit=0).stdout)
    assert again["outcome"] == "up to date"
    events = db.execute("SELECT outcome FROM pgwarden.events WHERE kind = 'deploy' ORDER BY id").fetchall()
    assert events == [("deployed",), ("up to date",)]


def test_typed_confirmation_must_match_the_env_name(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    from pgwarden.deploy.pipeline import deploy
    from pgwarden.deploy.report import DeployStopped

    project.write_config(env_extra=PROTECTED_INSECURE)
    _users(project)
    asked: list[str] = []

    def typed_wrong(expected: str) -> bool:
        asked.append(expected)
        return False

    with pytest.raises(DeployStopped) as stopped:
        deploy(project.config(), "test", confirm=typed_wrong)
    refused = stopped.value.report
    assert asked == ["test"] and refused.outcome == "refused" and stopped.value.exit_code == 5
    _nothing_changed(db)
    done = deploy(project.config(), "test", confirm=lambda expected: expected == "test")
    assert done.outcome == "deployed" and done.applied == ["001"] and done.backup_id
    assert db.execute("SELECT version FROM pgwarden.migrations").fetchall() == [("001",)]


def test_second_deploy_at_the_same_time_is_refused(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    from pgwarden.db import advisory_lock
    from pgwarden.deploy.pipeline import DEPLOY_LOCK

    _users(project)
    with advisory_lock(project.url, DEPLOY_LOCK, timeout=5):  # another deploy holds the lock
        result = project.cli("deploy", check_exit=5)
    assert "another deploy is running" in result.stderr
    _nothing_changed(db)
