"""Text normalisation for comparing code by meaning: whitespace outside string literals does not count."""

from __future__ import annotations

import re

# Kept verbatim: quoted strings (with '' escapes), E'' strings, quoted identifiers and dollar-quoted
# strings ($$...$$ / $tag$...$tag$). Everything else is split on whitespace.
_TOKENS = re.compile(
    r"""(?P<verbatim>[eE]'(?:[^'\\]|\\.|'')*'"""
    r"""|'(?:[^']|'')*'"""
    r'''|"(?:[^"]|"")*"'''
    r"""|(?P<tag>\$[A-Za-z_]?[A-Za-z0-9_]*\$)[\s\S]*?(?P=tag))"""
    r"""|(?P<space>\s+)"""
    r"""|(?P<other>[^\s'"$eE]+|.)""",
)


def _wordish(char: str) -> bool:
    return char.isalnum() or char in "_$'\""


def code(text: str | None) -> str | None:
    """``text`` with whitespace outside literals removed, except one space between two word characters.

    Two function bodies that differ only in indentation, line breaks or spacing give equal
    results; a change inside a string literal, a quoted identifier or any token does not.
    """
    if text is None:
        return None
    pieces: list[str] = []
    pending_space = False
    for match in _TOKENS.finditer(text.strip()):
        if match.group("space"):
            pending_space = True
            continue
        token = match.group(0)
        if pending_space and pieces and _wordish(pieces[-1][-1]) and _wordish(token[0]):
            pieces.append(" ")
        pending_space = False
        pieces.append(token)
    return "".join(pieces)
