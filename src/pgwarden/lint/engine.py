"""The lint engine: walks units in execution order, tracks transactions, runs rules, applies suppressions."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pgwarden.lint import registry
from pgwarden.lint.context import Knowledge, StatementContext, Transaction
from pgwarden.lint.locks import statement_locks
from pgwarden.lint.model import STRONG_LOCKS, Finding, LintReport, Severity
from pgwarden.lint.rules.heavy import check_transaction
from pgwarden.lint.rules.locking import check_lock_timeout
from pgwarden.lint.sources import Unit
from pgwarden.lint.tracker import track
from pgwarden.lint.tree import J, const_value, kind_of, root, tree_of

IGNORE = re.compile(r"--\s*pgwarden:ignore\b[ \t]*(?P<rules>[A-Za-z0-9_,\-*]*)[ \t]*(?P<reason>.*)$")
_LOWER: dict[Severity, Severity] = {"error": "warning", "warning": "info", "info": "info"}
_BEGIN = {"TRANS_STMT_BEGIN", "TRANS_STMT_START"}
_END = {
    "TRANS_STMT_COMMIT",
    "TRANS_STMT_ROLLBACK",
    "TRANS_STMT_PREPARE",
    "TRANS_STMT_COMMIT_PREPARED",
    "TRANS_STMT_ROLLBACK_PREPARED",
}


class Settings:
    """Which rules run and at what severity (from ``[lint]`` in the config)."""

    def __init__(self, disable: Iterable[str] = (), severity: dict[str, str] | None = None):
        self.disable = set(disable)
        self.severity = dict(severity or {})

    def enabled(self, finding: Finding) -> bool:
        return finding.rule not in self.disable and finding.family not in self.disable


def _lock_timeout_value(node: J) -> bool | None:
    """True/False when ``node`` sets lock_timeout (non-zero / zero), None when it is another statement."""
    if kind_of(node) != "VariableSetStmt" or node.name != "lock_timeout":
        return None
    args = node.args or ()
    if not args:
        return False
    value = const_value(args[0])
    return str(value).strip() not in ("0", "", "0ms", "0s", "None")


def _ignores(unit: Unit, line: int) -> list[tuple[int, str]]:
    """(line, text) of the comment lines directly above statement line ``line``."""
    out = []
    lines = unit.lines
    index = line - 2
    while 0 <= index < len(lines) and lines[index].strip().startswith("--"):
        out.append((index + 1, lines[index].strip()))
        index -= 1
    return out


def _rule_for(names: list[str], findings: list[Finding]) -> str:
    """The rule id an ignore comment most likely means: a finding's rule on that statement, else the one written."""
    for finding in findings:
        return finding.rule
    return names[0] if names else "RULE"


def _apply_ignores(
    unit: Unit, statement_line: int, findings: list[Finding], rules: Mapping[str, object]
) -> list[Finding]:
    extra: list[Finding] = []
    for line, text in _ignores(unit, statement_line):
        match = IGNORE.search(text)
        if not match:
            continue
        names = [n for n in match["rules"].split(",") if n]
        reason = match["reason"].strip()
        unknown = [n for n in names if n not in rules and n not in ("all", "*")]
        if not names or not reason or unknown:
            problem = (
                "names no rule" if not names else f"names unknown rule {unknown[0]}" if unknown else "gives no reason"
            )
            extra.append(
                Finding(
                    "invalid-ignore",
                    "warning",
                    str(unit.path),
                    line,
                    1,
                    text,
                    f"ignore comment {problem}: write '-- pgwarden:ignore RULE reason'",
                    family="hygiene",
                    section=unit.direction if unit.direction != "file" else "up",
                    safe_rewrite=f"-- pgwarden:ignore {_rule_for(names, findings)} <why it is safe here>",
                )
            )
            continue
        for finding in findings:
            if finding.rule in names or "all" in names or "*" in names:
                finding.suppressed = True
                finding.reason = reason
    return extra


def run(units: list[Unit], knowledge: Knowledge, settings: Settings, report: LintReport) -> LintReport:
    """Lint ``units`` in order (state carries over: tables created earlier are new); findings go to ``report``."""
    rules = registry.all_rules()
    txn_ids = 0
    seen_files: set[str] = set(report.files)
    for unit in units:
        if unit.context:
            _track_context(unit, knowledge, rules)
            continue
        if str(unit.path) not in seen_files:
            seen_files.add(str(unit.path))
            report.files.append(str(unit.path))
        section = "down" if unit.direction == "down" else "up"
        path = str(unit.path)
        session_timeout = False
        warned_timeout = False
        txn_ids += 1
        section_txn = Transaction(txn_ids, explicit=unit.transactional and not unit.raw)
        open_txn: Transaction | None = None
        for statement in unit.statements:
            node = root(tree_of(statement))
            kind = kind_of(node)
            report.statements += 1
            if kind == "TransactionStmt":
                name = node.kind
                if name in _BEGIN:
                    txn_ids += 1
                    open_txn = Transaction(txn_ids, explicit=True)
                elif name in _END:
                    open_txn = None
                continue
            timeout = _lock_timeout_value(node)
            if timeout is not None:
                if getattr(node, "is_local", False) and open_txn is not None:
                    open_txn.lock_timeout = timeout
                else:
                    session_timeout = timeout
                continue
            if unit.raw:
                if open_txn is not None:
                    txn = open_txn
                else:
                    txn_ids += 1
                    txn = Transaction(txn_ids, explicit=False)
            elif unit.transactional:
                txn = section_txn
            else:
                txn_ids += 1
                txn = Transaction(txn_ids, explicit=False)
            ctx = StatementContext(
                path,
                statement.line,
                statement.column,
                statement.sql,
                node,
                section,
                unit.raw,
                txn,
                knowledge,
                session_timeout or txn.lock_timeout,
                rules,
            )
            for check in registry.checkers_for(kind):
                check(ctx, node)
            locks = [(t, lock) for t, lock in statement_locks(node) if lock in STRONG_LOCKS and not knowledge.is_new(t)]
            check_transaction(ctx, locks)
            for table, lock in locks:
                txn.strong_locks.append((table, lock, statement.line))
            if not warned_timeout:
                warned_timeout = check_lock_timeout(ctx, locks)
            if section == "up":  # a down section is checked against the state after its up, never changes it
                track(ctx, node)
            if ctx.findings:
                finish(ctx.findings, unit, statement.line, section, settings, rules, report)
    return report


def _track_context(unit: Unit, knowledge: Knowledge, rules: dict[str, Any]) -> None:
    """Replay what an already applied file did to the schema (no rules run), then settle its tables as existing."""
    if unit.direction == "down":
        return
    txn = Transaction(0, explicit=unit.transactional)
    for statement in unit.statements:
        node = root(tree_of(statement))
        ctx = StatementContext(
            str(unit.path),
            statement.line,
            statement.column,
            statement.sql,
            node,
            "up",
            unit.raw,
            txn,
            knowledge,
            True,
            rules,
        )
        track(ctx, node)
    knowledge.settle_context()


def finish(
    findings: list[Finding],
    unit: Unit,
    line: int,
    section: str,
    settings: Settings,
    rules: Mapping[str, object],
    report: LintReport,
) -> None:
    """Add one statement's findings to ``report``: [lint] disable/severity applied, down sections one severity
    lower, duplicates dropped, ``-- pgwarden:ignore rule-id reason`` comments above ``line`` honoured."""
    kept = [f for f in findings if settings.enabled(f)]
    for finding in kept:
        override = settings.severity.get(finding.rule) or settings.severity.get(finding.family)
        if override in ("error", "warning", "info"):
            finding.severity = override  # type: ignore[assignment]
        if section == "down":
            finding.severity = _LOWER[finding.severity]
    # de-duplicate (same rule, same statement, same message)
    seen: set[tuple[str, str]] = set()
    unique = []
    for finding in kept:
        if (finding.rule, finding.message) not in seen:
            seen.add((finding.rule, finding.message))
            unique.append(finding)
    extra = _apply_ignores(unit, line, unique, rules) if unique else []
    report.findings.extend(unique)
    report.findings.extend(f for f in extra if settings.enabled(f))
