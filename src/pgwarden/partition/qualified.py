"""``schema.table`` parsed once: the one :class:`QualifiedName` every partition command and check uses.

Rules (one function, :meth:`QualifiedName.parse`):

==================  ==========================  =======================================
text                schema, name                why
==================  ==========================  =======================================
``events``          ``public``, ``events``      no dot: the default schema
``app.events``      ``app``, ``events``         the first unquoted dot separates
``"a.b".events``    ``a.b``, ``events``         double quotes protect dots (``""`` is ``"``)
``Orders``          ``public``, ``Orders``      names are taken as written (no case folding)
==================  ==========================  =======================================

Printing goes through :meth:`QualifiedName.sql`, i.e. ``psycopg.sql.Identifier``: a table
``Orders`` prints as ``"public"."Orders"``, never as a bare name another table could match.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from pgwarden.errors import BadInput

DEFAULT_SCHEMA = "public"


def _split(text: str) -> list[str]:
    """Split on dots outside double quotes; quotes removed, ``""`` inside quotes is one ``"``."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == '"':
            if quoted and text[i + 1 : i + 2] == '"':
                current.append('"')
                i += 2
                continue
            quoted = not quoted
        elif char == "." and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    if quoted:
        raise ValueError("unterminated double quote")
    parts.append("".join(current))
    return parts


@dataclass(frozen=True, order=True)
class QualifiedName:
    """A table (or partition) in a schema."""

    schema: str
    name: str

    @classmethod
    def parse(cls, text: str, *, schema: str | None = None) -> QualifiedName:
        """``'t'``, ``'s.t'`` or ``'"a.b".t'`` into a name; ``schema`` is the default for an unqualified one.

        Raises BadInput (exit 2) naming the text when it is empty, has more than two
        parts, or an empty part.
        """
        try:
            parts = _split(text.strip())
        except ValueError as exc:
            raise BadInput(f"table {text!r}: {exc}") from None
        if len(parts) > 2 or not all(parts):
            raise BadInput(f"table {text!r}: expected 'table' or 'schema.table'")
        if len(parts) == 1:
            return cls(schema or DEFAULT_SCHEMA, parts[0])
        return cls(parts[0], parts[1])

    def sibling(self, name: str) -> QualifiedName:
        """Another relation in the same schema."""
        return QualifiedName(self.schema, name)

    def ident(self) -> sql.Identifier:
        """``schema.name`` for SQL composition."""
        return sql.Identifier(self.schema, self.name)

    def sql(self) -> str:
        """``"schema"."name"``: the quoted text to print in hints and commands a user may paste."""
        return self.ident().as_string(None)

    def shell(self) -> str:
        """The name as a command-line argument: ``schema.name`` when plain, else the quoted form, shell-quoted."""
        import re
        import shlex

        plain = re.compile(r"^[a-z_][a-z0-9_]*$")
        if plain.match(self.schema) and plain.match(self.name):
            return str(self)
        return shlex.quote(self.sql())

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"
