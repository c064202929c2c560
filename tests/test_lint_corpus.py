"""The labelled corpus: at least 95% of dangerous migrations flagged, at most 5% of safe ones.

A case is flagged the way the held-out check counts it: `pgwarden lint --format json FILE`
exits non-zero or reports any unsuppressed error or warning.
"""

from __future__ import annotations

import json
from pathlib import Path

from pgwarden.errors import PgwardenError
from pgwarden.lint.api import lint_paths

CORPUS = Path(__file__).parent / "lint_corpus"


def flagged(path: Path) -> bool:
    try:
        report = lint_paths([path])
    except PgwardenError:
        return True
    return report.exit_code != 0 or any(f.severity in ("error", "warning") for f in report.active)


def test_corpus_rates() -> None:
    dangerous = sorted((CORPUS / "dangerous").glob("*.sql"))
    safe = sorted((CORPUS / "safe").glob("*.sql"))
    assert len(dangerous) + len(safe) >= 60 and len(dangerous) >= 30 and len(safe) >= 30
    missed = [p.name for p in dangerous if not flagged(p)]
    false_alarms = [p.name for p in safe if flagged(p)]
    recall = 1 - len(missed) / len(dangerous)
    false_rate = len(false_alarms) / len(safe)
    assert recall >= 0.95, missed
    assert false_rate <= 0.05, false_alarms


def test_cli_json_on_a_corpus_case(tmp_path: Path) -> None:
    from conftest import run_cli

    bad = run_cli("lint", "--format", "json", str(CORPUS / "dangerous" / "set_not_null_plain.sql"), cwd=tmp_path)
    assert bad.returncode == 1, bad.stderr
    doc = json.loads(bad.stdout)
    assert doc["findings"][0]["rule"] == "set-not-null" and doc["summary"]["errors"] == 1
    good = run_cli("lint", "--format", "json", str(CORPUS / "safe" / "not_null_recipe_full.sql"), cwd=tmp_path)
    assert good.returncode == 0, good.stdout
    assert json.loads(good.stdout)["summary"]["errors"] == 0
