"""Render a LintReport as text, JSON, SARIF 2.1.0 or GitHub Actions annotations.

Guarantees: each renderer returns the whole output as one string and never
changes the report; SARIF follows the 2.1.0 schema (runs[].tool.driver.rules,
results with ruleId, level, message, physicalLocation, inSource suppressions).
"""

from __future__ import annotations

from typing import Any

from pgwarden import __version__
from pgwarden.lint.model import Finding, LintReport

FORMATS = ("text", "json", "sarif", "github")  # json is chosen with --json on the command line
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _first_line(sql: str, width: int = 100) -> str:
    line = " ".join(sql.split())
    return line if len(line) <= width else line[: width - 3] + "..."


def finding_line(f: Finding) -> str:
    """One finding on one line: ``path:line:col: severity [rule-id] message``.

    The one formatter for a finding wherever pgwarden prints one (lint, ``migrate up``,
    deploy's preflight): the rule id is always there, so ``-- pgwarden:ignore rule-id reason``
    can be written from it.
    """
    return f"{f.location}: {f.severity} [{f.rule}] {f.message}"


def execution_line(report: LintReport) -> str:
    """``executed N file(s) on a scratch database in 1.23 s (...)``, "" without --execute."""
    e = report.execution
    if e is None:
        return ""
    missing = f"; not available there: {', '.join(e.missing_extensions)}" if e.missing_extensions else ""
    replay = (
        f"; {len(e.replay_failures)} replayed statement(s) failed, first {e.replay_failures[0]}: later "
        "results may be incomplete"
        if e.replay_failures
        else ""
    )
    return (
        f"executed {e.executed} file(s) on {e.server} in {e.seconds:.2f} s "
        f"(after replaying {e.replayed} earlier file(s) to build the schema{missing}{replay})"
    )


def text(report: LintReport, *, show_info: bool = True) -> str:
    """Human-readable findings, one block each, and a summary line (the file selection first, if any)."""
    out: list[str] = [report.selection] if report.selection else []
    for f in report.findings:
        if f.suppressed or (f.severity == "info" and not show_info):
            continue
        out.append(finding_line(f))
        out.append(f"    statement: {_first_line(f.statement)}")
        if f.lock:
            out.append(f"    lock: {f.lock} (blocks {f.blocks})")
        if f.safe_rewrite:
            out.append("    safe rewrite:")
            out.extend(f"        {line}" for line in f.safe_rewrite.splitlines())
        out.append("")
    s = report.summary()
    out.append(
        f"{s['files']} file(s), {s['statements']} statement(s): {s['errors']} error(s), "
        f"{s['warnings']} warning(s), {s['info']} info, {s['suppressed']} suppressed"
        + (f" (graded with live sizes from {report.env})" if report.env else "")
    )
    if report.execution is not None:
        out.append(execution_line(report))
    return "\n".join(out) + "\n"


def as_dict(report: LintReport) -> dict[str, Any]:
    """The JSON document: findings (suppressed included) and a summary."""
    execution = dict(vars(report.execution)) if report.execution is not None else None
    return {
        "selection": report.selection,
        "findings": [dict(vars(f)) for f in report.findings],
        "summary": report.summary(),
        "env": report.env,
        "context_files": report.context_files,
        "execution": execution,
        "exit_code": report.exit_code,
    }


def json_text(report: LintReport) -> str:
    import json

    return json.dumps(as_dict(report), ensure_ascii=False) + "\n"


def sarif(report: LintReport) -> dict[str, Any]:
    """The SARIF 2.1.0 log of the report."""
    from pgwarden.lint.registry import all_rules

    rules = all_rules()
    ids = list(rules)
    driver_rules = [
        {
            "id": r.id,
            "name": r.id,
            "shortDescription": {"text": r.summary},
            "fullDescription": {"text": r.why},
            "help": {
                "text": f"{r.why}\n\nBad:\n{r.bad}\n\nSafe:\n{r.safe}",
                "markdown": f"{r.why}\n\nBad:\n```sql\n{r.bad}\n```\n\nSafe:\n```sql\n{r.safe}\n```",
            },
            "defaultConfiguration": {"level": _SARIF_LEVEL[r.severity]},
            "properties": {"family": r.family, "tags": [r.family]},
        }
        for r in rules.values()
    ]
    results = []
    for f in report.findings:
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f.message + (f" Lock: {f.lock} (blocks {f.blocks})." if f.lock else "")},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(f.path)},
                        "region": {
                            "startLine": max(f.line, 1),
                            "startColumn": max(f.column, 1),
                            "snippet": {"text": f.statement},
                        },
                    }
                }
            ],
        }
        if f.rule in rules:
            result["ruleIndex"] = ids.index(f.rule)
        if f.safe_rewrite:
            result["properties"] = {"safeRewrite": f.safe_rewrite, "lock": f.lock, "blocks": f.blocks}
        if f.suppressed:
            result["suppressions"] = [{"kind": "inSource", "justification": f.reason or ""}]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "pgwarden",
                        "version": __version__,
                        "informationUri": "https://github.com/pgwarden/pgwarden",
                        "rules": driver_rules,
                    }
                },
                "results": results,
                "properties": {
                    "selection": report.selection,
                    "contextFiles": report.context_files,
                    "execution": dict(vars(report.execution)) if report.execution is not None else None,
                },
            }
        ],
    }


def sarif_text(report: LintReport) -> str:
    import json

    return json.dumps(sarif(report), indent=2) + "\n"


def _uri(path: str) -> str:
    return path.replace("\\", "/")


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github_line(f: Finding) -> str:
    level = _GITHUB_LEVEL[f.severity]
    props = f"file={_escape_property(f.path)},line={f.line},col={f.column},title={_escape_property(f.rule)}"
    body = f.message + (f" (lock {f.lock}, blocks {f.blocks})" if f.lock else "")
    if f.safe_rewrite:
        body += "\nSafe rewrite:\n" + f.safe_rewrite
    return f"::{level} {props}::{_escape_data(body)}"


def github(report: LintReport) -> str:
    """GitHub Actions workflow commands (::error / ::warning / ::notice), unsuppressed findings only."""
    lines = [report.selection] if report.selection else []
    lines += [github_line(f) for f in report.findings if not f.suppressed]
    s = report.summary()
    lines.append(
        f"pgwarden lint: {s['errors']} error(s), {s['warnings']} warning(s), {s['info']} info, "
        f"{s['suppressed']} suppressed"
    )
    if report.execution is not None:
        lines.append(execution_line(report))
    return "\n".join(lines) + "\n"


def render(report: LintReport, fmt: str) -> str:
    """The report in ``fmt`` (one of FORMATS)."""
    if fmt == "json":
        return json_text(report)
    if fmt == "sarif":
        return sarif_text(report)
    if fmt == "github":
        return github(report)
    return text(report)
