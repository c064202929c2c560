"""Comparing migration files with the recorded history: status and what to run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pgwarden.migrations.history import AppliedMigration
from pgwarden.migrations.outcome import runs_alone
from pgwarden.sources import MigrationFile, version_key

State = Literal["applied", "pending", "changed", "missing", "failed", "interrupted", "reverting", "baseline"]

PROBLEM_STATES: frozenset[State] = frozenset({"changed", "missing", "failed", "interrupted", "reverting"})
"""States that need a person: ``migrate status`` exits 1, doctor fails, deploy reports them. The one list."""

RESUMABLE_STATES: frozenset[State] = frozenset({"failed", "interrupted"})
"""Stopped part-way; the next ``migrate up`` resumes them (after the checks of :mod:`commands`)."""


TO_APPLY_STATES: frozenset[State] = frozenset({"pending", "failed", "interrupted"})
"""What ``migrate up`` (and deploy) will run."""


@dataclass(frozen=True)
class MigrationState:
    """Where one migration stands: its file (if any) against its history row (if any)."""

    version: str
    name: str
    state: State
    applied_at: datetime | None
    file_checksum: str | None
    recorded_checksum: str | None
    statements_done: int
    statements_total: int
    note: str = ""


def baseline_version(applied: dict[str, AppliedMigration]) -> str | None:
    """The version adopted by ``migrate baseline``, if any."""
    baselines = [row.version for row in applied.values() if row.status == "baseline"]
    return max(baselines, key=version_key) if baselines else None


def compute_status(files: list[MigrationFile], applied: dict[str, AppliedMigration]) -> list[MigrationState]:
    """Every migration known from files or history, ordered by version."""
    baseline = baseline_version(applied)
    newest_applied = max(
        (version_key(v) for v, r in applied.items() if r.status in ("applied", "baseline")), default=None
    )
    by_version = {f.version: f for f in files}
    states: list[MigrationState] = []
    for version in sorted(set(by_version) | set(applied), key=version_key):
        file, row = by_version.get(version), applied.get(version)
        if row is None:
            assert file is not None
            if baseline is not None and version_key(version) <= version_key(baseline):
                states.append(
                    MigrationState(
                        version,
                        file.name,
                        "baseline",
                        None,
                        file.checksum,
                        None,
                        0,
                        len(file.up.statements),
                        "covered by the baseline",
                    )
                )
                continue
            note = (
                "older than the newest applied migration (will be applied out of order)"
                if newest_applied is not None and version_key(version) < newest_applied
                else ""
            )
            states.append(
                MigrationState(
                    version, file.name, "pending", None, file.checksum, None, 0, len(file.up.statements), note
                )
            )
            continue
        name = file.name if file else row.name
        common = dict(
            version=version,
            name=name,
            applied_at=row.applied_at,
            file_checksum=file.checksum if file else None,
            recorded_checksum=row.checksum,
            statements_done=row.statements_done,
            statements_total=row.statements_total,
        )
        if row.status == "baseline":
            states.append(MigrationState(state="baseline", note="baseline", **common))  # type: ignore[arg-type]
        elif file is None:
            states.append(MigrationState(state="missing", note="recorded but its file is gone", **common))  # type: ignore[arg-type]
        elif row.status in ("reverting", "revert_failed"):
            note = (
                f"down section stopped after statement {row.down_done} of {row.down_total}"
                + (f": {row.error}" if row.error else "")
                + f"; `pgwarden migrate down` resumes at statement {row.down_done + 1}"
            )
            states.append(MigrationState(state="reverting", note=note, **common))  # type: ignore[arg-type]
        elif row.status in ("failed", "running"):
            state: State = "failed" if row.status == "failed" else "interrupted"
            states.append(MigrationState(state=state, note=_stopped_note(row, file), **common))  # type: ignore[arg-type]
        elif row.checksum != file.checksum:
            states.append(MigrationState(state="changed", note="file edited after it was applied", **common))  # type: ignore[arg-type]
        else:
            states.append(MigrationState(state="applied", **common))  # type: ignore[arg-type]
    return states


def _stopped_note(row: AppliedMigration, file: MigrationFile) -> str:
    note = f"stopped after statement {row.statements_done} of {row.statements_total}"
    if row.status == "running" and row.statements_done < len(file.up.statements):
        statement = file.up.statements[row.statements_done]
        if runs_alone(statement):
            note += (
                f"; statement {statement.index} (line {statement.line}) was running when the runner stopped: "
                "`pgwarden migrate up` checks the catalog where it can tell; if it cannot, "
                f"say `pgwarden migrate repair --ran {row.version}` or `--not-ran {row.version}`"
            )
    return note + (f": {row.error}" if row.error else "")


def problems(states: list[MigrationState]) -> list[MigrationState]:
    """The states in :data:`PROBLEM_STATES`, in order."""
    return [s for s in states if s.state in PROBLEM_STATES]


def to_apply(states: list[MigrationState]) -> list[MigrationState]:
    """The states in :data:`TO_APPLY_STATES` (pending or resumable), in order."""
    return [s for s in states if s.state in TO_APPLY_STATES]


def current_version(applied: dict[str, AppliedMigration]) -> str | None:
    """The newest fully applied (or baselined) version."""
    done = [v for v, r in applied.items() if r.status in ("applied", "baseline")]
    return max(done, key=version_key) if done else None
