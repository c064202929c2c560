"""Comparing migration files with the recorded history: status and what to run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pgwarden.migrations.history import AppliedMigration
from pgwarden.sources import MigrationFile, version_key

State = Literal["applied", "pending", "changed", "missing", "failed", "interrupted", "baseline"]


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
    newest_applied = max((version_key(v) for v, r in applied.items() if r.status in ("applied", "baseline")),
                         default=None)
    by_version = {f.version: f for f in files}
    states: list[MigrationState] = []
    for version in sorted(set(by_version) | set(applied), key=version_key):
        file, row = by_version.get(version), applied.get(version)
        if row is None:
            assert file is not None
            if baseline is not None and version_key(version) <= version_key(baseline):
                states.append(MigrationState(version, file.name, "baseline", None, file.checksum, None, 0,
                                             len(file.up.statements), "covered by the baseline"))
                continue
            note = ("older than the newest applied migration (will be applied out of order)"
                    if newest_applied is not None and version_key(version) < newest_applied else "")
            states.append(MigrationState(version, file.name, "pending", None, file.checksum, None, 0,
                                         len(file.up.statements), note))
            continue
        name = file.name if file else row.name
        common = dict(version=version, name=name, applied_at=row.applied_at,
                      file_checksum=file.checksum if file else None, recorded_checksum=row.checksum,
                      statements_done=row.statements_done, statements_total=row.statements_total)
        if row.status == "baseline":
            states.append(MigrationState(state="baseline", note="baseline", **common))  # type: ignore[arg-type]
        elif file is None:
            states.append(MigrationState(state="missing", note="recorded but its file is gone",
                                         **common))  # type: ignore[arg-type]
        elif row.status in ("failed", "running"):
            state: State = "failed" if row.status == "failed" else "interrupted"
            note = (f"stopped after statement {row.statements_done} of {row.statements_total}"
                    + (f": {row.error}" if row.error else ""))
            states.append(MigrationState(state=state, note=note, **common))  # type: ignore[arg-type]
        elif row.checksum != file.checksum:
            states.append(MigrationState(state="changed", note="file edited after it was applied",
                                         **common))  # type: ignore[arg-type]
        else:
            states.append(MigrationState(state="applied", **common))  # type: ignore[arg-type]
    return states


def current_version(applied: dict[str, AppliedMigration]) -> str | None:
    """The newest fully applied (or baselined) version."""
    done = [v for v, r in applied.items() if r.status in ("applied", "baseline")]
    return max(done, key=version_key) if done else None
