"""pgwarden.toml (or ``[tool.pgwarden]`` in pyproject.toml) into validated objects.

Guarantees: every error names the file and the dotted key; ``${VAR}`` and
``${VAR:-default}`` are expanded from the process environment before validation;
unknown keys are rejected.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pgwarden.configfile import find_config
from pgwarden.errors import ConfigError
from pgwarden.units import parse_duration, parse_size

EMBEDDED = "embedded"
M = TypeVar("M", bound=BaseModel)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_STRAY_VAR = re.compile(r"\$\{[^}]{0,40}\}?")


class StrictModel(BaseModel):
    """Base of every config section: unknown keys rejected, no type coercion (``protected = "yes"`` is an error)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


ENV_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
MAX_TIMEOUT_SECONDS = 2_147_483.647  # PostgreSQL's limit for lock_timeout / statement_timeout (INT_MAX ms)
_URL_SCHEMES = ("postgresql://", "postgres://")


def _check_duration(value: str | None) -> str | None:
    if value is not None:
        parse_duration(value)
    return value


def _check_timeout(value: str | None) -> str | None:
    """A timeout sent to PostgreSQL: a duration above zero (0 would switch it off) within its range."""
    if value is not None:
        seconds = parse_duration(value)
        if seconds <= 0:
            raise ValueError(f"{value!r}: must be above zero (0 would turn the timeout off)")
        if seconds > MAX_TIMEOUT_SECONDS:
            raise ValueError(f"{value!r}: too long (at most {int(MAX_TIMEOUT_SECONDS)}s, about 24 days)")
    return value


def check_url(url: str) -> None:
    """ValueError unless ``url`` is ``embedded``, a postgresql:// URL or a key=value string libpq accepts."""
    from psycopg.conninfo import conninfo_to_dict

    from pgwarden.redact import redact

    if url == EMBEDDED:
        return
    if not url.strip():
        raise ValueError('empty URL (use "embedded" or a postgresql:// URL)')
    if "://" in url and not url.startswith(_URL_SCHEMES):
        raise ValueError(f"{redact(url)}: not a PostgreSQL URL (use postgresql://user@host:5432/dbname)")
    try:
        info = conninfo_to_dict(url)
    except Exception as exc:  # noqa: BLE001 - libpq's parse error, worded by libpq
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "cannot be parsed"
        raise ValueError(f"{redact(url)}: {redact(first)}") from None
    if any("@" in str(info.get(key) or "") for key in ("host", "hostaddr")):
        raise ValueError(f"{redact(url)}: more than one '@' (write an '@' inside the password as %40)")
    for port in str(info.get("port") or "").split(","):
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ValueError(f"{redact(url)}: port {port!r} is not a number from 1 to 65535")


class Environment(StrictModel):
    """One named target database."""

    url: str
    protected: bool = False
    allow_insecure: bool = False
    database: str = "app"
    lock_timeout: str | None = None
    pooler: Literal["none", "pgbouncer-transaction"] = "none"  # what ``url`` goes through
    direct_url: str | None = None  # the server itself, for pgwarden's sessions when ``url`` is a pooler

    _duration = field_validator("lock_timeout")(_check_timeout)

    @field_validator("url", "direct_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not _VAR.search(value):  # with a variable left, checked when the env is used
            check_url(value)
        return value

    @property
    def is_embedded(self) -> bool:
        return self.url == EMBEDDED


class MigrateSettings(StrictModel):
    lock_timeout: str = "2s"
    statement_timeout: str | None = None
    retries: int = Field(default=8, ge=0, le=100)
    retry_backoff: str = "500ms"
    retry_backoff_max: str = "10s"
    runner_lock_timeout: str = "10min"
    lint: bool = True

    _timeouts = field_validator("lock_timeout", "statement_timeout", "runner_lock_timeout")(_check_timeout)
    _durations = field_validator("retry_backoff", "retry_backoff_max")(_check_duration)


class LintSettings(StrictModel):
    disable: list[str] = Field(default_factory=list)
    severity: dict[str, Literal["error", "warning", "info"]] = Field(default_factory=dict)
    small_table_rows: int = Field(default=10_000, ge=0)
    small_table_size: str = "10MB"

    @field_validator("small_table_size")
    @classmethod
    def _size(cls, value: str) -> str:
        parse_size(value)
        return value


class DoctorSettings(StrictModel):
    """``[doctor]``: ``thresholds`` stays raw here; ``pgwarden.doctor.thresholds`` validates it."""

    thresholds: dict[str, float | int | str] = Field(default_factory=dict)
    checks_disabled: list[str] = Field(default_factory=list)


class _ConfigModel(StrictModel):
    migrations_dir: str = "migrations"
    migrations_format: Literal["pgwarden", "dbmate", "golang-migrate", "prisma", "drizzle", "flyway", "alembic"] = (
        "pgwarden"
    )
    seeds_dir: str = "seeds"
    default_env: str = "dev"
    scratch_url: str = EMBEDDED
    environments: dict[str, Environment] = Field(default_factory=dict)

    @field_validator("environments")
    @classmethod
    def _names(cls, value: dict[str, Environment]) -> dict[str, Environment]:
        for name in value:
            if not ENV_NAME.match(name):
                raise ValueError(f"{name!r}: an environment name may hold only letters, digits, '_' and '-'")
        return value

    migrate: MigrateSettings = Field(default_factory=MigrateSettings)
    lint: LintSettings = Field(default_factory=LintSettings)
    backup: dict[str, Any] = Field(default_factory=dict)  # raw: pgwarden.backup.settings validates
    partitions: list[dict[str, Any]] = Field(default_factory=list)  # raw: pgwarden.partition.spec validates
    partition: dict[str, Any] = Field(default_factory=dict)  # raw: pgwarden.partition.settings validates
    doctor: DoctorSettings = Field(default_factory=DoctorSettings)
    schedule: list[dict[str, Any]] = Field(default_factory=list)  # [[schedule]]: validated by pgwarden.agent.settings
    agent: dict[str, Any] = Field(default_factory=dict)  # [agent]: validated by pgwarden.agent.settings
    serve: dict[str, Any] = Field(default_factory=dict)  # [serve]: validated by pgwarden.serve.settings
    tools: dict[str, Any] = Field(default_factory=dict)  # raw: pgwarden.clients validates ([tools] bin_dir)
    fleet: dict[str, Any] = Field(default_factory=dict)  # raw: pgwarden.fleet.settings validates
    check: dict[str, Any] = Field(default_factory=dict)  # raw: validated by pgwarden.check.settings


@dataclass(frozen=True)
class Config:
    """A validated configuration and where it came from."""

    settings: _ConfigModel
    source: Path
    root: Path

    @property
    def migrations_path(self) -> Path:
        return self.root / self.settings.migrations_dir

    @property
    def seeds_path(self) -> Path:
        return self.root / self.settings.seeds_dir

    @property
    def state_path(self) -> Path:
        """Folder for pgwarden's local state (embedded servers): ``.pgwarden/`` in the project."""
        return self.root / ".pgwarden"

    def env_name(self, name: str | None) -> str:
        """The environment to use: the given name, ``$PGWARDEN_ENV``, or ``default_env``."""
        chosen = name or os.environ.get("PGWARDEN_ENV") or self.settings.default_env
        if chosen not in self.settings.environments:
            known = ", ".join(sorted(self.settings.environments)) or "none"
            raise ConfigError(f"{self.source}: environments.{chosen}: no such environment (known: {known})")
        return chosen

    def environment(self, name: str | None) -> tuple[str, Environment]:
        """The named environment (see :meth:`env_name`) and its settings."""
        chosen = self.env_name(name)
        env = self.settings.environments[chosen]
        for field_name, value in env.model_dump().items():
            if isinstance(value, str) and (missing := _VAR.search(value)):
                raise ConfigError(
                    f"{self.source}: environments.{chosen}.{field_name}: "
                    f"environment variable {missing.group(1)} is not set",
                    hint=f"export {missing.group(1)}=... (or write ${{{missing.group(1)}:-default}} "
                    f"in {self.source.name})",
                )
        try:
            check_url(env.url)
        except ValueError as exc:
            raise ConfigError(f"{self.source}: environments.{chosen}.url: {exc}") from None
        return chosen, env

    def lock_timeout(self, env: Environment) -> float:
        """Seconds of lock_timeout for statements run in ``env``."""
        return parse_duration(env.lock_timeout or self.settings.migrate.lock_timeout)


def _deferred(key: str) -> bool:
    # An environment's variables are needed only when that environment is used:
    # a developer without $DATABASE_URL can still work on dev.
    return key.startswith("environments.")


def expand_variables(value: Any, *, source: Path, key: str = "") -> Any:
    """Expand ``${VAR}`` / ``${VAR:-default}`` in every string; a missing variable names its key.

    Missing variables inside ``environments.*`` are left as written and reported
    by :meth:`Config.environment` when that environment is chosen.
    """
    if isinstance(value, dict):
        return {k: expand_variables(v, source=source, key=f"{key}.{k}" if key else k) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_variables(v, source=source, key=f"{key}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value
    stray = _STRAY_VAR.search(_VAR.sub("", value))
    if stray:
        raise ConfigError(
            f"{source}: {key}: {stray.group(0)!r} is not a variable reference "
            "(write ${NAME} or ${NAME:-default}; NAME is letters, digits and _)"
        )

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        if _deferred(key):
            return match.group(0)
        raise ConfigError(
            f"{source}: {key}: environment variable {name} is not set",
            hint=f"export {name}=... (or write ${{{name}:-default}} in {source.name})",
        )

    return _VAR.sub(replace, value)


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_config(path: Path | None = None) -> Config:
    """Read, expand and validate the configuration; raises ConfigError naming file and key."""
    source = (path or find_config()).resolve()
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{source}: is a folder, not a configuration file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}: not valid TOML: nested too deeply") from None
    if "\x00" in str(data):
        raise ConfigError(f"{source}: contains a NUL character")
    if source.name == "pyproject.toml":
        data = data.get("tool", {}).get("pgwarden")
        if data is None:
            raise ConfigError(f"{source}: no [tool.pgwarden] table")
    data = expand_variables(data, source=source)
    settings = validate_section(_ConfigModel, data, source=source)
    return Config(settings=settings, source=source, root=source.parent)


def validate_section(model: type[M], data: Any, *, source: Path, key: str = "") -> M:
    """``data`` validated as ``model``; a ConfigError names ``source`` and the dotted key under ``key``.

    The one way a section is validated, here for the core settings and by each domain
    package for its own raw section (``partitions``, ``doctor.thresholds``...).
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        inner = _format_loc(first["loc"])
        where = f"{key}{'' if not inner or inner.startswith('[') or not key else '.'}{inner}" or "(top level)"
        message = first["msg"].removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{source}: {where}: {message}{more}") from None
