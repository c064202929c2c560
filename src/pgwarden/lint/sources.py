"""Turn paths and migration files into lint units: statements plus their transaction semantics.

Guarantees: pgwarden/dbmate-format files (``-- migrate:up`` markers) are parsed by
the migration parser (transactional unless ``transaction:false``); any other .sql
file is parsed as psql runs it (autocommit, BEGIN ... COMMIT tracked). Unparsable
input raises MigrationFileError naming file:line (exit 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pgwarden.errors import BadInput, MigrationFileError
from pgwarden.sources import (
    FILE_PATTERN,
    MARKER,
    MigrationFile,
    Section,
    Statement,
    parse_migration_text,
    parse_statements,
    version_key,
)


@dataclass
class Unit:
    """One run of statements: a migration section, or a whole plain .sql file."""

    path: Path
    direction: str  # "up" | "down" | "file"
    raw: bool
    transactional: bool
    statements: tuple[Statement, ...]
    text: str | None = field(default=None, repr=False)
    context: bool = False  # an earlier (applied) file: tracked for schema knowledge, never reported on
    _lines: list[str] | None = field(default=None, repr=False)

    @property
    def lines(self) -> list[str]:
        """The file's lines (split lazily: only needed for ignore comments)."""
        if self._lines is None:
            text = self.text
            if text is None:
                try:
                    text = self.path.read_text(encoding="utf-8")
                except OSError:
                    text = ""
            self._lines = text.replace("\r\n", "\n").split("\n")
        return self._lines


def units_of_migration(migration: MigrationFile, *, include_down: bool = True) -> list[Unit]:
    """The up section (and the down section) of a parsed migration."""
    sections: list[Section] = [migration.up]
    if include_down and migration.down is not None:
        sections.append(migration.down)
    return [Unit(migration.path, s.direction, False, s.transactional, s.statements) for s in sections]


# psql meta-commands (\set, \echo, \connect ...) on their own line: blanked so offsets stay the same
_PSQL_META = re.compile(r"^[ \t]*\\[a-zA-Z!?].*$", re.M)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MigrationFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror}") from None


def units_of_file(path: Path, *, include_down: bool = True) -> list[Unit]:
    """Parse one file: pgwarden format when it has ``-- migrate:`` markers, plain SQL otherwise."""
    text = _read(path)
    if MARKER.search(text):
        match = FILE_PATTERN.match(path.name)
        version, name = (match["version"], match["name"]) if match else ("0", path.stem)
        migration = parse_migration_text(text, path=path, version=version, name=name)
        units = units_of_migration(migration, include_down=include_down)
        for unit in units:
            unit.text = text
        return units
    sql = text.lstrip("\ufeff").replace("\r\n", "\n")
    if "\\" in sql:
        sql = _PSQL_META.sub(lambda m: " " * len(m.group()), sql)
    statements = parse_statements(sql, source=str(path))
    return [Unit(path, "file", True, False, statements, text)]


def order_key(path: Path) -> tuple[object, ...]:
    """Migration order: by folder, then numeric version (``2`` before ``10``), then name."""
    match = FILE_PATTERN.match(path.name)
    return (
        (str(path.parent), 0, version_key(match["version"]), path.name)
        if match
        else (str(path.parent), 1, ((0,), ""), path.name)
    )


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files to lint: files as given, folders searched recursively for *.sql (in migration order)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(path.rglob("*.sql"), key=order_key))
        elif path.is_file():
            out.append(path)
        else:
            raise BadInput(f"{path}: no such file or folder")
    return out
