"""``pgwarden migrate test``: every migration up, down and up again on a scratch database.

Guarantees: runs only on a fresh scratch database (dropped afterwards), never on
an environment; schemas are compared from the catalog (``pgwarden.schema``),
not as text. Stops at the first migration whose down section does not restore
the schema exactly, or whose second up does not rebuild the same schema.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from pgwarden.config import Config
from pgwarden.errors import MigrationFailed
from pgwarden.migrations import commands
from pgwarden.schema.diff import Difference, diff
from pgwarden.schema.scratch import SCRATCH_ENV, with_scratch_env
from pgwarden.schema.snapshot import snapshot_of
from pgwarden.sources import MigrationFile, discover

Outcome = Literal["ok", "down does not restore", "up again differs", "irreversible (down not tested)",
                  "up failed", "down failed", "up again failed"]


@dataclass(frozen=True)
class RoundTrip:
    """How one migration behaved: up, down, up again."""

    version: str
    name: str
    outcome: Outcome
    seconds: float
    differences: list[Difference] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in ("ok", "irreversible (down not tested)")


@dataclass(frozen=True)
class RoundTripResult:
    """Every migration tested, in order, up to and including the first failure."""

    migrations: list[RoundTrip]

    @property
    def failed(self) -> RoundTrip | None:
        return next((m for m in self.migrations if not m.ok), None)


def _failed(migration: MigrationFile, outcome: Outcome, exc: MigrationFailed, started: float) -> RoundTrip:
    return RoundTrip(migration.version, migration.name, outcome, round(time.monotonic() - started, 3),
                     error=exc.message)


def round_trip(config: Config) -> RoundTripResult:
    """Round-trip each migration in version order on a scratch database; stop at the first mismatch.

    For each migration: up, snapshot; down, compare with the snapshot before up
    (expected = before, actual = after down); up again, compare with the first
    snapshot. A migration marked irreversible (or without a down section) is only
    applied. A section whose SQL fails ends the test with that error as the outcome.
    """
    from pgwarden.server import scratch_database

    files = discover(config.migrations_path)
    results: list[RoundTrip] = []
    with scratch_database(config, "test") as url:
        scratch = with_scratch_env(config, url)
        before = snapshot_of(url)
        for migration in files:
            started = time.monotonic()
            try:
                commands.up(scratch, SCRATCH_ENV, to=migration.version)
            except MigrationFailed as exc:
                results.append(_failed(migration, "up failed", exc, started))
                break
            after_up = snapshot_of(url)
            if not migration.reversible:
                results.append(RoundTrip(migration.version, migration.name, "irreversible (down not tested)",
                                         round(time.monotonic() - started, 3)))
                before = after_up
                continue
            try:
                commands.down(scratch, SCRATCH_ENV, steps=1)
            except MigrationFailed as exc:
                results.append(_failed(migration, "down failed", exc, started))
                break
            differences = diff(before, snapshot_of(url))
            if differences:
                results.append(RoundTrip(migration.version, migration.name, "down does not restore",
                                         round(time.monotonic() - started, 3), differences))
                break
            try:
                commands.up(scratch, SCRATCH_ENV, to=migration.version)
            except MigrationFailed as exc:
                results.append(_failed(migration, "up again failed", exc, started))
                break
            after_again = snapshot_of(url)
            differences = diff(after_up, after_again)
            outcome: Outcome = "up again differs" if differences else "ok"
            results.append(RoundTrip(migration.version, migration.name, outcome,
                                     round(time.monotonic() - started, 3), differences))
            if differences:
                break
            before = after_again
    return RoundTripResult(results)
