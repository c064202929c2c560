"""Directive lines: operations that are not plain SQL, written as steps of a migration.

A directive is one comment line inside a ``transaction:false`` up section::

    -- pgwarden:backfill table=public.orders set='total = price * qty' batch=5000
    -- pgwarden:partition-convert table=public.events key=created_at interval='1 month'

Arguments are ``key=value``; a value with blanks or quotes is single-quoted, a quote inside it
doubled (``'it''s'``), as in SQL. Each directive is a step of its section, in line order with the
statements around it, and is recorded like a statement (progress, resume). It is carried as a
:class:`Statement` whose parse tree is ``{"Directive": {"name": ..., "args": {...}}}``, so lint and
the runner see it where it stands.

``-- pgwarden:ignore`` (lint) and ``-- pgwarden:phase`` (expand/contract) are annotations, not steps.
"""

from __future__ import annotations

import re

from pgwarden.errors import MigrationFileError
from pgwarden.sources.model import Phase, Statement
from pgwarden.sources.statements import LineIndex

KNOWN = ("backfill", "partition-convert")
ANNOTATIONS = ("ignore", "phase")
PHASES = ("expand", "contract")

_LINE = re.compile(r"^[ \t]*--[ \t]*pgwarden:(?P<name>[A-Za-z][A-Za-z0-9_-]*)(?P<args>[^\n]*)$", re.M)
_ARG = re.compile(r"\s*(?P<key>[A-Za-z_][A-Za-z0-9_-]*)=(?:'(?P<quoted>(?:[^']|'')*)'|(?P<bare>[^\s']+))")


def parse_args(text: str, *, where: str) -> dict[str, str]:
    """``key=value key='quoted value'`` into a dict; MigrationFileError naming ``where`` on anything else."""
    args: dict[str, str] = {}
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _ARG.match(text, position)
        if not match:
            raise MigrationFileError(
                f"{where}: cannot read directive arguments at {text[position:].strip()!r} "
                "(write key=value, quoting values with blanks: key='a b')"
            )
        key = match["key"]
        if key in args:
            raise MigrationFileError(f"{where}: argument {key!r} given twice")
        args[key] = match["quoted"].replace("''", "'") if match["quoted"] is not None else match["bare"]
        position = match.end()
    return args


def find_directives(
    body: str, *, offset: int, lines: LineIndex, source: str, transactional: bool, direction: str
) -> list[Statement]:
    """The directive steps in one section's ``body`` (which starts at ``offset`` of the file), as statements."""
    found: list[Statement] = []
    for match in _LINE.finditer(body):
        name = match["name"].lower()
        if name in ANNOTATIONS:
            continue
        line = lines.line(offset + match.start())
        where = f"{source}:{line}"
        if name not in KNOWN:
            raise MigrationFileError(
                f"{where}: unknown directive 'pgwarden:{name}' "
                f"(known: {', '.join(KNOWN)}; annotations: {', '.join(ANNOTATIONS)})"
            )
        if transactional or direction != "up":
            raise MigrationFileError(
                f"{where}: 'pgwarden:{name}' runs in steps that commit on their own: put it in "
                "an up section marked '-- migrate:up transaction:false'"
            )
        args = parse_args(match["args"], where=where)
        found.append(Statement(match[0].strip(), line, 1, 0, {"Directive": {"name": name, "args": args}}))
    return found


def merge_steps(statements: tuple[Statement, ...], directives: list[Statement]) -> tuple[Statement, ...]:
    """Statements and directives in line order, numbered 1.. (the step index progress is recorded by)."""
    if not directives:
        return statements
    ordered = sorted([*statements, *directives], key=lambda s: (s.line, s.column))
    return tuple(Statement(s.sql, s.line, s.column, i, s.parsed) for i, s in enumerate(ordered, start=1))


def find_phase(text: str, *, source: str, lines: LineIndex) -> Phase | None:
    """The file's ``-- pgwarden:phase`` annotation, if any (one per file)."""
    phase: Phase | None = None
    for match in _LINE.finditer(text):
        if match["name"].lower() != "phase":
            continue
        line = lines.line(match.start())
        words = match["args"].split()
        if not words or words[0].lower() not in PHASES:
            raise MigrationFileError(
                f"{source}:{line}: write '-- pgwarden:phase expand' or "
                "'-- pgwarden:phase contract' (optionally plan=ID)"
            )
        if phase is not None:
            raise MigrationFileError(f"{source}:{line}: a second '-- pgwarden:phase' line")
        args = parse_args(" ".join(words[1:]), where=f"{source}:{line}")
        unknown = set(args) - {"plan"}
        if unknown:
            raise MigrationFileError(f"{source}:{line}: unknown phase argument {sorted(unknown)[0]!r} (known: plan)")
        phase = Phase(words[0].lower(), args.get("plan"), line)
    return phase


def is_directive(statement: Statement) -> bool:
    """Whether ``statement`` is a directive step rather than SQL."""
    return statement.kind == "Directive"


def directive_of(statement: Statement) -> tuple[str, dict[str, str]]:
    """The directive's name and arguments."""
    fields = statement.fields
    return str(fields["name"]), dict(fields["args"])
