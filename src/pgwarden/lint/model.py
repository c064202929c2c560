"""The data the linter produces: rules' metadata, findings and the report.

Guarantees: every Finding names its rule, severity, file:line:column, the
statement, the lock it takes, what that lock blocks and a safe rewrite;
``LintReport.errors`` holds exactly the unsuppressed error findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
FAMILIES = ("index", "columns", "constraints", "destructive", "heavy", "partitions", "runtime", "hygiene", "locking")

# What each table lock mode blocks for the application (PostgreSQL "Explicit Locking", table 13.2).
LOCK_BLOCKS: dict[str, str] = {
    "ACCESS EXCLUSIVE": "reads and writes",
    "EXCLUSIVE": "writes",
    "SHARE ROW EXCLUSIVE": "writes",
    "SHARE": "writes",
    "SHARE UPDATE EXCLUSIVE": "nothing",
    "ROW EXCLUSIVE": "nothing",
    "ROW SHARE": "nothing",
    "ACCESS SHARE": "nothing",
    "": "nothing",
}
STRONG_LOCKS = frozenset({"ACCESS EXCLUSIVE", "EXCLUSIVE", "SHARE ROW EXCLUSIVE", "SHARE"})


def blocks_of(lock: str) -> str:
    """What a lock mode blocks: "reads and writes", "writes" or "nothing"."""
    return LOCK_BLOCKS.get(lock, "nothing")


@dataclass(frozen=True)
class Rule:
    """One rule's metadata: the single source for ``--explain`` and docs/lint-rules.md."""

    id: str
    family: str
    severity: Severity
    summary: str
    why: str
    bad: str
    safe: str
    lock: str = ""
    graded: bool = False  # severity follows the table's size (new: no finding, small: warning, large: error)
    needs_database: bool = False  # only reported with an estimate from a database (--env or --execute)


@dataclass
class Finding:
    """One problem found in one statement."""

    rule: str
    severity: Severity
    path: str
    line: int
    column: int
    statement: str
    message: str
    lock: str = ""
    blocks: str = "nothing"
    safe_rewrite: str = ""
    family: str = ""
    section: str = "up"
    suppressed: bool = False
    reason: str | None = None

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass
class ExecutionSummary:
    """What ``--execute`` did: where it ran, how long it took, what it could not run."""

    seconds: float
    replayed: int  # context (applied) files replayed to build the target's schema
    executed: int  # linted files applied on the scratch database
    server: str  # "embedded scratch database" or the scratch URL's host (never a password)
    missing_extensions: list[str] = field(default_factory=list)
    replay_failures: list[str] = field(default_factory=list)  # context statements that failed on the scratch


@dataclass
class LintReport:
    """Every finding of one lint run (suppressed ones included, flagged as such)."""

    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    statements: int = 0
    env: str | None = None
    selection: str | None = None  # which files are linted and which are context (see pgwarden.lint.select)
    context_files: list[str] = field(default_factory=list)
    execution: ExecutionSummary | None = None

    @property
    def active(self) -> list[Finding]:
        """The findings not suppressed by a ``-- pgwarden:ignore`` comment."""
        return [f for f in self.findings if not f.suppressed]

    @property
    def errors(self) -> list[Finding]:
        """Unsuppressed error findings (these make the CLI exit 1 and block ``migrate up`` when protected)."""
        return [f for f in self.findings if not f.suppressed and f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """Unsuppressed warning findings."""
        return [f for f in self.findings if not f.suppressed and f.severity == "warning"]

    @property
    def infos(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed and f.severity == "info"]

    @property
    def suppressed(self) -> list[Finding]:
        return [f for f in self.findings if f.suppressed]

    @property
    def exit_code(self) -> int:
        """1 when any unsuppressed error remains, else 0."""
        return 1 if self.errors else 0

    def summary(self) -> dict[str, int]:
        return {
            "files": len(self.files),
            "context_files": len(self.context_files),
            "statements": self.statements,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "info": len(self.infos),
            "suppressed": len(self.suppressed),
        }

    @staticmethod
    def path_of(path: Path | str) -> str:
        return str(path)
