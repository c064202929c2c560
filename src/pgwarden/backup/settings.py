"""The ``[backup]`` section of the configuration, validated by the backup package itself.

``config.py`` keeps the section raw; :func:`load` validates it here and every error
names the file and the dotted key (``pgwarden.toml: backup.keep.daily: ...``).

```toml
[backup]
dir = "backups"                               # local folder (also the cache of a remote store)
keep = { daily = 7, weekly = 4, monthly = 12 } # verified full backups only
archive_keep = "forever"                      # or a duration such as "400d"
safety_keep = { last = 3, days = 14 }          # safety and partial (tables) backups
store = "s3://bucket/prefix"                  # optional remote store (endpoint, region, keys from the environment)
keep_local = false                            # with a remote store: keep a local copy too
encrypt = "age"                               # optional encryption at rest
recipients = ["age1..."]                      # public keys that can decrypt
identity = "~/.config/pgwarden/backup.key"    # identity file used to decrypt (verify, restore)
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from pgwarden.config import Config, StrictModel, validate_section
from pgwarden.errors import ConfigError
from pgwarden.units import parse_duration, parse_size

FOREVER = "forever"


class Keep(StrictModel):
    """How many daily, weekly and monthly slots verified full backups fill."""

    daily: int = Field(default=7, ge=0)
    weekly: int = Field(default=4, ge=0)
    monthly: int = Field(default=12, ge=0)


class ShortKeep(StrictModel):
    """The short rule of safety and partial backups: the newest ``last`` and any younger than ``days``."""

    last: int = Field(default=3, ge=0)
    days: int = Field(default=14, ge=0)


class BackupSettings(StrictModel):
    """Every ``[backup]`` key with its default."""

    dir: str = "backups"
    keep: Keep = Field(default_factory=Keep)
    archive_keep: str = FOREVER
    safety_keep: ShortKeep = Field(default_factory=ShortKeep)
    format: Literal["custom", "directory"] = "custom"
    compress: Literal["zstd", "lz4", "gzip", "none"] | None = None
    exact_count_max_size: str = "100MB"  # tables larger than this get an estimated row count in the manifest
    store: str | None = None
    keep_local: bool = False
    encrypt: Literal["age"] | None = None
    recipients: list[str] = Field(default_factory=list)
    identity: str | None = None

    @field_validator("exact_count_max_size")
    @classmethod
    def _size(cls, value: str) -> str:
        parse_size(value)
        return value

    @field_validator("archive_keep")
    @classmethod
    def _archive_keep(cls, value: str) -> str:
        if value != FOREVER:
            parse_duration(value)
        return value

    @field_validator("store")
    @classmethod
    def _store(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("s3://"):
            raise ValueError(f"{value!r}: only s3://bucket/prefix stores are supported (local: use dir)")
        if value is not None and not value.removeprefix("s3://").split("/", 1)[0]:
            raise ValueError(f"{value!r}: no bucket name")
        return value

    @property
    def archive_keep_seconds(self) -> float | None:
        """How long archive backups are kept (None: forever)."""
        return None if self.archive_keep == FOREVER else parse_duration(self.archive_keep)


def parse(raw: dict[str, Any] | Any, *, source: Path | str) -> BackupSettings:
    """Validate a raw ``[backup]`` table; ConfigError (exit 2) names the file and the key."""
    if isinstance(raw, BackupSettings):
        return raw
    settings = validate_section(BackupSettings, raw or {}, source=Path(source), key="backup")
    if settings.encrypt == "age" and not settings.recipients:
        raise ConfigError(f'{source}: backup.recipients: encrypt = "age" needs at least one recipient (age1...)')
    if settings.encrypt and settings.format == "directory":
        raise ConfigError(f'{source}: backup.encrypt: encryption needs format = "custom" (one file)')
    return settings


def load(config: Config) -> BackupSettings:
    """The validated ``[backup]`` settings of ``config``."""
    return parse(config.settings.backup, source=config.source)


def backup_dir(config: Config) -> Path:
    """The local backup folder (``[backup] dir``, relative to the project)."""
    return config.root / load(config).dir
