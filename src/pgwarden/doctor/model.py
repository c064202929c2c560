"""Result types of the health checks: what one check found and the report of a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Status = Literal["ok", "warn", "fail", "error"]
STATUS_ORDER: dict[str, int] = {"ok": 0, "warn": 1, "fail": 2, "error": 3}


@dataclass
class Outcome:
    """What a check function returns: its verdict, the rows behind it and how to fix it.

    ``fix`` holds SQL statements (ending with ``;``) or shell commands and steps,
    in the order to run them.
    """

    status: Status
    summary: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    fix: list[str] = field(default_factory=list)


def ok(summary: str, evidence: list[dict[str, Any]] | None = None) -> Outcome:
    """An ``ok`` outcome (evidence may still be informative, e.g. the largest tables)."""
    return Outcome("ok", summary, evidence or [])


@dataclass
class CheckResult:
    """One check's outcome in a report: name, status (ok, warn, fail, error), why it matters, evidence, fix."""

    name: str
    category: str
    status: Status
    summary: str
    why: str
    evidence: list[dict[str, Any]]
    fix: list[str]
    seconds: float


@dataclass
class DoctorReport:
    """Every check run against one database; ``exit_code`` is 1 when any check failed or errored."""

    env: str | None
    database: str
    server_version: str
    started_at: datetime
    seconds: float
    checks: list[CheckResult]
    counts: dict[str, int]
    exit_code: int

    def by_name(self, name: str) -> CheckResult:
        """The result of check ``name`` (KeyError when it did not run)."""
        for result in self.checks:
            if result.name == name:
                return result
        raise KeyError(name)
