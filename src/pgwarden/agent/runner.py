"""The agent loop: which slots are due, who runs them, retries, notifications, dead-man alerts.

Guarantees (each stated once, here):

* **One agent per database.** Before running anything for an environment the agent takes the session
  advisory lock ``pgwarden:agent`` on a dedicated idle connection to it (:func:`pgwarden.db.advisory_lock`);
  a second agent skips that environment (``--once``) or waits as a standby (long-running mode).
* **Each slot runs at most once.** The slot is claimed in the run history (UNIQUE (schedule, slot))
  before the task starts, so a second agent sharing the project never repeats it.
* **Missed runs** follow :mod:`pgwarden.agent.cron` (skip by default, ``catch-up = N``).
* **Overlap = forbid.** A slot whose schedule still has a running run is recorded as skipped.
* **Retries.** A failed attempt is retried ``retries`` times, waiting ``retry_backoff`` doubled each time.
* **Stop.** SIGTERM lets the running task finish, except a backup, which discards its staging folder
  (never listed) and is recorded as ``abandoned``; then the agent exits.
* **Reporting.** Every run is a row in the history and an event in ``pgwarden.events`` of its database;
  a failed run and the first success after failures are POSTed to the webhook; a schedule without a
  success for twice its interval raises one dead-man alert until it succeeds again.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

from pgwarden.agent import cron
from pgwarden.agent.notify import Notification, send
from pgwarden.agent.settings import AgentConfig, Schedule
from pgwarden.agent.store import Store
from pgwarden.agent.tasks import TASKS, TaskContext, TaskResult
from pgwarden.db import redact
from pgwarden.errors import LockTimeoutGaveUp, PgwardenError, Unreachable

if TYPE_CHECKING:
    import psycopg

    from pgwarden.config import Config

LOCK_NAME = "pgwarden:agent"
_MAX_BACKOFF = 3600.0


class Clock:
    """Real time; tests pass their own with the same two methods."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class RunRecord:
    """One run as this agent saw it."""

    schedule: str
    task: str
    env: str
    slot: datetime
    outcome: str
    attempts: int
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    notified: str | None = None


@dataclass
class PassResult:
    """What one pass over the schedules did."""

    runs: list[RunRecord] = field(default_factory=list)
    skipped_envs: dict[str, str] = field(default_factory=dict)
    alerts: list[str] = field(default_factory=list)
    stopped: bool = False

    @property
    def failed(self) -> bool:
        return any(r.outcome in ("failed", "abandoned") for r in self.runs)


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, PgwardenError):
        return redact(exc.message)
    text = str(exc).strip().splitlines()
    return redact(f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__)


class Agent:
    """Runs the schedules of the given environments (all scheduled ones by default)."""

    def __init__(
        self,
        config: Config,
        agent_config: AgentConfig,
        *,
        clock: Clock | None = None,
        store: Store | None = None,
        envs: list[str] | None = None,
        record_event: Callable[[str, str, str, str, dict[str, Any]], bool] | None = None,
    ):
        self.config = config
        self.agent_config = agent_config
        self.clock = clock or Clock()
        self.store = store or Store.of_project(config.state_path)
        self.envs = envs or agent_config.envs
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.stop_requested = False
        self._record_event = record_event or _record_event
        self._urls: dict[str, str] = {}

    # -- one environment -----------------------------------------------------------------------------
    def _url(self, env: str) -> str:
        if env not in self._urls:
            from pgwarden.db import Intent, resolve_target

            self._urls[env] = resolve_target(self.config, env, intent=Intent.READ).url
        return self._urls[env]

    def run_due(self, env: str) -> list[RunRecord]:
        """Run every due slot of ``env``'s schedules; the caller holds ``env``'s agent lock."""
        out: list[RunRecord] = []
        for schedule in self.agent_config.for_env(env):
            now = self.clock.now()
            for slot in cron.due_slots(
                schedule.cron, self.agent_config.zone, now, self.store.last_slot(schedule.id), schedule.catch_up
            ):
                if self.stop_requested:
                    return out
                if self.store.running(schedule.id):
                    self.store.skip(
                        schedule.id,
                        schedule.task,
                        env,
                        slot,
                        now,
                        self.name,
                        "the previous run is still running (overlap = forbid)",
                    )
                    continue
                run_id = self.store.claim(schedule.id, schedule.task, env, slot, now, self.name)
                if run_id is not None:
                    out.append(self._execute(schedule, slot, run_id))
        return out

    def _execute(self, schedule: Schedule, slot: datetime, run_id: int) -> RunRecord:
        previous = self.store.last_run(schedule.id, final=True)
        result = TaskResult(False, "not run")
        attempts = 0
        try:
            for attempt in range(schedule.retries + 1):
                attempts += 1
                self.store.attempt(run_id)
                try:
                    ctx = TaskContext(self.config, schedule.env, self.clock.now(), self.store)
                    result = TASKS[schedule.task](ctx)
                except (PgwardenError, Exception) as exc:  # a task's failure is recorded, never fatal
                    result = TaskResult(False, _first_line(exc))
                if result.ok or self.stop_requested or attempt == schedule.retries:
                    break
                self._sleep(min(schedule.backoff_seconds * 2**attempt, _MAX_BACKOFF))
        except KeyboardInterrupt:
            record = RunRecord(
                schedule.id,
                schedule.task,
                schedule.env,
                slot,
                "abandoned",
                attempts,
                "stopped (SIGTERM) before it finished; nothing half-written was kept",
            )
            self._close(run_id, record)
            self.stop_requested = True
            return record
        outcome = "ok" if result.ok else "failed"
        record = RunRecord(
            schedule.id, schedule.task, schedule.env, slot, outcome, attempts, result.summary, result.details
        )
        if not result.ok:
            record.notified = self._notify("failure", schedule, result.summary)
        elif previous is not None and previous.outcome in ("failed", "abandoned"):
            record.notified = self._notify("recovery", schedule, result.summary)
        if result.ok:
            self.store.clear_alert(schedule.id)
        self._close(run_id, record)
        return record

    def _close(self, run_id: int, record: RunRecord) -> None:
        details = {**record.details, "notified": record.notified} if record.notified else record.details
        self.store.finish(run_id, record.outcome, self.clock.now(), record.summary, details)
        with suppress(PgwardenError):
            self._record_event(
                self._url(record.env),
                "agent.run",
                f"{record.task} {record.slot.isoformat()}",
                record.outcome,
                {"schedule": record.schedule, "attempts": record.attempts, "summary": record.summary, **record.details},
            )

    def _notify(self, kind: str, schedule: Schedule, summary: str) -> str:
        note = Notification(kind, schedule.id, schedule.task, schedule.env, summary, self.clock.now())
        return send(self.agent_config.settings.webhook, note)

    def _sleep(self, seconds: float) -> None:
        """Sleep on the agent's clock in steps of at most 1 s, waking early when asked to stop."""
        left = seconds
        while left > 0 and not self.stop_requested:
            step = min(left, 1.0)
            self.clock.sleep(step)
            left -= step

    def _unreachable(self, env: str, why: str) -> list[RunRecord]:
        """Record the due slots of an environment that cannot be reached as failed (and notify)."""
        out: list[RunRecord] = []
        now = self.clock.now()
        for schedule in self.agent_config.for_env(env):
            for slot in cron.due_slots(
                schedule.cron, self.agent_config.zone, now, self.store.last_slot(schedule.id), schedule.catch_up
            ):
                run_id = self.store.claim(schedule.id, schedule.task, env, slot, now, self.name)
                if run_id is None:
                    continue
                record = RunRecord(schedule.id, schedule.task, env, slot, "failed", 0, why)
                record.notified = self._notify("failure", schedule, why)
                self.store.finish(run_id, "failed", now, why, {"notified": record.notified})
                out.append(record)
        return out

    # -- passes --------------------------------------------------------------------------------------
    def dead_man(self) -> list[str]:
        """Alert (once) for every schedule whose last success is older than twice its interval."""
        out: list[str] = []
        now = self.clock.now()
        for schedule in self.agent_config.schedules:
            if schedule.env not in self.envs:
                continue
            since = self.store.healthy_since(schedule.id)
            if since is None:
                continue
            limit = 2 * cron.interval(schedule.cron, self.agent_config.zone, now)
            if now - since <= limit or self.store.alert_sent(schedule.id, "dead-man"):
                continue
            summary = f"no successful run since {since:%Y-%m-%d %H:%M} UTC (more than twice the interval, {limit})"
            self._notify("dead-man", schedule, summary)
            self.store.mark_alert(schedule.id, "dead-man", now)
            out.append(f"{schedule.id}: {summary}")
        return out

    def prune_history(self) -> int:
        s = self.agent_config.settings
        return self.store.prune(
            self.clock.now(),
            history_days=s.history_days,
            history_runs=s.history_runs,
            snapshots_days=s.snapshots_days,
            snapshots_max=s.snapshots_max,
        )

    def run_once(self, *, lock_wait: float = 0.0) -> PassResult:
        """``agent --once``: run what is due in every environment whose agent lock is free, then return."""
        result = PassResult()
        previous = self._install_stop_handler()
        try:
            self._once(result, lock_wait)
        finally:
            self._restore_handlers(previous)
        result.stopped = self.stop_requested
        return result

    def _once(self, result: PassResult, lock_wait: float) -> None:
        from pgwarden.db import advisory_lock

        for env in self.envs:
            if self.stop_requested:
                break
            try:
                url = self._url(env)
                with advisory_lock(url, LOCK_NAME, timeout=lock_wait):
                    self.store.abandon_running(env, self.clock.now())
                    result.runs += self.run_due(env)
            except LockTimeoutGaveUp:
                result.skipped_envs[env] = "another pgwarden agent runs this database"
            except Unreachable as exc:
                result.skipped_envs[env] = redact(exc.message)
                result.runs += self._unreachable(env, redact(exc.message))
        result.alerts = self.dead_man()
        self.prune_history()

    def run_forever(self, *, on_pass: Callable[[PassResult], None] | None = None, max_idle: float = 60.0) -> None:
        """Hold each environment's agent lock (standby while another agent holds it) and run slots as they fall
        due, until SIGTERM/SIGINT or :attr:`stop_requested`."""
        held: dict[str, tuple[ExitStack, psycopg.Connection[Any]]] = {}
        previous = self._install_stop_handler()
        try:
            while not self.stop_requested:
                result = PassResult()
                for env in self.envs:
                    try:
                        conn = self._hold(env, held)
                    except LockTimeoutGaveUp:
                        result.skipped_envs[env] = "standby: another pgwarden agent runs this database"
                        continue
                    except Unreachable as exc:
                        result.skipped_envs[env] = redact(exc.message)
                        result.runs += self._unreachable(env, redact(exc.message))
                        continue
                    if conn is not None:
                        result.runs += self.run_due(env)
                result.alerts = self.dead_man()
                self.prune_history()
                if on_pass:
                    on_pass(result)
                self._sleep(self._until_next(max_idle))
        finally:
            for stack, _conn in held.values():
                with suppress(Exception):
                    stack.close()
            self._restore_handlers(previous)

    def _hold(
        self, env: str, held: dict[str, tuple[ExitStack, psycopg.Connection[Any]]]
    ) -> psycopg.Connection[Any] | None:
        from pgwarden.db import advisory_lock

        if env in held:
            stack, conn = held[env]
            try:
                conn.execute("SELECT 1")  # the lock lives as long as this session
                return conn
            except Exception:
                with suppress(Exception):
                    stack.close()
                del held[env]
        stack = ExitStack()
        conn = stack.enter_context(advisory_lock(self._url(env), LOCK_NAME, timeout=0.0))
        held[env] = (stack, conn)
        self.store.abandon_running(env, self.clock.now())
        return conn

    def _until_next(self, max_idle: float) -> float:
        now = self.clock.now()
        nexts = [
            cron.next_slot(s.cron, self.agent_config.zone, now)
            for s in self.agent_config.schedules
            if s.env in self.envs
        ]
        soonest = min(nexts, default=now + timedelta(seconds=max_idle))
        return max(0.2, min(max_idle, (soonest - now).total_seconds() + 0.05))

    def _install_stop_handler(self) -> tuple[Any, Any] | None:
        """SIGTERM and SIGINT ask the agent to stop after the running task (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            return None

        def stop(signum: int, frame: FrameType | None) -> None:
            self.stop_requested = True

        return signal.signal(signal.SIGTERM, stop), signal.signal(signal.SIGINT, stop)

    @staticmethod
    def _restore_handlers(previous: tuple[Any, Any] | None) -> None:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous[0])
            signal.signal(signal.SIGINT, previous[1])


def _record_event(url: str, kind: str, what: str, outcome: str, details: dict[str, Any]) -> bool:
    """Best-effort event in ``pgwarden.events`` (and the project's journal); False when it could not be written."""
    import psycopg

    from pgwarden.db import connect
    from pgwarden.events import record

    try:
        with connect(url) as conn:
            record(conn, kind, what, outcome, details)
        return True
    except (psycopg.Error, PgwardenError):
        return False
