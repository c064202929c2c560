"""What a backfill does: the table, the ``SET`` list, an optional ``WHERE`` and the pacing.

The ``SET`` list and the ``WHERE`` condition are SQL written by the user, as in a
migration file. They are checked with PostgreSQL's own parser (pglast) before any
database is touched: together they must form exactly one ``UPDATE`` of the named
table, so a stray ``;`` cannot smuggle a second statement in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pgwarden.errors import BadInput

DEFAULT_BATCH = 5000


@dataclass(frozen=True)
class TableName:
    """A table named as ``schema.table`` or ``table`` (schema ``public``), unquoted identifiers as written."""

    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class BackfillSpec:
    """One batched update: ``UPDATE table SET <set_clause> WHERE <where>`` in keyset batches of ``batch`` rows."""

    table: TableName
    set_clause: str
    where: str | None = None
    batch: int = DEFAULT_BATCH
    sleep: float = 0.0

    @property
    def backfill_id(self) -> str:
        """Stable id of this backfill: the same table, SET and WHERE resume the same run."""
        text = "\x1f".join([self.table.schema, self.table.name, self.set_clause.strip(), (self.where or "").strip()])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_table(text: str) -> TableName:
    """``schema.table`` or ``table`` as PostgreSQL reads a relation name (quotes and case folding included)."""
    from pglast import parser
    from pglast.ast import RangeVar, SelectStmt

    try:
        stmt = parser.parse_sql(f"SELECT FROM {text}")
    except parser.ParseError:
        raise BadInput(f"table {text!r}: not a table name (expected schema.table or table)") from None
    node = stmt[0].stmt if len(stmt) == 1 else None
    from_clause = node.fromClause if isinstance(node, SelectStmt) else None
    if (
        not from_clause
        or len(from_clause) != 1
        or not isinstance(from_clause[0], RangeVar)
        or from_clause[0].catalogname
    ):
        raise BadInput(f"table {text!r}: not a table name (expected schema.table or table)")
    rv = from_clause[0]
    return TableName(rv.schemaname or "public", str(rv.relname))


def validate(spec: BackfillSpec) -> BackfillSpec:
    """``spec`` when SET and WHERE form exactly one UPDATE of its table; BadInput (exit 2) naming the part otherwise."""
    from pglast import parser
    from pglast.ast import UpdateStmt

    if spec.batch < 1:
        raise BadInput(f"--batch {spec.batch}: must be at least 1")
    if spec.sleep < 0:
        raise BadInput(f"--sleep {spec.sleep}: must not be negative")
    if not spec.set_clause.strip():
        raise BadInput('--set: empty; give assignments such as "total = price * qty"')
    text = f"UPDATE pgw_backfill_target SET {spec.set_clause}"
    if spec.where and spec.where.strip():
        text += f" WHERE {spec.where}"
    try:
        stmts = parser.parse_sql(text)
    except parser.ParseError as exc:
        part = "--where" if spec.where and "WHERE" in str(exc) else "--set/--where"
        raise BadInput(f"{part}: {exc}") from None
    if len(stmts) != 1 or not isinstance(stmts[0].stmt, UpdateStmt):
        raise BadInput("--set/--where must form exactly one UPDATE (no ';' and no second statement)")
    update = stmts[0].stmt
    if update.fromClause or update.returningClause or update.withClause:
        raise BadInput("--set/--where: FROM, RETURNING and WITH are not allowed in a backfill")
    return spec
