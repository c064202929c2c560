"""Finding the configuration file, without importing the configuration models (kept light for start-up)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, overload

from pgwarden.errors import ConfigError

CONFIG_FILE = "pgwarden.toml"


@overload
def find_config(start: Path | None = None, *, required: Literal[True] = True) -> Path: ...
@overload
def find_config(start: Path | None = None, *, required: bool) -> Path | None: ...


def find_config(start: Path | None = None, *, required: bool = True) -> Path | None:
    """The config file for ``start`` (default: cwd) or its nearest parent; ``$PGWARDEN_CONFIG`` wins.

    ``pgwarden.toml`` first, then a ``pyproject.toml`` with a ``[tool.pgwarden]`` table.
    When none is found: ConfigError (exit 2), or None when not ``required``.
    """
    explicit = os.environ.get("PGWARDEN_CONFIG")
    if explicit:
        return Path(explicit)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "[tool.pgwarden" in pyproject.read_text(encoding="utf-8", errors="replace"):
            return pyproject
    if not required:
        return None
    raise ConfigError(f"no {CONFIG_FILE} found in {here} or its parents", hint="run `pgwarden init` to create one")
