"""``[agent]`` and ``[[schedule]]`` of the config, validated here (config.py keeps them as raw sections).

Guarantees: every error names the file and the key (``schedule[2].cron``); a cron expression and a time
zone are checked when the config is read, not when the task is first due.

```toml
[agent]
timezone = "Europe/Berlin"       # cron is read in this zone (default UTC)
webhook = "${AGENT_WEBHOOK_URL}" # POSTed on failure and recovery (generic JSON with a Slack-style "text")
history_days = 90                # run history older than this is deleted
history_runs = 500               # and at most this many runs are kept per schedule

[[schedule]]
task = "backup"                  # backup | verify | prune | partition-maintain | doctor-snapshot | check
env = "prod"
cron = "0 3 * * *"
catch-up = 0                     # missed runs to make up after an outage (0 = skip: run once)
retries = 2                      # further attempts after a failure, with backoff
retry_backoff = "30s"            # doubles per attempt
```
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pgwarden.errors import ConfigError
from pgwarden.units import parse_duration

if TYPE_CHECKING:
    from pgwarden.config import Config

TASKS = ("backup", "verify", "prune", "partition-maintain", "doctor-snapshot", "check")
TaskName = Literal["backup", "verify", "prune", "partition-maintain", "doctor-snapshot", "check"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AgentSettings(_Strict):
    timezone: str = "UTC"
    webhook: str | None = None
    history_days: int = Field(default=90, ge=1)
    history_runs: int = Field(default=500, ge=10)
    snapshots_days: int = Field(default=90, ge=1)
    snapshots_max: int = Field(default=2000, ge=10)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from None
        return value


class Schedule(_Strict):
    task: TaskName
    env: str
    cron: str
    name: str | None = None
    catch_up: int = Field(default=0, ge=0, le=100, alias="catch-up")
    overlap: Literal["forbid"] = "forbid"
    retries: int = Field(default=2, ge=0, le=10)
    retry_backoff: str = "30s"

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(f'{value!r} is not a cron expression (five fields, e.g. "0 3 * * *")')
        return value

    @field_validator("retry_backoff")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def id(self) -> str:
        """Stable identity in the run history: the name, or ``task@env cron``."""
        return self.name or f"{self.task}@{self.env} {self.cron}"

    @property
    def backoff_seconds(self) -> float:
        return parse_duration(self.retry_backoff)


@dataclass(frozen=True)
class AgentConfig:
    """The validated agent settings and schedules of one project."""

    settings: AgentSettings
    schedules: list[Schedule]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    def for_env(self, env: str) -> list[Schedule]:
        return [s for s in self.schedules if s.env == env]

    @property
    def envs(self) -> list[str]:
        return list(dict.fromkeys(s.env for s in self.schedules))


def load(config: Config) -> AgentConfig:
    """Validate ``[agent]`` and ``[[schedule]]``; ConfigError (exit 2) names file and key."""
    from pgwarden.config import validate_section

    settings = validate_section(AgentSettings, dict(config.settings.agent), source=config.source, key="agent")
    schedules: list[Schedule] = []
    seen: set[str] = set()
    for index, entry in enumerate(config.settings.schedule):
        schedule = validate_section(Schedule, entry, source=config.source, key=f"schedule[{index}]")
        if schedule.env not in config.settings.environments:
            known = ", ".join(sorted(config.settings.environments)) or "none"
            raise ConfigError(
                f"{config.source}: schedule[{index}].env: no such environment {schedule.env!r} (known: {known})"
            )
        if schedule.id in seen:
            raise ConfigError(
                f"{config.source}: schedule[{index}]: same task, env and cron as an earlier entry "
                "(give one of them a name)"
            )
        seen.add(schedule.id)
        schedules.append(schedule)
    return AgentConfig(settings, schedules)
