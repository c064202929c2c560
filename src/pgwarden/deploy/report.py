"""What a deploy did, step by step, and how to go back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pgwarden.errors import PgwardenError, Refused

StepOutcome = Literal["ok", "failed", "refused", "skipped", "would run"]
DeployOutcome = Literal["deployed", "up to date", "dry run", "refused", "failed"]


@dataclass
class DeployStep:
    """One step of the pipeline: its name, outcome, duration and a one-line detail."""

    name: str
    outcome: StepOutcome
    seconds: float
    detail: str


@dataclass
class DeployReport:
    """The whole deploy: every step, the versions before and after, the backup and the ways back."""

    env: str
    protected: bool
    dry_run: bool
    outcome: DeployOutcome = "deployed"
    database: str | None = None
    server_version: str | None = None
    steps: list[DeployStep] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    irreversible: list[str] = field(default_factory=list)
    partial: dict[str, str] = field(default_factory=dict)
    """Migrations that stopped part-way (transaction:false), with how many statements ran."""
    left_behind: list[str] = field(default_factory=list)
    """Objects and runs the stopped deploy left: INVALID indexes, migrations stopped part-way."""
    post_checks_ran: bool = False
    what_happened: str | None = None
    invalid_before: list[str] = field(default_factory=list)
    _schema_before: Any = field(default=None, repr=False)
    """The catalog snapshot taken at preflight (compared with the schema after a stop)."""
    version_before: str | None = None
    version_after: str | None = None
    backup_id: str | None = None
    ways_back: list[str] = field(default_factory=list)
    """Commands, each runnable as printed, that lead back to the schema before the deploy."""
    error: dict[str, Any] | None = None
    exit_code: int = 0
    recorded: bool = False

    def fail(self, exc: PgwardenError) -> None:
        """Mark the deploy as stopped by ``exc`` (refused when a safety guard said no, failed otherwise)."""
        self.error = exc.to_dict()
        self.exit_code = exc.exit_code
        self.outcome = "refused" if isinstance(exc, Refused) else "failed"


class DeployStopped(PgwardenError):
    """A deploy stopped; carries its report. The exit code is that of the cause.

    The message says what stopped it and what actually happened; the hint lists the
    ways back, one command per line (the CLI prints each as a ``next:`` line).
    """

    def __init__(self, report: DeployReport, cause: PgwardenError):
        happened = f" ({report.what_happened})" if report.what_happened else ""
        hint = "\n".join(report.ways_back) if report.ways_back else cause.hint
        super().__init__(f"deploy to {report.env}: {cause.message}{happened}", hint=hint)
        self.exit_code = cause.exit_code
        self.report = report
        self.cause = cause

    def to_dict(self) -> dict[str, Any]:
        """The whole report with the error (what ``deploy --json`` prints)."""
        from pgwarden.output import to_jsonable

        doc = to_jsonable(self.report)
        assert isinstance(doc, dict)
        return doc
