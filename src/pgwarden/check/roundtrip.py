"""``pgwarden migrate test``: every migration up, down and up again on one scratch database.

Guarantees: runs only on a fresh scratch database (dropped afterwards), never on an
environment. Each migration whose sections are transactional is tested inside one
transaction: up, snapshot; a savepoint; down, snapshot, compare with the schema before
up; up again, snapshot, compare with the first; then back to the savepoint, so the
next migration starts from exactly what the up built, whatever the down did, and the
transaction commits (locks do not pile up over a long history). Schemas are compared
from the catalog by meaning (``pgwarden.schema``), not as text. With ``keep_going``
every migration is tested and every failure reported; otherwise the run stops at the
first. A ``transaction:false`` migration runs statement by statement outside a
transaction; after one of those fails the state is unknown and the rest are skipped.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg

from pgwarden import directives
from pgwarden.check.settings import CheckSettings, check_settings
from pgwarden.config import Config
from pgwarden.db import LockRetryPolicy
from pgwarden.errors import PgwardenError
from pgwarden.schema.diff import Difference, diff
from pgwarden.schema.snapshot import Snapshot, read_snapshot, session_options, take_snapshot
from pgwarden.server import scratch_database
from pgwarden.sources import MigrationFile, Section, discover
from pgwarden.sources.directives import directive_of, is_directive

Outcome = Literal[
    "ok",
    "down does not restore",
    "up again differs",
    "irreversible (down not tested)",
    "up failed",
    "down failed",
    "up again failed",
    "skipped",
]
FAILURES = frozenset({"down does not restore", "up again differs", "up failed", "down failed", "up again failed"})
_SAVEPOINT = "pgwarden_round_trip"


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
        return self.outcome not in FAILURES


@dataclass(frozen=True)
class RoundTripResult:
    """Every migration tested, in order; ``summary`` counts ok / failed / irreversible / skipped.

    Without ``keep_going`` the list ends at the first failure and the migrations not
    reached are counted as skipped.
    """

    migrations: list[RoundTrip]
    summary: dict[str, int]
    seconds: float

    @property
    def failed(self) -> RoundTrip | None:
        """The first failure (None when every migration passed)."""
        return next((m for m in self.migrations if not m.ok), None)

    @property
    def failures(self) -> list[RoundTrip]:
        """Every failed migration."""
        return [m for m in self.migrations if not m.ok]


class _SectionFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# A scratch database has no other sessions: directives get a short lock wait and few retries.
_SCRATCH_POLICY = LockRetryPolicy(lock_timeout=5.0, retries=2, backoff=0.1, backoff_max=1.0)


def _run(conn: psycopg.Connection[Any], migration: MigrationFile, section: Section) -> None:
    for statement in section.statements:
        where = f"{migration.path.name}:{statement.line}"
        try:
            if is_directive(statement):  # only in transaction:false sections; run by its domain package
                name, args = directive_of(statement)
                directives.run(conn, name, args, policy=_SCRATCH_POLICY, where=where)
            else:
                conn.execute(statement.sql)  # no parameters: the text is sent as written
        except PgwardenError as exc:
            raise _SectionFailed(f"{where}: {exc.message}") from None
        except psycopg.Error as exc:
            state = exc.sqlstate or "error"
            primary = exc.diag.message_primary or str(exc).strip().splitlines()[0]
            raise _SectionFailed(f"{where}: {state}: {primary}") from None


def _compare(before: Snapshot, after: Snapshot, settings: CheckSettings) -> list[Difference]:
    kept = [d for d in diff(before, after) if d.kind not in settings.ignore_kinds]
    return [d for d in kept if d.severity == "drift" or settings.strict_order]


class _Tester:
    """One scratch database, one connection, the snapshot before the next migration."""

    def __init__(self, conn: psycopg.Connection[Any], settings: CheckSettings) -> None:
        self.conn = conn
        self.settings = settings
        self.before = take_snapshot(conn)

    def _result(
        self,
        migration: MigrationFile,
        outcome: Outcome,
        started: float,
        differences: list[Difference] | None = None,
        error: str | None = None,
    ) -> RoundTrip:
        return RoundTrip(
            migration.version, migration.name, outcome, round(time.monotonic() - started, 3), differences or [], error
        )

    def in_transaction(self, migration: MigrationFile) -> RoundTrip:
        """Test ``migration`` in one transaction; the database ends as its up left it (or as before)."""
        conn, started = self.conn, time.monotonic()
        conn.autocommit = False
        try:
            _run(conn, migration, migration.up)
        except _SectionFailed as exc:
            conn.rollback()
            return self._result(migration, "up failed", started, error=exc.message)
        after_up = read_snapshot(conn)
        try:
            if migration.down is None or not migration.reversible:
                return self._result(migration, "irreversible (down not tested)", started)
            conn.execute(f"SAVEPOINT {_SAVEPOINT}")
            try:
                return self._down_and_up(migration, after_up, started)
            finally:
                conn.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
        finally:
            conn.commit()
            self.before = after_up

    def _down_and_up(self, migration: MigrationFile, after_up: Snapshot, started: float) -> RoundTrip:
        assert migration.down is not None
        try:
            _run(self.conn, migration, migration.down)
        except _SectionFailed as exc:
            return self._result(migration, "down failed", started, error=exc.message)
        differences = _compare(self.before, read_snapshot(self.conn), self.settings)
        if differences:
            return self._result(migration, "down does not restore", started, differences)
        try:
            _run(self.conn, migration, migration.up)
        except _SectionFailed as exc:
            return self._result(migration, "up again failed", started, error=exc.message)
        differences = _compare(after_up, read_snapshot(self.conn), self.settings)
        return self._result(migration, "up again differs" if differences else "ok", started, differences)

    def outside_transaction(self, migration: MigrationFile) -> tuple[RoundTrip, bool]:
        """Test a ``transaction:false`` migration statement by statement; False when the state is unknown."""
        conn, started = self.conn, time.monotonic()
        conn.autocommit = True
        steps: list[tuple[Section | None, Outcome, Snapshot | None]] = [
            (migration.up, "up failed", None),
            (migration.down, "down failed", self.before),
            (migration.up, "up again failed", None),
        ]
        if migration.down is None or not migration.reversible:
            steps = steps[:1]
        after_up: Snapshot | None = None
        for index, (section, failure, compare_with) in enumerate(steps):
            assert section is not None
            try:
                _run(conn, migration, section)
            except _SectionFailed as exc:
                return self._result(migration, failure, started, error=exc.message), False
            now = take_snapshot(conn)
            reference = compare_with if compare_with is not None else after_up
            if reference is not None:
                differences = _compare(reference, now, self.settings)
                if differences:
                    outcome: Outcome = "down does not restore" if index == 1 else "up again differs"
                    return self._result(migration, outcome, started, differences), False
            if after_up is None:
                after_up = now
        self.before = after_up or self.before
        outcome = "ok" if len(steps) > 1 else "irreversible (down not tested)"
        return self._result(migration, outcome, started), True


def _summary(results: list[RoundTrip], total: int) -> dict[str, int]:
    counts = Counter(
        "failed"
        if not r.ok
        else "irreversible"
        if r.outcome.startswith("irreversible")
        else "skipped"
        if r.outcome == "skipped"
        else "ok"
        for r in results
    )
    counts["skipped"] += total - len(results)
    return {key: counts[key] for key in ("ok", "failed", "irreversible", "skipped")}


def _transactional(migration: MigrationFile) -> bool:
    return migration.up.transactional and (migration.down is None or migration.down.transactional)


def round_trip(config: Config, *, keep_going: bool = False) -> RoundTripResult:
    """Round-trip each migration in version order on a scratch database (see the module docstring).

    With ``keep_going`` a failed down (or up again) does not stop the run: the next
    migration starts from what the failed one's up built. A failed up leaves the
    database without that migration, so the later ones are reported as skipped.
    """
    settings = check_settings(config)
    files = discover(config.migrations_path)
    results: list[RoundTrip] = []
    started = time.monotonic()
    with (
        scratch_database(config, "test") as url,
        psycopg.connect(url, autocommit=True, prepare_threshold=None, options=session_options()) as conn,
    ):
        tester = _Tester(conn, settings)
        for index, migration in enumerate(files):
            usable = True
            if _transactional(migration):
                result = tester.in_transaction(migration)
            else:
                result, usable = tester.outside_transaction(migration)
            results.append(result)
            if result.outcome == "up failed" or not usable:
                usable = False
            if not result.ok and not keep_going:
                break
            if not usable:
                results.extend(
                    RoundTrip(
                        m.version,
                        m.name,
                        "skipped",
                        0.0,
                        error=f"not tested: {migration.version} left the schema unknown",
                    )
                    for m in files[index + 1 :]
                )
                break
    return RoundTripResult(results, _summary(results, len(files)), round(time.monotonic() - started, 3))
