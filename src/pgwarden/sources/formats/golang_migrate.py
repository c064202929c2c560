"""golang-migrate: ``<version>_<name>.up.sql`` and ``<version>_<name>.down.sql``.

Each file runs as one multi-statement query (PostgreSQL runs it as one implicit transaction).
"""

from __future__ import annotations

import re
from pathlib import Path

from pgwarden.errors import MigrationFileError
from pgwarden.sources.formats._common import irreversible, migration, read_text, section
from pgwarden.sources.model import MigrationFile

PATTERN = re.compile(r"^(?P<version>\d+)_(?P<name>.+)\.(?P<direction>up|down)\.sql$")


def read(directory: Path) -> list[MigrationFile]:
    """The migrations of ``directory``: an up file each, with its down file when present."""
    ups: dict[str, tuple[str, Path]] = {}
    downs: dict[str, Path] = {}
    for path in sorted(directory.glob("*.sql")):
        match = PATTERN.match(path.name)
        if not match:
            raise MigrationFileError(f"{path}: not a golang-migrate file name (<version>_<name>.up.sql / .down.sql)")
        if match["direction"] == "up":
            ups[match["version"]] = (match["name"], path)
        else:
            downs[match["version"]] = path
    for version, path in downs.items():
        if version not in ups:
            raise MigrationFileError(f"{path}: down migration without its up file")
    out = []
    for version, (name, path) in ups.items():
        down_path = downs.get(version)
        down = section("down", read_text(down_path), down_path) if down_path else irreversible()
        out.append(migration(version, name, path, read_text(path), down))
    return out
