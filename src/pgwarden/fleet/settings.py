"""``[fleet]``: the databases a fleet run goes over.

```toml
[fleet]
targets_file = "fleet.txt"      # one target a line: "name url" or just a url (named after its database)
protected = false               # true: every target gets the protected-environment policy
parallel = 4                    # default --parallel
[[fleet.targets]]               # or inline
name = "shard-01"
url = "${SHARD_01_URL}"
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pgwarden.config import Config, expand_variables
from pgwarden.errors import ConfigError

_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


class _Target(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    url: str


class _Fleet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    targets: list[_Target] = Field(default_factory=list)
    targets_file: str | None = None
    protected: bool = False
    parallel: int = Field(default=4, ge=1, le=256)


@dataclass(frozen=True)
class Target:
    """One database of the fleet (its URL is never printed unredacted)."""

    name: str
    url: str


@dataclass(frozen=True)
class FleetSettings:
    targets: list[Target]
    protected: bool
    parallel: int


def load(config: Config) -> FleetSettings:
    """The validated ``[fleet]`` section; ConfigError naming the file, key or line."""
    raw: dict[str, Any] = config.settings.fleet
    try:
        fleet = _Fleet.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{config.source}: fleet.{key}: {first['msg']}") from None
    targets = [Target(t.name, t.url) for t in fleet.targets]
    if fleet.targets_file:
        targets += _read_file(config, fleet.targets_file)
    seen: set[str] = set()
    for target in targets:
        if not _NAME.match(target.name):
            raise ConfigError(f"{config.source}: fleet target {target.name!r}: names are letters, digits, _ and -")
        if target.name in seen:
            raise ConfigError(f"{config.source}: fleet target {target.name!r} given twice")
        seen.add(target.name)
    return FleetSettings(targets, fleet.protected, fleet.parallel)


def _read_file(config: Config, name: str) -> list[Target]:
    path = config.root / name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{config.source}: fleet.targets_file {name}: cannot read it ({exc})") from None
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) == 1:
            url = parts[0]
            database = url.rsplit("/", 1)[-1].split("?", 1)[0]
            target = Target(re.sub(r"[^A-Za-z0-9_-]", "_", database) or f"line{number}", url)
        elif len(parts) == 2:
            target = Target(parts[0], parts[1])
        else:
            raise ConfigError(f"{path}:{number}: write 'name url' or just a url")
        out.append(Target(target.name, str(expand_variables(target.url, source=path, key=f"line {number}"))))
    return out
