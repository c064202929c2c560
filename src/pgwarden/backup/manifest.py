"""``manifest.json``: what a backup holds and how to check it.

Guarantees: every published backup has a manifest naming its files with their
sha256 and size, the migration version and each table's row count (with
whether it is exact), and its last verification.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pgwarden.output import to_jsonable

MANIFEST_VERSION = 2
_CHUNK = 1 << 20

Kind = Literal["full", "tables", "archive", "safety"]
KINDS: tuple[Kind, ...] = ("full", "tables", "archive", "safety")


@dataclass
class TableInfo:
    """A table at backup time: its row count and the objects restored with it."""

    schema: str
    name: str
    rows: int
    exact: bool
    size_bytes: int = 0
    indexes: list[str] = field(default_factory=list)
    sequences: list[str] = field(default_factory=list)
    referenced_by: list[list[str]] = field(default_factory=list)  # [schema, table, constraint]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class FileInfo:
    sha256: str
    size: int


@dataclass
class Verification:
    """The outcome of the last ``backup verify``."""

    ok: bool
    at: datetime
    seconds: float
    problems: list[str]
    migration_version: str | None = None


@dataclass
class ArchiveInfo:
    """The retired partition an ``archive`` backup holds, and how to re-attach it."""

    schema: str
    table: str
    parent_schema: str
    parent: str
    bounds: str  # pg_get_expr(relpartbound): FOR VALUES ...
    rows: int


@dataclass
class Encryption:
    """How the dump is encrypted: the scheme and the recipients' fingerprints (never a key)."""

    scheme: str
    recipients: list[str]


@dataclass
class Manifest:
    """Everything recorded about one backup."""

    id: str
    env: str
    database: str
    server_version: str
    pg_dump: dict[str, str]
    format: str
    compression: str
    started_at: datetime
    finished_at: datetime
    size: int
    files: dict[str, FileInfo]
    migration_version: str | None
    tables: list[TableInfo]
    only_tables: list[str] | None = None
    reason: str | None = None
    verification: Verification | None = None
    kind: Kind = "full"
    archive: ArchiveInfo | None = None
    encryption: Encryption | None = None
    outside_references: list[str] = field(default_factory=list)  # FKs to tables whose rows are not in it
    manifest_version: int = MANIFEST_VERSION

    @property
    def dump_path(self) -> str:
        """The dump's name inside the backup folder (a file or, for the directory format, a folder)."""
        if self.format == "directory":
            return "dump"
        return "dump.pgdump.age" if self.encryption else "dump.pgdump"

    def to_dict(self) -> dict[str, Any]:
        doc = to_jsonable(self)
        assert isinstance(doc, dict)
        return doc

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Parse a manifest written by :meth:`to_dict` (unknown keys are ignored)."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["started_at"] = datetime.fromisoformat(values["started_at"])
        values["finished_at"] = datetime.fromisoformat(values["finished_at"])
        values["files"] = {k: FileInfo(**v) for k, v in values["files"].items()}
        values["tables"] = [TableInfo(**t) for t in values["tables"]]
        values.setdefault("kind", _legacy_kind(data))
        if values.get("archive"):
            values["archive"] = ArchiveInfo(**values["archive"])
        if values.get("encryption"):
            values["encryption"] = Encryption(**values["encryption"])
        if values.get("verification"):
            ver = dict(values["verification"])
            ver["at"] = datetime.fromisoformat(ver["at"])
            values["verification"] = Verification(**ver)
        return cls(**values)


def _legacy_kind(data: dict[str, Any]) -> Kind:
    """The kind of a manifest written before kinds existed (version 1), from what it recorded."""
    reason = str(data.get("reason") or "")
    if reason.startswith("partition archive"):
        return "archive"
    if reason.startswith("safety"):
        return "safety"
    return "tables" if data.get("only_tables") else "full"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def describe_files(folder: Path, names: list[str]) -> dict[str, FileInfo]:
    """sha256 and size of every file under ``folder``/name (recursing into folders), by relative path."""
    out: dict[str, FileInfo] = {}
    for name in names:
        top = folder / name
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in paths:
            out[str(path.relative_to(folder))] = FileInfo(sha256_of(path), path.stat().st_size)
    return out


def check_files(folder: Path, files: dict[str, FileInfo]) -> list[str]:
    """One problem per missing, resized or changed file (named by its path)."""
    problems: list[str] = []
    for name, expected in sorted(files.items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.stat().st_size != expected.size:
            problems.append(f"{path}: size {path.stat().st_size} bytes, manifest says {expected.size}")
        elif sha256_of(path) != expected.sha256:
            problems.append(f"{path}: sha256 mismatch (file changed or corrupted)")
    return problems
