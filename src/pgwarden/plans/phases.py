"""Expand/contract phases: a contract step must not ship with its expand, nor while the old column is read.

Migration files say their side with ``-- pgwarden:phase expand|contract plan=ID``. Two rules:

1. A contract migration and an expand migration of the same plan never run in one deploy: the
   application release that stops using the old shape goes between them.
2. A contract migration that drops columns is refused while queries recorded by
   ``pg_stat_statements`` still name such a column (since the statistics were last reset). Without
   the extension the check cannot run and says so as a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    from pgwarden.sources import MigrationFile

_READERS = """
SELECT count(*), COALESCE(sum(calls), 0)::bigint, min(left(regexp_replace(query, '\\s+', ' ', 'g'), 120))
FROM pg_stat_statements s
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND s.query ~* %(column)s AND s.query ~* %(table)s
  AND s.query !~* '^\\s*(ALTER|CREATE|DROP|COMMENT|SELECT pg_stat_statements)'
  AND s.query !~* 'pgwarden\\.'
"""


@dataclass(frozen=True)
class DroppedColumn:
    """A column a contract migration drops."""

    version: str
    schema: str | None
    table: str
    column: str


@dataclass
class PhaseCheck:
    """What the phase rules found: ``refusals`` stop a deploy; ``warnings`` are said and let it go on."""

    refusals: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def same_deploy_problems(pending: list[MigrationFile]) -> list[str]:
    """Rule 1: contract migrations whose plan also has an expand migration among ``pending``."""
    expands: dict[str, list[str]] = {}
    for migration in pending:
        if migration.phase and migration.phase.plan and migration.phase.phase == "expand":
            expands.setdefault(migration.phase.plan, []).append(migration.version)
    problems = []
    for migration in pending:
        phase = migration.phase
        if phase and phase.phase == "contract" and phase.plan in expands:
            last_expand = expands[phase.plan][-1]
            problems.append(
                f"{migration.label} is the contract step of plan {phase.plan}, whose expand step(s) "
                f"{', '.join(expands[phase.plan])} are in the same deploy: deploy up to {last_expand} first "
                f"(--to {last_expand}), release the application that uses the new shape, then deploy again"
            )
    return problems


def dropped_columns(migration: MigrationFile) -> list[DroppedColumn]:
    """The columns ``ALTER TABLE … DROP COLUMN`` statements of ``migration``'s up section drop."""
    found = []
    for statement in migration.up.statements:
        if statement.kind != "AlterTableStmt":
            continue
        relation = statement.fields.get("relation", {})
        for command in statement.fields.get("cmds", []):
            cmd = command.get("AlterTableCmd", {})
            if cmd.get("subtype") == "AT_DropColumn" and cmd.get("name"):
                found.append(
                    DroppedColumn(migration.version, relation.get("schemaname"), relation["relname"], cmd["name"])
                )
    return found


def still_read(conn: psycopg.Connection[Any], column: DroppedColumn) -> tuple[int, int, str] | None:
    """(queries, calls, an example) of recorded queries naming ``column`` and its table; None when none do."""
    params = {"column": f"\\m{_regex_escape(column.column)}\\M", "table": f"\\m{_regex_escape(column.table)}\\M"}
    row = conn.execute(_READERS, params).fetchone()
    if not row or not row[0]:
        return None
    return int(row[0]), int(row[1]), str(row[2])


def check(conn: psycopg.Connection[Any] | None, pending: list[MigrationFile]) -> PhaseCheck:
    """Both rules for the migrations a deploy would apply (rule 2 needs ``conn`` and pg_stat_statements)."""
    result = PhaseCheck(refusals=same_deploy_problems(pending))
    contracts = [m for m in pending if m.phase and m.phase.phase == "contract"]
    columns = [c for m in contracts for c in dropped_columns(m)]
    if not columns or conn is None:
        return result
    if not _has_pg_stat_statements(conn):
        result.warnings.append(
            "cannot tell whether the application still reads the columns contract migrations "
            "drop (" + ", ".join(f"{c.table}.{c.column}" for c in columns) + "): "
            "pg_stat_statements is not installed (CREATE EXTENSION pg_stat_statements)"
        )
        return result
    for column in columns:
        seen = still_read(conn, column)
        if seen:
            queries, calls, example = seen
            result.refusals.append(
                f"{column.version} drops {column.table}.{column.column}, but {queries} recorded quer"
                f"{'y' if queries == 1 else 'ies'} ({calls:,} calls) still name it, e.g. {example!r}: switch the "
                "application first; if these are from before the switch, reset the statistics "
                "(SELECT pg_stat_statements_reset()) and deploy again later"
            )
    return result


def _has_pg_stat_statements(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT to_regclass('pg_stat_statements') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return False
    import psycopg

    try:
        conn.execute("SELECT 1 FROM pg_stat_statements LIMIT 1")
    except psycopg.Error:  # the library is not preloaded: the view exists but cannot be read
        if not conn.autocommit:
            conn.rollback()
        return False
    return True


def _regex_escape(text: str) -> str:
    return "".join(f"\\{c}" if not c.isalnum() and c != "_" else c for c in text)
