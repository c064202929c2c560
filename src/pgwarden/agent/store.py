"""Run history and doctor snapshots: one SQLite file per project, ``.pgwarden/agent.sqlite3``.

Why a local file and not a table in each database: the dashboard reads it without opening a
connection (it stays read-only and fast even when a database hangs), failures are recorded when a
database cannot be reached at all (that is when they matter), and the production database gets no
table that grows. Events of every run still go to ``pgwarden.events`` of the database concerned.

Guarantees:
* a slot is claimed once: ``claim`` inserts (schedule, slot) under a UNIQUE constraint, so two agents
  sharing the project folder never both run it;
* history is bounded: :meth:`Store.prune` keeps runs younger than ``history_days`` and at most
  ``history_runs`` per schedule (the newest run of a schedule always stays: it marks the last slot
  run); snapshots younger than ``snapshots_days``, at most ``snapshots_max`` per environment;
* concurrent writers wait (``busy_timeout``) instead of failing; WAL lets readers go on meanwhile.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

FILE_NAME = "agent.sqlite3"
RUNNING = "running"
FINAL = ("ok", "failed", "abandoned", "skipped")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    schedule TEXT NOT NULL,
    task TEXT NOT NULL,
    env TEXT NOT NULL,
    slot TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    summary TEXT NOT NULL DEFAULT '',
    details TEXT NOT NULL DEFAULT '{}',
    agent TEXT NOT NULL DEFAULT '',
    UNIQUE (schedule, slot)
);
CREATE INDEX IF NOT EXISTS runs_env ON runs (env, started_at);
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY,
    env TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_env ON snapshots (env, taken_at);
CREATE TABLE IF NOT EXISTS alerts (
    schedule TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
"""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class Run:
    """One run of a schedule's slot."""

    id: int
    schedule: str
    task: str
    env: str
    slot: datetime
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    attempts: int
    summary: str
    details: dict[str, Any]
    agent: str

    @property
    def seconds(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None


@dataclass(frozen=True)
class Snapshot:
    """What one ``doctor-snapshot`` run recorded for an environment."""

    env: str
    taken_at: datetime
    data: dict[str, Any]


def _run(row: sqlite3.Row) -> Run:
    return Run(
        row["id"],
        row["schedule"],
        row["task"],
        row["env"],
        datetime.fromisoformat(row["slot"]),
        datetime.fromisoformat(row["started_at"]),
        _time(row["finished_at"]),
        row["outcome"],
        row["attempts"],
        row["summary"],
        json.loads(row["details"]),
        row["agent"],
    )


class Store:
    """The agent's SQLite file (created on first write; reading a missing file gives empty answers)."""

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def of_project(cls, state_path: Path) -> Store:
        return cls(state_path / FILE_NAME)

    @contextmanager
    def _db(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        if write:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            conn = sqlite3.connect(":memory:")
            conn.executescript(_SCHEMA)
            conn.row_factory = sqlite3.Row
            try:
                yield conn
            finally:
                conn.close()
            return
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            if write:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(_SCHEMA)
            yield conn
        finally:
            conn.close()

    # -- runs ---------------------------------------------------------------------------------------
    def claim(self, schedule: str, task: str, env: str, slot: datetime, now: datetime, agent: str) -> int | None:
        """Record ``slot`` as running for this agent; None when any agent already claimed it."""
        with self._db(write=True) as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO runs (schedule, task, env, slot, started_at, outcome, agent) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (schedule, task, env, _iso(slot), _iso(now), RUNNING, agent),
            )
            return cur.lastrowid if cur.rowcount == 1 else None

    def skip(self, schedule: str, task: str, env: str, slot: datetime, now: datetime, agent: str, why: str) -> None:
        """Record a slot that was not run (overlap), so it is not due again."""
        with self._db(write=True) as db:
            db.execute(
                "INSERT OR IGNORE INTO runs (schedule, task, env, slot, started_at, finished_at, outcome, summary, "
                "agent) VALUES (?, ?, ?, ?, ?, ?, 'skipped', ?, ?)",
                (schedule, task, env, _iso(slot), _iso(now), _iso(now), why, agent),
            )

    def attempt(self, run_id: int) -> None:
        with self._db(write=True) as db:
            db.execute("UPDATE runs SET attempts = attempts + 1 WHERE id = ?", (run_id,))

    def finish(self, run_id: int, outcome: str, now: datetime, summary: str, details: dict[str, Any]) -> None:
        """Close a run with its outcome (one of ok, failed, abandoned)."""
        assert outcome in FINAL
        with self._db(write=True) as db:
            db.execute(
                "UPDATE runs SET outcome = ?, finished_at = ?, summary = ?, details = ? WHERE id = ?",
                (outcome, _iso(now), summary, json.dumps(details, default=str), run_id),
            )

    def abandon_running(self, env: str, now: datetime) -> int:
        """Mark ``env``'s runs still 'running' as abandoned (called by the agent that holds env's lock,
        so their agent is gone); returns how many."""
        with self._db(write=True) as db:
            cur = db.execute(
                "UPDATE runs SET outcome = 'abandoned', finished_at = ?, "
                "summary = 'the agent running it stopped' WHERE env = ? AND outcome = 'running'",
                (_iso(now), env),
            )
            return cur.rowcount

    def last_slot(self, schedule: str) -> datetime | None:
        with self._db() as db:
            row = db.execute("SELECT max(slot) FROM runs WHERE schedule = ?", (schedule,)).fetchone()
            return _time(row[0])

    def running(self, schedule: str) -> bool:
        with self._db() as db:
            return (
                db.execute("SELECT 1 FROM runs WHERE schedule = ? AND outcome = 'running'", (schedule,)).fetchone()
                is not None
            )

    def last_run(self, schedule: str, *, outcome: str | None = None, final: bool = False) -> Run | None:
        """The newest run of ``schedule`` (with that outcome, or finished with any final outcome but skipped)."""
        query = "SELECT * FROM runs WHERE schedule = ?"
        args: list[Any] = [schedule]
        if outcome:
            query += " AND outcome = ?"
            args.append(outcome)
        elif final:
            query += " AND outcome IN ('ok', 'failed', 'abandoned')"
        with self._db() as db:
            row = db.execute(query + " ORDER BY slot DESC, id DESC LIMIT 1", args).fetchone()
            return _run(row) if row else None

    def healthy_since(self, schedule: str) -> datetime | None:
        """When the last success finished, or (never a success) when the oldest run started; None if never run."""
        with self._db() as db:
            row = db.execute(
                "SELECT coalesce(max(finished_at) FILTER (WHERE outcome = 'ok'), min(started_at)) "
                "FROM runs WHERE schedule = ? AND outcome <> 'skipped'",
                (schedule,),
            ).fetchone()
            return _time(row[0])

    def runs(self, *, env: str | None = None, task: str | None = None, limit: int = 100) -> list[Run]:
        """Runs newest first, optionally of one environment and task."""
        query, args = "SELECT * FROM runs WHERE 1 = 1", []
        if env:
            query += " AND env = ?"
            args.append(env)
        if task:
            query += " AND task = ?"
            args.append(task)
        with self._db() as db:
            return [
                _run(r)
                for r in db.execute(query + " ORDER BY started_at DESC, id DESC LIMIT ?", [*args, limit]).fetchall()
            ]

    # -- alerts -------------------------------------------------------------------------------------
    def alert_sent(self, schedule: str, kind: str) -> datetime | None:
        with self._db() as db:
            row = db.execute("SELECT sent_at FROM alerts WHERE schedule = ? AND kind = ?", (schedule, kind)).fetchone()
            return _time(row[0]) if row else None

    def mark_alert(self, schedule: str, kind: str, now: datetime) -> None:
        with self._db(write=True) as db:
            db.execute(
                "INSERT INTO alerts (schedule, kind, sent_at) VALUES (?, ?, ?) ON CONFLICT (schedule) "
                "DO UPDATE SET kind = excluded.kind, sent_at = excluded.sent_at",
                (schedule, kind, _iso(now)),
            )

    def clear_alert(self, schedule: str) -> None:
        with self._db(write=True) as db:
            db.execute("DELETE FROM alerts WHERE schedule = ?", (schedule,))

    # -- snapshots ----------------------------------------------------------------------------------
    def add_snapshot(self, env: str, taken_at: datetime, data: dict[str, Any]) -> None:
        with self._db(write=True) as db:
            db.execute(
                "INSERT INTO snapshots (env, taken_at, data) VALUES (?, ?, ?)",
                (env, _iso(taken_at), json.dumps(data, default=str)),
            )

    def snapshots(self, env: str, *, limit: int = 500) -> list[Snapshot]:
        """``env``'s snapshots, oldest first (the newest ``limit``)."""
        with self._db() as db:
            rows = db.execute(
                "SELECT * FROM (SELECT env, taken_at, data FROM snapshots WHERE env = ? "
                "ORDER BY taken_at DESC LIMIT ?) ORDER BY taken_at",
                (env, limit),
            ).fetchall()
        return [Snapshot(r["env"], datetime.fromisoformat(r["taken_at"]), json.loads(r["data"])) for r in rows]

    # -- bounds -------------------------------------------------------------------------------------
    def prune(
        self, now: datetime, *, history_days: int, history_runs: int, snapshots_days: int, snapshots_max: int
    ) -> int:
        """Apply the size bounds (see the module docstring); returns the rows deleted. Running runs stay."""
        with self._db(write=True) as db:
            # the newest run of each schedule always stays: it says which slot ran last
            numbered = (
                "SELECT id FROM (SELECT id, started_at, row_number() OVER (PARTITION BY schedule "
                "ORDER BY slot DESC, id DESC) AS n FROM runs) WHERE n > 1 AND "
            )
            deleted = db.execute(
                f"DELETE FROM runs WHERE outcome <> 'running' AND id IN ({numbered} started_at < ?)",
                (_iso(now - timedelta(days=history_days)),),
            ).rowcount
            deleted += db.execute(
                f"DELETE FROM runs WHERE outcome <> 'running' AND id IN ({numbered} n > ?)", (history_runs,)
            ).rowcount
            deleted += db.execute(
                "DELETE FROM snapshots WHERE taken_at < ?", (_iso(now - timedelta(days=snapshots_days)),)
            ).rowcount
            deleted += db.execute(
                "DELETE FROM snapshots WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY env "
                "ORDER BY taken_at DESC, id DESC) AS n FROM snapshots) WHERE n > ?)",
                (snapshots_max,),
            ).rowcount
            return deleted
