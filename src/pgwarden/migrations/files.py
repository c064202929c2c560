"""Discovery and parsing of migration files.

Guarantees: every file is fully parsed with pglast (PostgreSQL's own parser)
before any database is touched; any problem raises MigrationFileError naming the
file and line (exit 2). Checksums ignore line endings and trailing blanks.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pgwarden.errors import MigrationFileError

FILE_PATTERN = re.compile(r"^(?P<version>\d+)_(?P<name>[A-Za-z0-9][A-Za-z0-9_\-]*)\.sql$")
MARKER = re.compile(r"^[ \t]*--[ \t]*migrate:(?P<direction>\w+)(?P<options>[^\n]*)$", re.M | re.I)
_KNOWN_OPTIONS = {"transaction:false", "transaction:true", "irreversible"}
_TRANSACTION_CONTROL = {"TransactionStmt"}


@dataclass(frozen=True)
class Statement:
    """One SQL statement of a section, located in its file.

    ``tree`` is pglast's JSON parse tree (cheap); ``node`` the pglast AST object,
    built on first use (ten times the cost, needed by lint only).
    """

    sql: str
    line: int
    column: int
    index: int
    tree: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def kind(self) -> str:
        """The parse node's type name, e.g. ``CreateStmt``, ``IndexStmt``."""
        return next(iter(self.tree), "Unknown")

    @property
    def fields(self) -> dict[str, Any]:
        """The parse node's fields (JSON form)."""
        value = self.tree.get(self.kind, {})
        return value if isinstance(value, dict) else {}

    @cached_property
    def node(self) -> Any:
        """The pglast AST node of this statement."""
        import pglast

        return pglast.parse_sql(self.sql)[0].stmt


@dataclass(frozen=True)
class Section:
    """The up or the down part of a migration file."""

    direction: Literal["up", "down"]
    line: int
    transactional: bool
    irreversible: bool
    statements: tuple[Statement, ...]


@dataclass(frozen=True)
class MigrationFile:
    """A parsed migration: version, name, both sections and the checksum of its normalised text."""

    version: str
    name: str
    path: Path
    checksum: str
    up: Section
    down: Section | None

    @property
    def sort_key(self) -> tuple[int, str]:
        return version_key(self.version)

    @property
    def reversible(self) -> bool:
        return self.down is not None and not self.down.irreversible

    @property
    def label(self) -> str:
        return f"{self.version}_{self.name}"


def version_key(version: str) -> tuple[int, str]:
    """Order versions numerically (so ``2`` sorts before ``10``), ties by text."""
    return (int(version), version)


def normalize(text: str) -> str:
    """The text a checksum is taken over: LF line endings, no trailing blanks, no BOM."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n") + "\n"


def checksum_of(text: str) -> str:
    """sha256 of :func:`normalize` (hex)."""
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _skip_comments(text: str, start: int, end: int) -> int:
    """Offset of the first character at or after ``start`` that is neither blank nor a comment."""
    i = start
    while i < end:
        if text[i].isspace():
            i += 1
        elif text.startswith("--", i):
            newline = text.find("\n", i)
            i = end if newline == -1 else newline + 1
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            i = end if close == -1 else close + 2
        else:
            break
    return i


def parse_statements(sql_text: str, *, source: str, first_line: int = 1,
                     full_text: str | None = None, offset: int = 0) -> tuple[Statement, ...]:
    """Split and parse ``sql_text`` with pglast; errors name ``source`` and the line.

    ``full_text``/``offset`` locate ``sql_text`` inside a bigger file so that lines
    and columns are reported in the file's terms.
    """
    from pglast.parser import ParseError, parse_sql_json

    whole = full_text if full_text is not None else sql_text
    try:
        raw_statements = json.loads(parse_sql_json(sql_text)).get("stmts", [])
    except ParseError as exc:
        message, position = (exc.args + (None,))[:2]
        line = _line_of(whole, offset + position) if isinstance(position, int) else first_line
        raise MigrationFileError(f"{source}:{line}: {message}") from None
    # libpg_query reports byte offsets into the UTF-8 text
    encoded = sql_text.encode("utf-8")
    statements = []
    for index, raw in enumerate(raw_statements, start=1):
        begin_byte = raw.get("stmt_location", 0)
        end_byte = begin_byte + raw["stmt_len"] if raw.get("stmt_len") else len(encoded)
        begin = len(encoded[:begin_byte].decode("utf-8", errors="replace"))
        end = begin + len(encoded[begin_byte:end_byte].decode("utf-8", errors="replace"))
        begin = _skip_comments(sql_text, begin, end)
        absolute = offset + begin
        line = _line_of(whole, absolute)
        column = absolute - (whole.rfind("\n", 0, absolute) + 1) + 1
        text = sql_text[begin:end].strip().rstrip(";").rstrip()
        statements.append(Statement(text, line, column, index, raw["stmt"]))
    return tuple(statements)


def _parse_options(raw: str, *, source: str, line: int) -> set[str]:
    options = {token.lower() for token in raw.split()}
    unknown = options - _KNOWN_OPTIONS
    if unknown:
        raise MigrationFileError(f"{source}:{line}: unknown option {sorted(unknown)[0]!r} "
                                 f"(known: transaction:false, irreversible)")
    return options


def parse_migration_text(text: str, *, path: Path, version: str, name: str) -> MigrationFile:
    """Parse one migration's text; raises MigrationFileError naming ``path`` and the line."""
    source = str(path)
    text_lf = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    markers = list(MARKER.finditer(text_lf))
    sections: dict[str, Section] = {}
    before = text_lf[: markers[0].start()] if markers else text_lf
    if _skip_comments(before, 0, len(before)) != len(before):
        line = _line_of(text_lf, _skip_comments(before, 0, len(before)))
        raise MigrationFileError(f"{source}:{line}: SQL before the first '-- migrate:up' marker")
    for i, marker in enumerate(markers):
        direction = marker["direction"].lower()
        line = _line_of(text_lf, marker.start())
        if direction not in ("up", "down"):
            raise MigrationFileError(f"{source}:{line}: unknown marker 'migrate:{direction}' (use up or down)")
        if direction in sections:
            raise MigrationFileError(f"{source}:{line}: second '-- migrate:{direction}' section")
        options = _parse_options(marker["options"], source=source, line=line)
        if direction == "up" and "irreversible" in options:
            raise MigrationFileError(f"{source}:{line}: 'irreversible' belongs on the down marker")
        body_start = marker.end()
        body_end = markers[i + 1].start() if i + 1 < len(markers) else len(text_lf)
        body = text_lf[body_start:body_end]
        statements = parse_statements(body, source=source, full_text=text_lf, offset=body_start)
        if "irreversible" in options and statements:
            raise MigrationFileError(f"{source}:{line}: a down section marked irreversible must be empty")
        for statement in statements:
            if statement.kind in _TRANSACTION_CONTROL:
                raise MigrationFileError(
                    f"{source}:{statement.line}: transaction control ({statement.sql.split()[0].upper()}) "
                    "is not allowed in a migration; pgwarden manages transactions "
                    "(use '-- migrate:up transaction:false' to run statements one by one)")
        sections[direction] = Section(direction, line, "transaction:false" not in options,  # type: ignore[arg-type]
                                      "irreversible" in options, statements)
    if "up" not in sections:
        raise MigrationFileError(f"{source}: no '-- migrate:up' section")
    if "down" in sections and sections["down"].line < sections["up"].line:
        raise MigrationFileError(f"{source}:{sections['down'].line}: the down section must follow the up section")
    return MigrationFile(version, name, path, checksum_of(text), sections["up"], sections.get("down"))


def parse_migration_file(path: Path) -> MigrationFile:
    """Parse one ``<version>_<name>.sql`` file."""
    match = FILE_PATTERN.match(path.name)
    if not match:
        raise MigrationFileError(f"{path}: file name must look like <version>_<name>.sql (e.g. 001_create_users.sql)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MigrationFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise MigrationFileError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_migration_text(text, path=path, version=match["version"], name=match["name"])


def discover(directory: Path) -> list[MigrationFile]:
    """Every migration in ``directory``, parsed and ordered by version; duplicates are an error."""
    if not directory.is_dir():
        raise MigrationFileError(f"{directory}: migrations folder not found", hint="run `pgwarden init`")
    migrations = [parse_migration_file(path) for path in sorted(directory.glob("*.sql"))]
    migrations.sort(key=lambda m: m.sort_key)
    seen: dict[int, MigrationFile] = {}
    for migration in migrations:
        number = int(migration.version)
        if number in seen:
            raise MigrationFileError(
                f"{migration.path}: duplicate version {migration.version} (also {seen[number].path.name})")
        seen[number] = migration
    return migrations
