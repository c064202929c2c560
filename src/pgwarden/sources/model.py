"""The in-memory form of a migration, whatever tool's file format it was read from.

Guarantees: values are immutable; versions order numerically (``2`` before
``10``); the checksum ignores line endings, trailing blanks and a BOM.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

_DECODER = json.JSONDecoder()


class LazyTree:
    """A statement's JSON parse tree, kept as its slice of libpg_query's output until first use.

    Decoding the whole output of a large file costs more than parsing it, and most
    callers need only the statement kind, which is known without decoding.
    """

    __slots__ = ("_decoded", "_source", "_start", "kind")

    def __init__(self, source: str, start: int, kind: str) -> None:
        self._source: str | None = source
        self._start = start
        self._decoded: dict[str, Any] | None = None
        self.kind = kind

    def load(self) -> dict[str, Any]:
        """The decoded tree ``{"Kind": {...}}`` (decoded once)."""
        if self._decoded is None:
            assert self._source is not None
            self._decoded = _DECODER.raw_decode(self._source, self._start)[0]["stmt"]
            self._source = None
        return self._decoded


@dataclass(frozen=True)
class Statement:
    """One SQL statement of a section, located in its file.

    ``tree`` is pglast's JSON parse tree (decoded on first use); ``node`` the pglast
    AST object, built on first use (ten times the cost, needed by lint only).
    """

    sql: str
    line: int
    column: int
    index: int
    parsed: dict[str, Any] | LazyTree = field(default_factory=dict, compare=False, repr=False)

    @property
    def tree(self) -> dict[str, Any]:
        """The JSON parse tree ``{"Kind": {...fields}}``."""
        return self.parsed.load() if isinstance(self.parsed, LazyTree) else self.parsed

    @property
    def kind(self) -> str:
        """The parse node's type name, e.g. ``CreateStmt``, ``IndexStmt``."""
        if isinstance(self.parsed, LazyTree):
            return self.parsed.kind
        return next(iter(self.parsed), "Unknown")

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

    @property
    def empty(self) -> bool:
        """No statement at all (what ``migrate new`` writes): nothing would run."""
        return not self.statements


@dataclass(frozen=True)
class Phase:
    """``-- pgwarden:phase expand|contract [plan=ID]``: which side of an expand/contract change a file is."""

    phase: str
    plan: str | None
    line: int


@dataclass(frozen=True)
class MigrationFile:
    """A parsed migration: version, name, both sections and the checksum of its normalised text."""

    version: str
    name: str
    path: Path
    checksum: str
    up: Section
    down: Section | None
    phase: Phase | None = None

    @property
    def sort_key(self) -> VersionKey:
        return version_key(self.version)

    @property
    def reversible(self) -> bool:
        """A down section with at least one statement; an empty one reverts nothing."""
        return self.down is not None and not self.down.irreversible and not self.down.empty

    @property
    def label(self) -> str:
        return f"{self.version}_{self.name}"


VersionKey = tuple[tuple[int, ...], str]


def version_key(version: str) -> VersionKey:
    """Order versions numerically, part by part (``2`` before ``10``, Flyway's ``1.2`` before ``1.10``), ties by text.

    Parts are separated by ``.`` or ``_`` (Flyway writes ``1_1`` for ``1.1``).
    """
    return (tuple(int(part) for part in version.replace("_", ".").split(".") if part), version)


def normalize(text: str) -> str:
    """The text a checksum is taken over: LF line endings, no trailing blanks, no BOM."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n") + "\n"


def checksum_of(text: str) -> str:
    """sha256 of :func:`normalize` (hex)."""
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


def statement_checksum(statement: Statement) -> str:
    """sha256 of one statement's normalised text: what a resumed run compares per statement."""
    return checksum_of(statement.sql)
