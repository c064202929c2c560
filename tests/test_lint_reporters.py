"""Reporters: SARIF 2.1.0 shape, GitHub annotations, JSON, text; --explain and docs from the registry."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli
from pgwarden.lint.registry import all_rules, explain, markdown

ROOT = Path(__file__).resolve().parents[1]
SQL = (
    "CREATE INDEX orders_customer_idx ON orders (customer_id);\n"
    "-- pgwarden:ignore drop-table archived in OPS-1\nDROP TABLE legacy;\n"
    "ALTER TABLE t ADD COLUMN c timestamp;\n"
)


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "mig.sql"
    path.write_text(SQL, encoding="utf-8")
    return path


def check_sarif_shape(doc: dict) -> None:  # type: ignore[type-arg]
    """The parts of the SARIF 2.1.0 schema consumers (GitHub code scanning) rely on."""
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    assert isinstance(doc["runs"], list) and len(doc["runs"]) == 1
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert isinstance(driver["name"], str) and driver["name"]
    rule_ids = [r["id"] for r in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    for rule in driver["rules"]:
        assert set(rule) >= {"id", "shortDescription", "fullDescription", "help", "defaultConfiguration"}
        assert rule["defaultConfiguration"]["level"] in ("none", "note", "warning", "error")
        assert isinstance(rule["shortDescription"]["text"], str)
    for result in run["results"]:
        assert result["ruleId"] in rule_ids and rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("none", "note", "warning", "error")
        assert isinstance(result["message"]["text"], str) and result["message"]["text"]
        for location in result["locations"]:
            physical = location["physicalLocation"]
            assert isinstance(physical["artifactLocation"]["uri"], str)
            region = physical["region"]
            assert isinstance(region["startLine"], int) and region["startLine"] >= 1
            assert isinstance(region["startColumn"], int) and region["startColumn"] >= 1
        for suppression in result.get("suppressions", []):
            assert suppression["kind"] in ("inSource", "external")


def test_sarif(tmp_path: Path) -> None:
    path = _write(tmp_path)
    out = run_cli("lint", "--format", "sarif", str(path), cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    check_sarif_shape(doc)
    results = doc["runs"][0]["results"]
    by_rule = {r["ruleId"]: r for r in results}
    assert by_rule["create-index-not-concurrently"]["level"] == "error"
    assert by_rule["create-index-not-concurrently"]["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    assert by_rule["drop-table"]["suppressions"][0]["justification"] == "archived in OPS-1"
    assert by_rule["timestamp-without-time-zone"]["level"] == "note"


def test_github_annotations(tmp_path: Path) -> None:
    path = _write(tmp_path)
    out = run_cli("lint", "--format", "github", str(path), cwd=tmp_path)
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"::error file={path},line=1,col=1,title=create-index-not-concurrently::")
    assert "%0ASafe rewrite:%0A" in lines[0] and "\n" not in lines[0]
    assert any(line.startswith(f"::notice file={path},line=4,") for line in lines)
    assert not any("title=drop-table" in line for line in lines)  # suppressed


def test_text_and_exit_codes(tmp_path: Path) -> None:
    path = _write(tmp_path)
    out = run_cli("lint", str(path), cwd=tmp_path)
    assert out.returncode == 1
    assert f"{path}:1:1: error [create-index-not-concurrently]" in out.stdout
    assert "lock: SHARE (blocks writes)" in out.stdout
    assert "CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);" in out.stdout
    warn = tmp_path / "warn.sql"
    warn.write_text("DROP INDEX orders_status_idx;\n")
    only_warnings = run_cli("lint", "--json", str(warn), cwd=tmp_path)
    assert only_warnings.returncode == 0
    assert json.loads(only_warnings.stdout)["summary"]["warnings"] == 1
    broken = tmp_path / "broken.sql"
    broken.write_text("SELECT 1;\nCREATE TABLE (;\n")
    bad = run_cli("lint", str(broken), cwd=tmp_path)
    assert bad.returncode == 2 and f"{broken}:2:" in bad.stderr and "Traceback" not in bad.stderr
    missing = run_cli("lint", str(tmp_path / "nope.sql"), cwd=tmp_path)
    assert missing.returncode == 2


def test_explain_prints_the_registry_text(tmp_path: Path) -> None:
    out = run_cli("lint", "--explain", "set-not-null", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout == explain("set-not-null")
    assert "Why:" in out.stdout and "Bad:" in out.stdout and "Safe:" in out.stdout
    unknown = run_cli("lint", "--explain", "no-such-rule", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown lint rule" in unknown.stderr


def test_docs_are_generated_from_the_registry() -> None:
    docs = (ROOT / "docs" / "lint-rules.md").read_text(encoding="utf-8")
    assert docs == markdown(), "regenerate: python -m pgwarden.lint.registry > docs/lint-rules.md"
    for rule in all_rules().values():
        assert f"### `{rule.id}`" in docs and rule.bad in docs and rule.safe in docs


def test_cli_uses_the_project_config_for_paths(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "db").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.pgwarden]\n[tool.pgwarden.lint]\ndisable = ["index"]\n')
    sql = project / "db" / "m.sql"
    sql.write_text("CREATE INDEX i ON t (a);\nDROP TABLE legacy;\n")
    inside = json.loads(run_cli("lint", "--json", str(sql), cwd=project / "db").stdout)
    assert [f["rule"] for f in inside["findings"] if f["severity"] != "info"] == ["drop-table"]
    outside = json.loads(run_cli("lint", "--json", str(sql), cwd=tmp_path).stdout)
    assert [f["rule"] for f in outside["findings"] if f["severity"] != "info"] == [
        "create-index-not-concurrently",
        "drop-table",
    ]
    listing = run_cli("lint", "--explain", "all", cwd=tmp_path)
    assert listing.returncode == 0 and len(listing.stdout.splitlines()) == len(all_rules())
