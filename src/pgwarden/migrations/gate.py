"""The lint gate: which lint findings stop migrations, where. One policy for ``migrate up`` and deploy.

Policy: in a protected environment an unsuppressed finding of a severity in
:data:`BLOCKING_IN_PROTECTED` stops the run before anything is applied
(ProblemsFound, exit 1); everywhere else findings of the severities in
:data:`REPORTED` come back as warning lines, printed before anything runs.
"""

from __future__ import annotations

from typing import Any

from pgwarden.config import Config
from pgwarden.errors import ProblemsFound
from pgwarden.sources import MigrationFile

BLOCKING_IN_PROTECTED = frozenset({"error"})
BLOCKING_ELSEWHERE: frozenset[str] = frozenset()
REPORTED = frozenset({"error", "warning"})


def blocking_severities(*, protected: bool) -> frozenset[str]:
    """The severities that stop a run in a protected (or unprotected) environment."""
    return BLOCKING_IN_PROTECTED if protected else BLOCKING_ELSEWHERE


def lint_gate(
    config: Config, files: list[MigrationFile], *, env_name: str, protected: bool, conn: Any = None
) -> list[str]:
    """Lint the up sections of ``files`` (graded by live table sizes) and apply the policy.

    Raises ProblemsFound (exit 1, nothing applied) for blocking findings; returns the
    other reported findings as ``file:line: severity [rule] message`` lines. With
    ``[migrate] lint = false`` nothing is linted.
    """
    if not config.settings.migrate.lint or not files:
        return []
    from pgwarden.lint.api import lint_migrations

    report = lint_migrations(config, files, env_name, include_down=False, conn=conn)
    findings = [f for f in report.findings if not f.suppressed]
    blocking = [f for f in findings if f.severity in blocking_severities(protected=protected)]
    if blocking:
        listing = "; ".join(f"{f.location} [{f.rule}] {f.message}" for f in blocking[:5])
        raise ProblemsFound(
            f"lint found {len(blocking)} blocking finding(s) in pending migrations of {env_name}; "
            f"nothing was applied: {listing}",
            hint="fix them, or add '-- pgwarden:ignore RULE reason' above the statement "
            "(see `pgwarden lint --explain RULE`)",
            details={"findings": [f"{f.location} [{f.rule}] {f.message}" for f in blocking]},
        )
    return [f"{f.location}: {f.severity} [{f.rule}] {f.message}" for f in findings if f.severity in REPORTED]
