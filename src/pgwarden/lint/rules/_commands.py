"""The ``pgwarden plan`` / ``pgwarden backfill`` command a finding suggests, built from the statement's own names.

Guarantees: the command is one line a user can paste into a POSIX shell as is: the table is
written as PostgreSQL reads it (``schema.table``, double-quoted where the name needs it, the
schema ``public`` when the statement names none), columns as their catalog names, and every
word that the shell would split or expand is quoted.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from pgwarden.lint.rules._util import ident, strings, type_name, type_text

_DOUBLE_QUOTABLE = re.compile(r'^[^"$`\\!]*$')


def shell_word(text: str) -> str:
    """``text`` as one shell word: as is when safe, else in single quotes, or double quotes when it holds a ``'``."""
    quoted = shlex.quote(text)
    if quoted == text or "'" not in text or not _DOUBLE_QUOTABLE.match(text):
        return quoted
    return f'"{text}"'


def table_arg(schema: str | None, name: str) -> str:
    """``schema.table`` as SQL text (what ``pgwarden plan``/``backfill`` parse), ``public`` when unqualified."""
    return f"{ident(schema or 'public')}.{ident(name)}"


def relation_arg(relation: Any) -> str:
    """A RangeVar as the TABLE argument of ``pgwarden plan``/``backfill``."""
    return table_arg(relation.schemaname, relation.relname)


def type_arg(type_node: Any) -> str:
    """A TypeName node as SQL type text: built-in types by their usual name, others with their own (quoted) names."""
    names = strings(type_node.names)
    if not names or names[0] == "pg_catalog" or (len(names) == 1 and ident(names[0]) == names[0]):
        return type_text(type_node)
    _, mods = type_name(type_node)
    return (
        ".".join(ident(n) for n in names)
        + (f"({','.join(map(str, mods))})" if mods else "")
        + "[]" * len(type_node.arrayBounds or ())
    )


def command(*words: str) -> str:
    """``pgwarden WORDS...`` with each word quoted for the shell."""
    return " ".join(["pgwarden", *(shell_word(w) for w in words)])


def plan_hint(recipe: str, relation: Any, *args: str) -> str:
    """A comment line naming the exact ``pgwarden plan RECIPE TABLE ARGS...`` that writes the safe steps."""
    return (
        f"-- pgwarden writes these steps as migrations, each safe on its own: "
        f"{command('plan', recipe, relation_arg(relation), *args)}"
    )
