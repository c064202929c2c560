"""What a deploy did, step by step, and how to go back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pgwarden.errors import PgwardenError

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
    version_before: str | None = None
    version_after: str | None = None
    backup_id: str | None = None
    ways_back: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    exit_code: int = 0
    recorded: bool = False
    _exception: PgwardenError | None = field(default=None, repr=False)

    @property
    def exception(self) -> PgwardenError | None:
        """The error that stopped the deploy (None when it succeeded)."""
        return self._exception

    def fail(self, exc: PgwardenError) -> None:
        """Mark the deploy as stopped by ``exc`` (refused for exit 5, failed otherwise)."""
        self._exception = exc
        self.error = exc.to_dict()
        self.exit_code = exc.exit_code
        self.outcome = "refused" if exc.exit_code == 5 else "failed"
