"""Flyway: versioned ``V<version>__<description>.sql``, undo ``U<version>__<description>.sql``.

Versions are dotted (``1.1``; ``1_1`` means the same). Flyway's checksum is a CRC32 over the
file's lines (without line endings, BOM removed), stored as a signed 32-bit integer. Repeatable
``R__`` migrations are refused with a clear message: pgwarden does not run them yet.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

from pgwarden.errors import MigrationFileError
from pgwarden.sources.formats._common import irreversible, migration, read_text, section
from pgwarden.sources.model import MigrationFile

PATTERN = re.compile(r"^(?P<prefix>[VU])(?P<version>\d+(?:[._]\d+)*)__(?P<name>.+)\.sql$")


def checksum(text: str) -> int:
    """Flyway's checksum of a script: CRC32 over its lines, line endings excluded, as a signed int."""
    crc = 0
    for line in text.lstrip("\ufeff").splitlines():
        crc = zlib.crc32(line.encode("utf-8"), crc)
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def read(directory: Path) -> list[MigrationFile]:
    """The versioned migrations of ``directory``, each with its undo script when present."""
    versioned: dict[str, tuple[str, Path]] = {}
    undo: dict[str, Path] = {}
    for path in sorted(directory.glob("*.sql")):
        if path.name.startswith("R__"):
            raise MigrationFileError(
                f"{path}: repeatable Flyway migrations (R__) are not supported by pgwarden yet; "
                "run them with Flyway or move their SQL into a versioned migration"
            )
        match = PATTERN.match(path.name)
        if not match:
            raise MigrationFileError(f"{path}: not a Flyway file name (V<version>__<description>.sql)")
        version = match["version"].replace("_", ".")
        target = versioned if match["prefix"] == "V" else undo
        if version in target:
            raise MigrationFileError(f"{path}: version {version} given twice")
        if match["prefix"] == "V":
            versioned[version] = (match["name"], path)
        else:
            undo[version] = path
    out = []
    for version, (name, path) in versioned.items():
        undo_path = undo.get(version)
        down = section("down", read_text(undo_path), undo_path) if undo_path else irreversible()
        text = read_text(path)
        out.append(migration(version, name, path, text, down, checksum=str(checksum(text))))
    return out
