"""Lint findings name the exact ``pgwarden plan`` / ``pgwarden backfill`` command for the statement they flag.

The command is built from the statement's own names (a table whose name needs quotes, a
mixed-case column) and, run as printed against a database that has the table, works.
"""

from __future__ import annotations

import shlex
from typing import Any

import psycopg
import pytest

from conftest import Project
from pgwarden.lint.api import lint_paths

CONTEXT = """
CREATE TABLE account_book (acct_no bigint PRIMARY KEY);
CREATE TABLE "Ledger Entries" (entry_id bigint PRIMARY KEY, amount_cents integer, "Memo" varchar(40),
                               "Note Text" text, account_ref bigint);
"""
TABLE = "'public.\"Ledger Entries\"'"

# rule -> (the flagged statement, the exact command its finding must name)
CASES: dict[str, tuple[str, str]] = {
    "alter-column-type": (
        'ALTER TABLE "Ledger Entries" ALTER COLUMN amount_cents TYPE bigint;',
        f"pgwarden plan change-type {TABLE} amount_cents bigint",
    ),
    "set-not-null": (
        'ALTER TABLE "Ledger Entries" ALTER COLUMN "Note Text" SET NOT NULL;',
        f"pgwarden plan set-not-null {TABLE} 'Note Text'",
    ),
    "rename-column": (
        'ALTER TABLE public."Ledger Entries" RENAME COLUMN "Memo" TO memo_text;',
        f"pgwarden plan rename-column {TABLE} Memo memo_text",
    ),
    "add-foreign-key-without-not-valid": (
        'ALTER TABLE "Ledger Entries" ADD CONSTRAINT ledger_acct_fk FOREIGN KEY (account_ref) '
        "REFERENCES account_book (acct_no);",
        f"pgwarden plan add-fk {TABLE} account_ref public.account_book acct_no",
    ),
    "update-without-where": (
        'UPDATE "Ledger Entries" SET amount_cents = 0;',
        f"pgwarden backfill {TABLE} --set 'amount_cents = 0' --batch 10000",
    ),
}


def _finding_text(project: Project, statement: str, rule: str) -> str:
    (project.migrations / "001_context.sql").write_text(f"-- migrate:up\n{CONTEXT}", encoding="utf-8")
    (project.migrations / "002_change.sql").write_text(f"-- migrate:up\n{statement}\n", encoding="utf-8")
    report = lint_paths([project.migrations], latest=1)
    [finding] = [f for f in report.active if f.rule == rule]
    return f"{finding.message}\n{finding.safe_rewrite}"


@pytest.mark.parametrize("rule", sorted(CASES))
def test_finding_names_a_command_that_runs(project: Project, db: psycopg.Connection[Any], rule: str) -> None:
    statement, expected = CASES[rule]
    text = _finding_text(project, statement, rule)
    assert expected in text, text
    db.execute(CONTEXT)
    words = shlex.split(expected)
    assert words[0] == "pgwarden"
    result = project.cli(*words[1:], "--dry-run", "--json")
    assert result.returncode == 0, (expected, result.stdout, result.stderr)
    assert "Ledger Entries" in result.stdout
    # a dry run changes nothing
    assert db.execute(
        "SELECT count(*) FROM pg_attribute WHERE attrelid = '\"Ledger Entries\"'::regclass "
        "AND attnum > 0 AND NOT attisdropped"
    ).fetchone() == (5,)


def test_composite_foreign_key_names_no_plan(project: Project) -> None:
    """``plan add-fk`` takes one column: a composite key gets the NOT VALID rewrite only."""
    text = _finding_text(
        project,
        'ALTER TABLE "Ledger Entries" ADD FOREIGN KEY (account_ref, entry_id) '
        "REFERENCES account_book (acct_no, acct_no);",
        "add-foreign-key-without-not-valid",
    )
    assert "pgwarden plan" not in text and "NOT VALID" in text


def test_using_clause_is_pointed_out(project: Project) -> None:
    text = _finding_text(
        project,
        'ALTER TABLE "Ledger Entries" ALTER COLUMN "Memo" TYPE varchar(20) USING left("Memo", 20);',
        "alter-column-type",
    )
    assert f"pgwarden plan change-type {TABLE} Memo 'varchar(20)'" in text
    assert "USING expression" in text
