"""``pgwarden seed``: run ``seeds/*.sql`` in name order, each file in its own transaction."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from pgwarden import events
from pgwarden.config import Config
from pgwarden.db import Intent, connect, resolve_target
from pgwarden.errors import BadInput, MigrationFailed
from pgwarden.sources import parse_statements


@dataclass(frozen=True)
class SeededFile:
    path: Path
    statements: int
    duration_ms: int


@dataclass(frozen=True)
class SeedResult:
    """The seed files run, in order."""

    env: str
    database: str
    files: list[SeededFile] = field(default_factory=list)


def seed_files(config: Config) -> list[Path]:
    """The seed files, in name order (exit 2 when the folder is missing)."""
    folder = config.seeds_path
    if not folder.is_dir():
        raise BadInput(f"{folder}: seeds folder not found", hint=f"create it or set seeds_dir in {config.source}")
    return sorted(folder.glob("*.sql"))


def seed(config: Config, env: str | None = None) -> SeedResult:
    """Run every seed file in name order, each atomically; refused (exit 5) on a protected environment.

    All files are parsed before any runs (exit 2 on a parse error naming file and
    line). A failing statement rolls its whole file back and stops (exit 1);
    earlier files stay committed. Recorded in ``pgwarden.events``.
    """
    name, _ = config.environment(env)
    paths = seed_files(config)
    parsed = [(path, parse_statements(path.read_text(encoding="utf-8"), source=str(path))) for path in paths]
    target = resolve_target(config, name, intent=Intent.DESTRUCTIVE)
    done: list[SeededFile] = []
    with connect(target.url) as conn:
        for path, statements in parsed:
            started = time.monotonic()
            current = None
            try:
                with conn.transaction():
                    for current in statements:
                        conn.execute(current.sql)
            except psycopg.Error as exc:
                line = current.line if current else 1
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise MigrationFailed(
                    f"{path}:{line}: seed failed: {first}; this file was rolled back"
                    + (f", {len(done)} earlier file(s) kept" if done else ""),
                    hint="fix the seed file and run `pgwarden seed` again",
                ) from None
            done.append(SeededFile(path, len(statements), int((time.monotonic() - started) * 1000)))
        events.record(conn, "seed", f"seed {name}", "ok", {"files": [f.path.name for f in done]})
        database = conn.info.dbname
    return SeedResult(name, database, done)
