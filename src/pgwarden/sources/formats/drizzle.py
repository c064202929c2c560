"""Drizzle Kit: ``<out>/<tag>.sql`` files listed in ``<out>/meta/_journal.json``.

Statements are separated by ``--> statement-breakpoint``; drizzle's migrator records the sha256 of
the file's text as ``hash`` and the journal's ``when`` (ms) as ``created_at``. No down migrations.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from pgwarden.errors import MigrationFileError
from pgwarden.sources.formats._common import irreversible, migration, read_text
from pgwarden.sources.model import MigrationFile

BREAKPOINT = "--> statement-breakpoint"
TAG = re.compile(r"^(?P<version>\d+)_(?P<name>.+)$")


@dataclass(frozen=True)
class JournalEntry:
    """One ``entries[]`` item of ``_journal.json``."""

    idx: int
    when: int
    tag: str


def journal(directory: Path) -> list[JournalEntry]:
    """The journal's entries; MigrationFileError naming the journal when it cannot be used."""
    path = directory / "meta" / "_journal.json"
    if not path.is_file():
        raise MigrationFileError(f"{path}: missing (drizzle-kit writes it beside the SQL files)")
    try:
        doc = json.loads(read_text(path))
        entries = [JournalEntry(int(e["idx"]), int(e["when"]), str(e["tag"])) for e in doc["entries"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise MigrationFileError(f"{path}: not a drizzle journal ({type(exc).__name__}: {exc})") from None
    return entries


def file_hash(text: str) -> str:
    """drizzle's ``hash`` column: sha256 (hex) of the migration file's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read(directory: Path) -> list[MigrationFile]:
    """The journal's migrations, in its order."""
    out = []
    for entry in journal(directory):
        path = directory / f"{entry.tag}.sql"
        if not path.is_file():
            raise MigrationFileError(
                f"{directory / 'meta' / '_journal.json'}: entry {entry.idx} names {path.name}, which does not exist"
            )
        match = TAG.match(entry.tag)
        version, name = (match["version"], match["name"]) if match else (str(entry.idx), entry.tag)
        text = read_text(path)
        # The breakpoint markers are comments: the statements parse the same with or without them.
        out.append(migration(version, name, path, text, irreversible(), checksum=file_hash(text)))
    return out
