"""The labelled corpus: every dangerous case is flagged and every safe case is not, one test per case.

A case is a .sql file (linted alone) or a folder of migration files (the last one is linted,
the earlier ones are context: applied, their tables exist). A case is flagged when lint exits
non-zero or reports any unsuppressed error or warning, as `pgwarden lint --json CASE` would.
Cases that need a database (run-time failures, data changes graded by size) live in
tests/lint_corpus/runtime and tests/lint_corpus/data and run in test_lint_execute.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pgwarden.errors import PgwardenError
from pgwarden.lint.api import lint_paths

CORPUS = Path(__file__).parent / "lint_corpus"


def cases(label: str) -> list[Path]:
    folder = CORPUS / label
    return sorted([*folder.glob("*.sql"), *(p for p in folder.iterdir() if p.is_dir())])


def flagged(case: Path) -> bool:
    try:
        report = lint_paths([case], latest=1) if case.is_dir() else lint_paths([case])
    except PgwardenError:
        return True
    return report.exit_code != 0 or any(f.severity in ("error", "warning") for f in report.active)


def test_corpus_size() -> None:
    assert len(cases("dangerous")) >= 60 and len(cases("safe")) >= 50


@pytest.mark.parametrize("case", cases("dangerous"), ids=lambda p: p.name)
def test_dangerous_case_is_flagged(case: Path) -> None:
    assert flagged(case), f"{case.name}: not flagged"


@pytest.mark.parametrize("case", cases("safe"), ids=lambda p: p.name)
def test_safe_case_is_not_flagged(case: Path) -> None:
    report = lint_paths([case], latest=1) if case.is_dir() else lint_paths([case])
    assert not flagged(case), [(f.rule, f.line, f.message) for f in report.active]


def test_cli_json_on_a_corpus_case(tmp_path: Path) -> None:
    from conftest import run_cli

    bad = run_cli("lint", "--json", str(CORPUS / "dangerous" / "set_not_null_plain.sql"), cwd=tmp_path)
    assert bad.returncode == 1, bad.stderr
    doc = json.loads(bad.stdout)
    assert doc["findings"][0]["rule"] == "set-not-null" and doc["summary"]["errors"] == 1
    good = run_cli("lint", "--json", str(CORPUS / "safe" / "not_null_recipe_full.sql"), cwd=tmp_path)
    assert good.returncode == 0, good.stdout
    assert json.loads(good.stdout)["summary"]["errors"] == 0
