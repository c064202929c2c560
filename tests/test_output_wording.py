"""Words users read: no references to documents they do not have, no doubled semicolons, no backwards versions."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import run_cli
from pgwarden.cli.migrate import version_line
from pgwarden.migrations.api import MigrateResult
from pgwarden.migrations.runner import StepResult
from pgwarden.output import sql_excerpt, sql_statement

REPO = Path(__file__).resolve().parents[1]
USER_FACING = [
    REPO / "README.md",
    *sorted((REPO / "docs").glob("*.md")),
    *sorted((REPO / "src").rglob("*.py")),
    *sorted((REPO / "src").rglob("*.sql")),
    *sorted((REPO / "examples").rglob("*.toml")),
]


def test_no_internal_document_names_or_doubled_semicolons_in_user_facing_text() -> None:
    found = []
    for path in USER_FACING:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"seed[ _]?00\d", line, re.I) or ";;" in line:
                found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_sql_in_messages_has_exactly_one_semicolon() -> None:
    assert sql_statement("SELECT pg_sleep(25);") == "SELECT pg_sleep(25);"
    assert sql_statement("SELECT 1;; \n") == "SELECT 1;"
    assert f"blocked by {sql_excerpt('SELECT  pg_sleep(25);')}; retry" == "blocked by SELECT pg_sleep(25); retry"
    assert sql_excerpt("SELECT " + "x" * 300, 20).endswith(" [...]")


def _step(version: str) -> StepResult:
    fields = StepResult.__dataclass_fields__
    values = {name: None for name in fields}
    values.update(version=version, name="m", status="applied")
    return StepResult(**values)  # type: ignore[arg-type]


def test_version_line_never_goes_backwards_on_an_out_of_order_migration() -> None:
    out_of_order = MigrateResult(
        "dev", "app", "up", False, [_step("20261203171717")], "20261203174000", "20261203174000"
    )
    line = version_line(out_of_order)
    assert line == "version: 20261203174000 (unchanged); applied out of order: 20261203171717"
    forward = MigrateResult("dev", "app", "up", False, [_step("20261203175000")], "20261203174000", "20261203175000")
    assert version_line(forward) == "version: 20261203174000 -> 20261203175000"


def test_init_in_another_folder_says_cd_first(tmp_path: Path) -> None:
    result = run_cli("init", "new app", cwd=tmp_path, env={"PGWARDEN_CONFIG": ""})
    assert result.returncode == 0, result.stderr
    assert "next: cd 'new app' && pgwarden migrate up" in result.stdout
    here = run_cli("init", cwd=tmp_path / "new app", env={"PGWARDEN_CONFIG": ""})
    assert here.returncode == 5  # never overwrites
    (tmp_path / "b").mkdir()
    in_place = run_cli("init", cwd=tmp_path / "b", env={"PGWARDEN_CONFIG": ""})
    assert "next: pgwarden migrate up" in in_place.stdout and "cd " not in in_place.stdout


def test_blocked_queries_evidence_reads_as_a_table_and_one_line_per_blocker(capsys) -> None:  # type: ignore[no-untyped-def]
    from pgwarden.cli.doctor import _render_check
    from pgwarden.doctor.model import CheckResult

    evidence = [
        {
            "pid": 123,
            "user": "app",
            "application_name": "web",
            "waiting_seconds": 31.2,
            "query": "UPDATE stock SET qty = 8 WHERE id = 1",
            "blocked_by": [99],
            "blockers": [
                {
                    "pid": 99,
                    "state": "idle in transaction",
                    "transaction_seconds": 45.1,
                    "query": "SELECT * FROM stock FOR UPDATE",
                }
            ],
        }
    ]
    _render_check(
        CheckResult(
            "blocked_queries",
            "activity",
            "fail",
            "1 statement waiting",
            "why",
            evidence,
            ["SELECT pg_cancel_backend(99);"],
            0.1,
        )
    )
    out = capsys.readouterr().out
    assert "waiting_seconds" in out and "application_name" in out  # headers whole
    assert '{"' not in out and "[{" not in out  # no raw JSON
    assert (
        "pid 123 blockers: pid=99, state=idle in transaction, transaction_seconds=45.1, "
        "query=SELECT * FROM stock FOR UPDATE" in out
    )


def test_shell_completion_script_is_offered(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    program = Path(sys.executable).parent / "pgwarden"
    result = subprocess.run(
        [str(program), "--show-completion", "bash"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "_pgwarden_completion" in result.stdout and "complete " in result.stdout
    assert "--install-completion" in run_cli("--help", cwd=tmp_path).stdout
