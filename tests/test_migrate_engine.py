"""Engine correctness around real migration sets: empty sections, session state, down progress, lost
connections, rich markup in output, one list of problem states."""

from __future__ import annotations

import json

from conftest import Project


def test_empty_up_section_is_refused_and_nothing_recorded(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.cli("migrate", "new", "add_phone", check_exit=0)
    result = project.cli("migrate", "up", check_exit=2)
    assert "up section" in result.stderr and "is empty" in result.stderr and "Traceback" not in result.stderr
    assert db.execute("SELECT to_regclass('pgwarden.migrations')").fetchone() == (None,)


def test_empty_down_section_is_an_error_for_down_and_irreversible_for_deploy(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_migration("001_t.sql", "CREATE TABLE t (id int);", "")
    project.cli("migrate", "up", check_exit=0)
    result = project.cli("migrate", "down", check_exit=2)
    assert "down section of 001_t is empty" in result.stderr
    assert db.execute("SELECT count(*) FROM pgwarden.migrations").fetchone() == (1,)
    assert db.execute("SELECT to_regclass('t') IS NOT NULL").fetchone() == (True,)
    from pgwarden.deploy.checks import all_reversible
    from pgwarden.sources import discover

    assert "irreversible: 001" in all_reversible(discover(project.migrations))


def test_settings_do_not_leak_between_migrations(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_migration("001_schema.sql", "CREATE SCHEMA s1;\nSET search_path = s1, public;", "DROP SCHEMA s1;")
    project.write_migration("002_t.sql", "CREATE TABLE t (id int);", "DROP TABLE t;")
    project.cli("migrate", "up", check_exit=0)
    assert db.execute("SELECT to_regclass('public.t') IS NOT NULL, to_regclass('s1.t')").fetchone() == (True, None)
    project.cli("migrate", "down", "--steps", "2", check_exit=0)
    assert db.execute("SELECT count(*) FROM pgwarden.migrations").fetchone() == (0,)
    project.cli("migrate", "up", "--to", "001", check_exit=0)
    project.cli("migrate", "up", check_exit=0)
    assert db.execute("SELECT to_regclass('public.t') IS NOT NULL, to_regclass('s1.t')").fetchone() == (True, None)


def test_failed_non_transactional_down_is_recorded_and_resumed(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    db.execute("CREATE TABLE t (a int, b int)")
    project.write_migration(
        "001_idx.sql",
        "CREATE INDEX CONCURRENTLY t_a ON t (a);\nCREATE INDEX CONCURRENTLY t_b ON t (b);",
        "DROP INDEX CONCURRENTLY t_a;\nDROP INDEX CONCURRENTLY t_b_typo;",
        up_options="transaction:false",
        down_options="transaction:false",
    )
    project.cli("migrate", "up", check_exit=0)
    failed = project.cli("migrate", "down", check_exit=1)
    assert "statement 2 of 2" in failed.stderr and "`pgwarden migrate down` resumes" in failed.stderr
    status = project.cli("migrate", "status", "--json", check_exit=1)
    state = json.loads(status.stdout)["migrations"][0]
    assert state["state"] == "reverting" and "statement 1 of 2" in state["note"]
    assert "Nothing to do" not in project.cli("migrate", "up", check_exit=1).stdout
    # fix the typo in the failed statement: statement 1 is unchanged, so the down resumes at statement 2
    text = (project.migrations / "001_idx.sql").read_text().replace("t_b_typo", "t_b")
    (project.migrations / "001_idx.sql").write_text(text)
    done = json.loads(project.cli("migrate", "down", "--json", check_exit=0).stdout)
    assert done["steps"][0]["resumed_at"] == 2
    assert db.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 't'").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM pgwarden.migrations").fetchone() == (0,)


def test_edited_failed_statement_resumes_and_earlier_edit_is_refused(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_migration(
        "001_steps.sql",
        "CREATE TABLE a (id int);\nCREATE TABLE b (id nosuchtype);\nCREATE TABLE c (id int);",
        up_options="transaction:false",
    )
    project.cli("migrate", "up", check_exit=1)
    path = project.migrations / "001_steps.sql"
    original = path.read_text()
    path.write_text(original.replace("CREATE TABLE a (id int)", "CREATE TABLE a (id bigint)"))
    refused = project.cli("migrate", "up", check_exit=1)
    assert "statement 1 of 001_steps (up) was edited after it ran" in refused.stderr
    path.write_text(original.replace("nosuchtype", "int"))
    doc = json.loads(project.cli("migrate", "up", "--json", check_exit=0).stdout)
    assert doc["steps"][0]["resumed_at"] == 2
    assert db.execute(
        "SELECT to_regclass('a') IS NOT NULL AND to_regclass('b') IS NOT NULL AND to_regclass('c') IS NOT NULL"
    ).fetchone() == (True,)


def test_repair_says_which_statements_it_keeps(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_migration(
        "001_steps.sql",
        "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nCREATE TABLE c (id nosuchtype);",
        up_options="transaction:false",
    )
    project.cli("migrate", "up", check_exit=1)
    repaired = project.cli("migrate", "repair", check_exit=0)
    assert "001: keeps statements 1-2 as done; the next `pgwarden migrate up` resumes at statement 3" in repaired.stdout
    path = project.migrations / "001_steps.sql"
    path.write_text(path.read_text().replace("nosuchtype", "int"))
    project.cli("migrate", "up", check_exit=0)
    assert db.execute("SELECT status, statements_done FROM pgwarden.migrations").fetchone() == ("applied", 3)


def test_lost_connection_is_one_line_exit_3_and_history_consistent(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_migration("001_t.sql", "CREATE TABLE t (id int);", "DROP TABLE t;")
    project.write_migration("002_die.sql", "CREATE TABLE u (id int);\nSELECT pg_terminate_backend(pg_backend_pid());")
    result = project.cli("migrate", "up", check_exit=3)
    assert "Traceback" not in result.stderr and "lost the connection" in result.stderr
    assert len([line for line in result.stderr.splitlines() if "error" in line]) == 1
    rows = db.execute("SELECT version, status FROM pgwarden.migrations ORDER BY 1").fetchall()
    assert rows == [("001", "applied")]
    assert db.execute("SELECT to_regclass('u')").fetchone() == (None,)


def test_lint_warnings_are_escaped_and_printed_before_applying(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    db.execute('CREATE TABLE "t[/x]" (id int)')
    db.execute('INSERT INTO "t[/x]" SELECT generate_series(1, 10)')
    project.write_migration("001_idx.sql", 'CREATE INDEX i ON "t[/x]" (id);\nSELECT 1/0;', "DROP INDEX i;")
    result = project.cli("migrate", "up")
    assert result.returncode == 1, result.stderr
    assert "MarkupError" not in result.stderr and "Traceback" not in result.stderr
    lint_at = result.stderr.find("lint:")
    assert lint_at != -1 and "t[/x]" in result.stderr, result.stderr
    assert lint_at < result.stderr.find("001_idx (up) failed"), result.stderr
    assert "[" in result.stderr[lint_at:].split("\n")[0]  # the rule id in brackets survives


def test_missing_file_is_a_problem_for_status_and_doctor_alike(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    project.write_migration("001_t.sql", "CREATE TABLE t (id int);", "DROP TABLE t;")
    project.cli("migrate", "up", check_exit=0)
    (project.migrations / "001_t.sql").unlink()
    status = json.loads(project.cli("migrate", "status", "--json", check_exit=1).stdout)
    assert status["migrations"][0]["state"] == "missing"
    doctor = project.cli("doctor", "--check", "pending_migrations", "--json")
    doc = json.loads(doctor.stdout)
    outcome = next(r for r in doc["checks"] if r["name"] == "pending_migrations")
    assert outcome["status"] == "fail" and "001 (missing)" in outcome["summary"], outcome


def test_nul_byte_is_exit_2_for_up_and_lint(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    path = project.migrations / "001_nul.sql"
    path.write_text("-- migrate:up\nCREATE TABLE nul1 (id int);\x00\nCREATE TABLE nul2 (id int);\n", encoding="utf-8")
    up = project.cli("migrate", "up", check_exit=2)
    assert "001_nul.sql:2: NUL byte" in up.stderr
    assert db.execute("SELECT to_regclass('nul1')").fetchone() == (None,)
    lint = project.cli("lint", str(path))
    assert lint.returncode == 2 and "NUL byte" in lint.stderr, lint.stderr


def test_lint_gate_is_one_policy_for_migrate_up_and_deploy(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from pgwarden.deploy.checks import lint_clean
    from pgwarden.errors import ProblemsFound
    from pgwarden.migrations.api import up
    from pgwarden.sources import discover

    project.write_migration("001_idx.sql", "CREATE INDEX CONCURRENTLY i ON t (id);", "DROP INDEX i;")
    db.execute("CREATE TABLE t (id int)")
    files = discover(project.migrations)
    config = project.config()
    # unprotected: the error is reported by both, and blocks neither
    assert "warning" in lint_clean(config, files, "test")
    assert any("concurrently-in-transaction" in w for w in up(config, "test", dry_run=True).lint_warnings)
    # protected: both refuse, nothing applied
    project.write_config(env_extra="protected = true\nallow_insecure = true")
    config = project.config()
    with pytest.raises(ProblemsFound):
        lint_clean(config, files, "test")
    with pytest.raises(ProblemsFound):
        up(config, "test", dry_run=True)
