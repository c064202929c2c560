"""pgwarden's own migration file format (dbmate-compatible markers).

``migrations/<version>_<name>.sql`` holding ``-- migrate:up [transaction:false]``
and optionally ``-- migrate:down [transaction:false|irreversible]``.

Guarantees: every file is fully parsed with pglast before any database is
touched; any problem raises MigrationFileError naming the file and line (exit 2).
"""

from __future__ import annotations

import re
from pathlib import Path

from pgwarden.errors import MigrationFileError
from pgwarden.sources.directives import find_directives, find_phase, merge_steps
from pgwarden.sources.model import MigrationFile, Section, checksum_of
from pgwarden.sources.statements import LineIndex, parse_statements, reject_nul, skip_comments

FILE_PATTERN = re.compile(r"^(?P<version>\d+)_(?P<name>[A-Za-z0-9][A-Za-z0-9_\-]*)\.sql$")
MARKER = re.compile(r"^[ \t]*--[ \t]*migrate:(?P<direction>\w+)(?P<options>[^\n]*)$", re.M | re.I)
_KNOWN_OPTIONS = {"transaction:false", "transaction:true", "irreversible"}
_TRANSACTION_CONTROL = {"TransactionStmt"}


def _parse_options(raw: str, *, source: str, line: int) -> set[str]:
    options = {token.lower() for token in raw.split()}
    unknown = options - _KNOWN_OPTIONS
    if unknown:
        raise MigrationFileError(
            f"{source}:{line}: unknown option {sorted(unknown)[0]!r} (known: transaction:false, irreversible)"
        )
    return options


def parse_migration_text(text: str, *, path: Path, version: str, name: str) -> MigrationFile:
    """Parse one migration's text; raises MigrationFileError naming ``path`` and the line."""
    source = str(path)
    text_lf = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = LineIndex(text_lf)
    reject_nul(text_lf, source=source, lines=lines)
    markers = list(MARKER.finditer(text_lf))
    sections: dict[str, Section] = {}
    before = text_lf[: markers[0].start()] if markers else text_lf
    if skip_comments(before, 0, len(before)) != len(before):
        line = lines.line(skip_comments(before, 0, len(before)))
        raise MigrationFileError(f"{source}:{line}: SQL before the first '-- migrate:up' marker")
    for i, marker in enumerate(markers):
        direction = marker["direction"].lower()
        line = lines.line(marker.start())
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
        statements = parse_statements(body, source=source, full_text=text_lf, offset=body_start, lines=lines)
        statements = merge_steps(
            statements,
            find_directives(
                body,
                offset=body_start,
                lines=lines,
                source=source,
                direction=direction,
                transactional="transaction:false" not in options,
            ),
        )
        if "irreversible" in options and statements:
            raise MigrationFileError(f"{source}:{line}: a down section marked irreversible must be empty")
        for statement in statements:
            if statement.kind in _TRANSACTION_CONTROL:
                raise MigrationFileError(
                    f"{source}:{statement.line}: transaction control ({statement.sql.split()[0].upper()}) "
                    "is not allowed in a migration; pgwarden manages transactions "
                    "(use '-- migrate:up transaction:false' to run statements one by one)"
                )
        sections[direction] = Section(
            "up" if direction == "up" else "down",
            line,
            "transaction:false" not in options,
            "irreversible" in options,
            statements,
        )
    if "up" not in sections:
        raise MigrationFileError(f"{source}: no '-- migrate:up' section")
    if "down" in sections and sections["down"].line < sections["up"].line:
        raise MigrationFileError(f"{source}:{sections['down'].line}: the down section must follow the up section")
    return MigrationFile(
        version,
        name,
        path,
        checksum_of(text),
        sections["up"],
        sections.get("down"),
        find_phase(text_lf, source=source, lines=lines),
    )


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
                f"{migration.path}: duplicate version {migration.version} (also {seen[number].path.name})"
            )
        seen[number] = migration
    return migrations
