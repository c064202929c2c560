"""Splitting SQL text into located, parsed statements with pglast (PostgreSQL's own parser).

Guarantees: linear in the size of the text (line numbers come from one index of
newline offsets, byte offsets are converted incrementally); a parse error raises
MigrationFileError naming the source and line; a NUL byte is an error, never a
silent end of the text.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from typing import Any

from pgwarden.errors import MigrationFileError
from pgwarden.sources.model import LazyTree, Statement


def one_line(message: str, limit: int = 300) -> str:
    """``message`` on one line (newlines shown as ``\\n``), cut to ``limit`` characters."""
    flat = message.replace("\r", "\\r").replace("\n", "\\n")
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


_RAW_STMT = re.compile(r'\{"stmt":\{"(\w+)":')
_RAW_TAIL = re.compile(r'(?:,"stmt_location":(\d+))?(?:,"stmt_len":(\d+))?\}[,\]]*\}?$')


def _raw_statements(parsed_json: str) -> list[tuple[int, int, LazyTree]]:
    """``(byte location, byte length or 0, tree)`` of every statement, without decoding the trees."""
    starts = list(_RAW_STMT.finditer(parsed_json))
    out = []
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(parsed_json)
        tail = _RAW_TAIL.search(parsed_json, max(match.start(), end - 80), end)  # the tail is ~50 characters
        location = int(tail.group(1)) if tail and tail.group(1) else 0
        length = int(tail.group(2)) if tail and tail.group(2) else 0
        out.append((location, length, LazyTree(parsed_json, match.start(), match.group(1))))
    return out


def _decoded_statements(parsed_json: str) -> list[tuple[int, int, dict[str, Any]]]:
    return [
        (raw.get("stmt_location", 0), raw.get("stmt_len", 0), raw["stmt"])
        for raw in json.loads(parsed_json).get("stmts", [])
    ]


class LineIndex:
    """Line and column of a character offset in one text, in O(log n) per lookup."""

    def __init__(self, text: str) -> None:
        self._starts = [0]
        position = text.find("\n")
        while position != -1:
            self._starts.append(position + 1)
            position = text.find("\n", position + 1)

    def line(self, offset: int) -> int:
        """1-based line of ``offset``."""
        return bisect_right(self._starts, offset)

    def column(self, offset: int) -> int:
        """1-based column of ``offset``."""
        return offset - self._starts[self.line(offset) - 1] + 1


def skip_comments(text: str, start: int, end: int) -> int:
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


def reject_nul(text: str, *, source: str, lines: LineIndex | None = None) -> None:
    """MigrationFileError naming the line of the first NUL byte (PostgreSQL's parser stops at it)."""
    position = text.find("\x00")
    if position != -1:
        line = (lines or LineIndex(text)).line(position)
        raise MigrationFileError(f"{source}:{line}: NUL byte in the file (SQL text cannot contain one)")


def parse_statements(
    sql_text: str,
    *,
    source: str,
    first_line: int = 1,
    full_text: str | None = None,
    offset: int = 0,
    lines: LineIndex | None = None,
) -> tuple[Statement, ...]:
    """Split and parse ``sql_text`` with pglast; errors name ``source`` and the line.

    ``full_text``/``offset`` locate ``sql_text`` inside a bigger file so that lines
    and columns are reported in the file's terms; ``lines`` may pass that file's
    :class:`LineIndex` to avoid building it again.
    """
    from pglast.parser import ParseError, parse_sql_json

    whole = full_text if full_text is not None else sql_text
    index = lines or LineIndex(whole)
    reject_nul(sql_text, source=source, lines=None if full_text is not None else index)
    try:
        parsed_json = parse_sql_json(sql_text)
    except ParseError as exc:
        message, position = (exc.args + (None,))[:2]
        line = index.line(offset + position) if isinstance(position, int) else first_line
        raise MigrationFileError(f"{source}:{line}: {one_line(str(message))}") from None
    raw_statements: list[tuple[int, int, Any]] = _raw_statements(parsed_json)
    if len(raw_statements) != parsed_json.count('"stmt_len":') + (
        1 if raw_statements and raw_statements[-1][1] == 0 else 0
    ):
        raw_statements = _decoded_statements(parsed_json)  # an unexpected layout: decode it all
    # libpg_query reports byte offsets into the UTF-8 text; convert them walking forward once.
    encoded = sql_text.encode("utf-8")
    ascii_only = len(encoded) == len(sql_text)
    last_byte = last_char = 0

    def char_offset(byte: int) -> int:
        nonlocal last_byte, last_char
        if ascii_only:
            return byte
        if byte < last_byte:
            last_byte = last_char = 0
        last_char += len(encoded[last_byte:byte].decode("utf-8", errors="replace"))
        last_byte = byte
        return last_char

    statements = []
    for number, (begin_byte, length, tree) in enumerate(raw_statements, start=1):
        end_byte = begin_byte + length if length else len(encoded)
        begin = char_offset(begin_byte)
        end = char_offset(end_byte)
        begin = skip_comments(sql_text, begin, end)
        absolute = offset + begin
        text = sql_text[begin:end].strip().rstrip(";").rstrip()
        statements.append(Statement(text, index.line(absolute), index.column(absolute), number, tree))
    return tuple(statements)
