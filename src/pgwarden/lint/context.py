"""What the linter knows while it walks statements in execution order.

``Knowledge`` is the schema tracker shared by a whole lint run: tables created
earlier in the run (new, hence empty), partitioned tables and their keys, column
types, validated ``CHECK (col IS NOT NULL)`` constraints, and the live catalog
facts read with ``--env``. ``Transaction`` is the transaction-context tracker:
which statements share one transaction and which strong locks it already holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pgwarden.lint.model import STRONG_LOCKS, Finding, Rule, Severity, blocks_of


@dataclass
class TableInfo:
    """One table as far as the linter can tell."""

    key: str
    new: bool = False
    live: bool = False
    context: bool = False  # created by an earlier (already applied) file: exists, size unknown unless live
    partitioned: bool | None = None  # None: not known (the table was only referenced, never created or read)
    partition_key: tuple[str, ...] | None = None
    columns: dict[str, str] = field(default_factory=dict)
    not_null: set[str] = field(default_factory=set)
    not_null_checks: set[str] = field(default_factory=set)
    has_check: bool = False
    added_columns: set[str] = field(default_factory=set)  # columns added earlier in the run
    validated_unknown: bool = False  # a constraint defined elsewhere was validated earlier in the run
    rows: float | None = None
    size: int | None = None
    rows_estimated: bool = False  # never analyzed: rows are the planner's estimate from the pages on disk
    primary_key: tuple[str, ...] | None = None
    partitions: list[str] = field(default_factory=list)  # partitions known (created in the run, context or live)


def table_key(relation: Any) -> str:
    """A RangeVar (or (schema, name)) as the key the tracker uses: ``name`` in public, else ``schema.name``."""
    if isinstance(relation, tuple):
        schema, name = relation
        return name if schema in (None, "public") else f"{schema}.{name}"
    key = relation.__dict__.get("_key")
    if key is None:
        schema, name = relation.schemaname, relation.relname
        key = relation.__dict__["_key"] = name if schema in (None, "public") else f"{schema}.{name}"
    return key  # type: ignore[no-any-return]


def human_rows(rows: float) -> str:
    """12300000 -> "12.3M", 4500 -> "4.5k"."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if rows >= size:
            return f"{rows / size:.1f}{unit}"
    return f"{rows:.0f}"


@dataclass
class Knowledge:
    """Schema facts accumulated over one lint run (see module docstring)."""

    small_rows: int = 10_000
    small_size: int = 10 * 1024 * 1024
    live_mode: bool = False
    tables: dict[str, TableInfo] = field(default_factory=dict)
    indexes: dict[str, str] = field(default_factory=dict)  # index created in this run -> table key
    not_valid: dict[tuple[str, str], tuple[int, str | None, str]] = field(default_factory=dict)
    # EXPLAIN-based estimate of (rows, plan width in bytes) a data change touches; None without a database
    estimate: Callable[[str], tuple[float, int] | None] | None = None
    estimate_where: str = ""

    def table(self, key: str) -> TableInfo | None:
        return self.tables.get(key)

    def is_new(self, key: str) -> bool:
        info = self.tables.get(key)
        return info is not None and info.new

    def create(self, key: str) -> TableInfo:
        existing = self.tables.get(key)
        if existing is not None and existing.live:
            return existing  # the database has it already (an applied file, or IF NOT EXISTS)
        info = TableInfo(key, new=True, partitioned=False, rows=0, size=0)
        self.tables[key] = info
        return info

    def settle_context(self) -> None:
        """After a context (already applied) file: every table it created exists now, of unknown size.

        Never lets an earlier file make a table "new": only statements of the linted
        files themselves create new (empty) tables.
        """
        for info in self.tables.values():
            if info.new:
                info.new = False
                info.context = True
                info.rows = None
                info.size = None

    def size_text(self, key: str) -> str:
        """`` (about 5.0k rows, 1 MB)`` for a live table, the unknown-size note for a context table, else ""."""
        info = self.tables.get(key)
        if info is not None and info.context and not info.live:
            return " (size unknown: created by an earlier migration; graded as a large table)"
        if info is None or not info.live:
            return ""
        parts = []
        if info.rows is not None and info.rows >= 0:
            parts.append(
                f"about {human_rows(info.rows)} rows" + (" (estimated: never analyzed)" if info.rows_estimated else "")
            )
        if info.size is not None:
            from pgwarden.units import human_size

            parts.append(human_size(info.size))
        return f" ({', '.join(parts)})" if parts else ""

    def grade(self, key: str | None) -> Severity | None:
        """Severity of a strong lock on ``key``: None when new or absent, warning when small, error otherwise."""
        if key is None:
            return "error"
        info = self.tables.get(key)
        if info is not None and info.new:
            return None
        if self.live_mode:
            if info is None or not info.live:
                if info is not None and info.context:
                    return "error"  # created by an applied file, but not found live: size unknown
                return None  # not in the database: created by something the linter cannot see
            rows_small = info.rows is None or info.rows < self.small_rows
            size_small = info.size is None or info.size < self.small_size
            return "warning" if rows_small and size_small else "error"
        return "error"


@dataclass
class Transaction:
    """Statements that run in one transaction, and the strong locks it took on existing tables."""

    id: int
    explicit: bool  # BEGIN ... COMMIT or a transactional migration section (not a single autocommit statement)
    strong_locks: list[tuple[str, str, int]] = field(default_factory=list)  # (table, lock, line)
    data_changes: list[tuple[str, int]] = field(default_factory=list)  # (table, line)
    lock_timeout: bool = False
    new_enum_values: dict[str, tuple[str, int]] = field(default_factory=dict)  # label -> (enum type, line)


@dataclass
class StatementContext:
    """Everything a rule may look at for one statement, plus ``report`` to emit a finding."""

    path: str
    line: int
    column: int
    sql: str
    node: Any
    section: str
    raw: bool  # a plain .sql file (no pgwarden markers): psql semantics, lock_timeout not set by a runner
    txn: Transaction
    knowledge: Knowledge
    lock_timeout: bool
    rules: dict[str, Rule]
    findings: list[Finding] = field(default_factory=list)

    @property
    def in_transaction_block(self) -> bool:
        return self.txn.explicit

    def report(
        self,
        rule_id: str,
        message: str,
        *,
        table: str | None = None,
        lock: str | None = None,
        rewrite: str | None = None,
        severity: Severity | None = None,
        graded: bool | None = None,
        blocks: str | None = None,
    ) -> None:
        """Emit a finding for ``rule_id``; graded rules follow the size of ``table`` (None: no finding).

        ``rewrite`` is built from the statement (its real table, column, index and constraint
        names): there is no canned fallback text.
        """
        rule = self.rules[rule_id]
        chosen: Severity | None = severity or rule.severity
        if (rule.graded if graded is None else graded) and severity is None:
            grade = self.knowledge.grade(table)
            if grade is None:
                return
            if grade == "warning" and chosen == "error":
                chosen = "warning"
            if table is not None:
                message += self.knowledge.size_text(table)
        lock_mode = rule.lock if lock is None else lock
        assert chosen is not None
        self.findings.append(
            Finding(
                rule=rule_id,
                severity=chosen,
                path=self.path,
                line=self.line,
                column=self.column,
                statement=self.sql,
                message=message,
                lock=lock_mode,
                blocks=blocks or blocks_of(lock_mode),
                safe_rewrite=(rewrite or "").strip(),
                family=rule.family,
                section=self.section,
            )
        )

    def took_lock(self, table: str, lock: str) -> None:
        """Record a strong lock on an existing table (held until the transaction ends)."""
        if lock in STRONG_LOCKS and not self.knowledge.is_new(table):
            self.txn.strong_locks.append((table, lock, self.line))
