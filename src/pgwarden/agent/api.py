"""The public functions of the agent (what ``pgwarden agent`` calls).

- :func:`run_once` runs what is due and returns (``agent --once``, for cron and CI).
- :func:`run` runs until SIGTERM (``agent``).
- :func:`status` lists every schedule with its last run, last success and next run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pgwarden.agent import cron
from pgwarden.agent.runner import Agent, Clock, PassResult, RunRecord
from pgwarden.agent.settings import AgentConfig, Schedule, load
from pgwarden.agent.store import Run, Store
from pgwarden.errors import BadInput

if TYPE_CHECKING:
    from pgwarden.config import Config

__all__ = [
    "Agent",
    "AgentConfig",
    "Clock",
    "PassResult",
    "RunRecord",
    "Schedule",
    "ScheduleStatus",
    "StatusResult",
    "agent_for",
    "load",
    "run",
    "run_once",
    "status",
]


def agent_for(config: Config, envs: list[str] | None = None, *, clock: Clock | None = None) -> Agent:
    """An :class:`Agent` for ``envs`` (every scheduled environment by default); BadInput when nothing is scheduled."""
    agent_config = load(config)
    if not agent_config.schedules:
        raise BadInput(
            f"{config.source}: no [[schedule]] entries",
            hint='add one, e.g. [[schedule]] task = "backup" env = "prod" cron = "0 3 * * *"',
        )
    for env in envs or []:
        if env not in agent_config.envs:
            raise BadInput(f"{config.source}: no [[schedule]] for environment {env!r}")
    for env in envs or agent_config.envs:
        config.environment(env)  # a missing ${VAR} in a scheduled environment stops the agent at start (exit 2)
    return Agent(config, agent_config, clock=clock, envs=envs)


def run_once(
    config: Config, envs: list[str] | None = None, *, clock: Clock | None = None, lock_wait: float = 0.0
) -> PassResult:
    """Run every due slot once (see :mod:`pgwarden.agent.runner` for the guarantees) and return."""
    return agent_for(config, envs, clock=clock).run_once(lock_wait=lock_wait)


def run(config: Config, envs: list[str] | None = None, *, on_pass: Callable[[PassResult], None] | None = None) -> None:
    """Run the schedules until SIGTERM or SIGINT; a running task finishes or is cleanly abandoned."""
    agent_for(config, envs).run_forever(on_pass=on_pass)


@dataclass(frozen=True)
class ScheduleStatus:
    schedule: str
    task: str
    env: str
    cron: str
    timezone: str
    last_run: Run | None
    last_success: datetime | None
    next_run: datetime
    overdue: bool  # no success for more than twice the interval (the dead-man condition)


@dataclass(frozen=True)
class StatusResult:
    store: str
    schedules: list[ScheduleStatus]


def status(config: Config, *, now: datetime | None = None) -> StatusResult:
    """Every schedule with its last run, last success and next run (reads the history file only)."""
    agent_config = load(config)
    store = Store.of_project(config.state_path)
    moment = now or datetime.now(UTC)
    out: list[ScheduleStatus] = []
    for s in agent_config.schedules:
        last = store.last_run(s.id, final=True)
        success = store.last_run(s.id, outcome="ok")
        since = store.healthy_since(s.id)
        limit = 2 * cron.interval(s.cron, agent_config.zone, moment)
        out.append(
            ScheduleStatus(
                s.id,
                s.task,
                s.env,
                s.cron,
                agent_config.settings.timezone,
                last,
                success.finished_at if success else None,
                cron.next_slot(s.cron, agent_config.zone, moment),
                since is not None and moment - since > limit,
            )
        )
    return StatusResult(str(store.path), out)
