"""Which tool's migrations a project holds, told from the files that tool leaves (nothing is executed)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_DRIZZLE_OUT = re.compile(r"""\bout\s*:\s*["'`](?P<out>[^"'`]+)["'`]""")
_CANDIDATE_DIRS = ("migrations", "db/migrations", "db/migration", "sql", "src/main/resources/db/migration")


@dataclass(frozen=True)
class Detected:
    """A format, where its migrations are (relative to the project), and the file that told."""

    format: str
    migrations_dir: str
    evidence: str


def _any(folder: Path, pattern: str) -> bool:
    return folder.is_dir() and any(folder.glob(pattern))


def _has_dbmate_markers(folder: Path) -> bool:
    for path in sorted(folder.glob("*.sql"))[:20]:
        try:
            head = path.read_text(encoding="utf-8", errors="replace")[:4000]
        except OSError:
            continue
        if re.search(r"^--\s*migrate:up", head, re.M):
            return True
    return False


def detect(root: Path) -> Detected | None:
    """The migration tool of the project at ``root``, or None when nothing tells."""
    ini = root / "alembic.ini"
    if ini.is_file():
        match = re.search(
            r"^script_location\s*=\s*(?P<dir>.+)$", ini.read_text(encoding="utf-8", errors="replace"), re.M
        )
        folder = match["dir"].strip().replace("%(here)s/", "") if match else "alembic"
        return Detected("alembic", folder, "alembic.ini")
    if (root / "prisma" / "schema.prisma").is_file() or (root / "prisma" / "migrations").is_dir():
        return Detected("prisma", "prisma/migrations", "prisma/schema.prisma")
    for config in sorted(root.glob("drizzle.config.*")):
        match = _DRIZZLE_OUT.search(config.read_text(encoding="utf-8", errors="replace"))
        out = match["out"].removeprefix("./").rstrip("/") if match else "drizzle"
        return Detected("drizzle", out, config.name)
    for name in ("flyway.conf", "flyway.toml", "conf/flyway.conf"):
        if (root / name).is_file():
            folder = next((d for d in _CANDIDATE_DIRS if _any(root / d, "V*__*.sql")), "sql")
            return Detected("flyway", folder, name)
    for folder in _CANDIDATE_DIRS:
        path = root / folder
        if _any(path, "V*__*.sql"):
            return Detected("flyway", folder, f"{folder}/V*__*.sql")
        if _any(path, "*.up.sql"):
            return Detected("golang-migrate", folder, f"{folder}/*.up.sql")
        if folder == "db/migrations" and _has_dbmate_markers(path):
            return Detected("dbmate", folder, f"{folder}/*.sql with -- migrate:up")
    return None
