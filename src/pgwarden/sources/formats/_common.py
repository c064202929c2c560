"""Helpers shared by the format readers: reading text safely and building a migration from SQL text."""

from __future__ import annotations

from pathlib import Path

from pgwarden.errors import MigrationFileError
from pgwarden.sources.model import MigrationFile, Section, checksum_of
from pgwarden.sources.statements import LineIndex, parse_statements, reject_nul


def read_text(path: Path) -> str:
    """The UTF-8 text of ``path``; MigrationFileError naming it when it cannot be read or is not text."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MigrationFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise MigrationFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    reject_nul(text, source=str(path))
    return text


def section(
    direction: str, text: str, path: Path, *, transactional: bool = True, irreversible: bool = False
) -> Section:
    """A section holding every statement of ``text`` (the whole file), located in ``path``."""
    lines = LineIndex(text)
    statements = parse_statements(text, source=str(path), full_text=text, offset=0, lines=lines)
    return Section("up" if direction == "up" else "down", 1, transactional, irreversible, statements)


def migration(
    version: str,
    name: str,
    path: Path,
    up_text: str,
    down: Section | None,
    *,
    checksum: str | None = None,
    transactional: bool = True,
) -> MigrationFile:
    """A migration whose up section is all of ``up_text``."""
    up = section("up", up_text, path, transactional=transactional)
    if up.empty:
        raise MigrationFileError(f"{path}: no SQL statement in it")
    return MigrationFile(version, name, path, checksum or checksum_of(up_text), up, down)


def irreversible() -> Section:
    """The down section of a format that has none: marked irreversible."""
    return Section("down", 0, True, True, ())
