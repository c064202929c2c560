"""``pgwarden lint --execute``: apply the migrations on a scratch database and report what PostgreSQL refuses.

The scratch database lives on the embedded server (``scratch_url`` of the project,
a throw-away embedded server outside a project) and is dropped afterwards: nothing
reaches the target. It first holds the target's schema: the context files (the
applied migrations, or the files before the linted ones) are replayed; then each
linted file's up section runs the way ``migrate up`` runs it (a transactional section
inside one transaction, ``transaction:false`` and plain .sql files statement by
statement, psql style). Each statement runs under a savepoint, so one failure does not
hide the next; a failure becomes a ``runtime-error`` finding at the statement's
file:line with PostgreSQL's message and SQLSTATE. A statement that needs an extension
the scratch server lacks (pg_cron, uuid-ossp, pgcrypto, ...) becomes an
``extension-not-available`` warning naming it: not checked is never reported as passed.
Data changes are estimated with EXPLAIN on the scratch database just before they run
(``large-data-change``) unless the target already estimated them.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgwarden.lint.context import Knowledge, StatementContext, Transaction
from pgwarden.lint.engine import Settings, finish
from pgwarden.lint.model import ExecutionSummary, Finding, LintReport
from pgwarden.lint.sources import Unit
from pgwarden.lint.tree import func_calls, kind_of, root, tree_of

if TYPE_CHECKING:
    from pgwarden.config import Config

STATEMENT_TIMEOUT = "5min"
# Statements that act on the whole server (or need psql's input), not on the scratch database: never executed.
SERVER_WIDE = frozenset(
    {
        "CreatedbStmt",
        "DropdbStmt",
        "AlterDatabaseStmt",
        "AlterDatabaseSetStmt",
        "AlterDatabaseRefreshCollStmt",
        "AlterSystemStmt",
        "CreateTableSpaceStmt",
        "DropTableSpaceStmt",
        "AlterTableSpaceOptionsStmt",
        "CreateSubscriptionStmt",
        "AlterSubscriptionStmt",
        "DropSubscriptionStmt",
        "LoadStmt",
        "CheckPointStmt",
        "CopyStmt",
    }
)  # COPY reads a file or psql's stdin, neither of which the scratch run has
# Roles are server-wide: one created by an earlier run or by the DBA may or may not be on the scratch server.
ROLE_STATEMENTS = frozenset({"CreateRoleStmt", "AlterRoleStmt", "AlterRoleSetStmt", "DropRoleStmt"})
# Statements whose undefined object (42704) is a role the scratch server lacks.
ROLE_USERS = frozenset(
    {
        "GrantStmt",
        "GrantRoleStmt",
        "AlterDefaultPrivilegesStmt",
        "AlterOwnerStmt",
        "CreatePolicyStmt",
        "AlterPolicyStmt",
    }
)
# Static rules that already say the statement fails: no second finding from its execution.
FAILS_STATICALLY = frozenset(
    {
        "concurrently-in-transaction",
        "enum-value-used-in-same-transaction",
        "index-predicate-not-immutable",
        "create-existing-table",
        "partition-key-not-in-unique",
        "partition-of-non-partitioned",
        "concurrent-index-on-partitioned",
        "explicit-lock-table",
    }
)

# What marks a statement as needing an extension: schemas, functions and types it provides.
EXTENSION_OBJECTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "pg_cron": (frozenset({"cron"}), frozenset()),
    "uuid-ossp": (
        frozenset(),
        frozenset(
            {
                "uuid_generate_v1",
                "uuid_generate_v1mc",
                "uuid_generate_v3",
                "uuid_generate_v4",
                "uuid_generate_v5",
                "uuid_nil",
                "uuid_ns_dns",
                "uuid_ns_url",
                "uuid_ns_oid",
                "uuid_ns_x500",
            }
        ),
    ),
    "pgcrypto": (
        frozenset(),
        frozenset(
            {
                "crypt",
                "gen_salt",
                "digest",
                "hmac",
                "gen_random_bytes",
                "encrypt",
                "decrypt",
                "pgp_sym_encrypt",
                "pgp_sym_decrypt",
                "pgp_pub_encrypt",
                "pgp_pub_decrypt",
                "armor",
                "dearmor",
            }
        ),
    ),
    "postgis": (
        frozenset(),
        frozenset(
            {"st_makepoint", "st_setsrid", "st_distance", "st_dwithin", "st_geomfromtext", "geometry", "geography"}
        ),
    ),
    "vector": (frozenset(), frozenset({"vector", "l2_distance", "cosine_distance"})),
    "pg_trgm": (frozenset(), frozenset({"similarity", "word_similarity", "gin_trgm_ops", "gist_trgm_ops"})),
    "citext": (frozenset(), frozenset({"citext"})),
    "hstore": (frozenset(), frozenset({"hstore"})),
}


@dataclass
class _Run:
    """State of one execution: where it runs and what is missing there."""

    conn: Any
    knowledge: Knowledge
    settings: Settings
    report: LintReport
    estimate: bool
    available: set[str]
    missing: list[str] = field(default_factory=list)
    replay_failures: list[str] = field(default_factory=list)
    rules: dict[str, Any] = field(default_factory=dict)


@contextmanager
def scratch_url(config: Config | None) -> Iterator[tuple[str, str]]:
    """(URL of an empty scratch database, description) dropped afterwards.

    With a project: ``pgwarden.server.scratch_database`` (its ``scratch_url``, by
    default the project's embedded scratch server). Without one: a throw-away embedded
    server in a temporary folder, stopped and removed afterwards.
    """
    from pgwarden.server import FAST_SETTINGS, EmbeddedServer, database_url, ensure_database, scratch_database

    if config is not None:
        with scratch_database(config, "lint") as url:
            yield url, "a scratch database"
        return
    folder = Path(tempfile.mkdtemp(prefix="pgwarden-lint-"))
    server = EmbeddedServer(folder / "data", settings=FAST_SETTINGS)
    try:
        server.start()
        ensure_database(server.url("postgres"), "pgwarden_lint")
        yield database_url(server.url("postgres"), "pgwarden_lint"), "a throw-away embedded server"
    finally:
        server.destroy()  # also the relocated cluster when run as root (see pgwarden.server)
        shutil.rmtree(folder, ignore_errors=True)


def _names_in(tree: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(schemas, function and type names) a statement refers to, lower-case."""
    schemas: set[str] = set()
    names = set(func_calls(tree))
    stack: list[Any] = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key in ("FuncCall", "TypeName", "RangeVar"):
                inner = item.get(key)
                if isinstance(inner, dict):
                    if key == "RangeVar" and inner.get("schemaname"):
                        schemas.add(str(inner["schemaname"]).lower())
                    listed = inner.get("funcname") or inner.get("names") or []
                    parts = [n.get("String", {}).get("sval", "") for n in listed if isinstance(n, dict)]
                    if len(parts) > 1:
                        schemas.add(parts[0].lower())
                    if parts:
                        names.add(parts[-1].lower())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return schemas, names


def needed_extension(tree: dict[str, Any], node: Any) -> str | None:
    """The extension a statement creates or relies on (from EXTENSION_OBJECTS), None when none is recognised."""
    if kind_of(node) == "CreateExtensionStmt":
        return str(node.extname)
    schemas, names = _names_in(tree)
    for extension, (ext_schemas, ext_names) in EXTENSION_OBJECTS.items():
        if schemas & ext_schemas or names & ext_names:
            return extension
    return None


def _position(statement_sql: str, line: int, column: int, position: int | None) -> tuple[int, int]:
    """File line and column of the error position (1-based, in characters of the statement)."""
    if not position:
        return line, column
    before = statement_sql[: position - 1]
    newlines = before.count("\n")
    if newlines == 0:
        return line, column + len(before)
    return line + newlines, len(before) - before.rfind("\n")


def _failure(run: _Run, unit: Unit, statement: Any, node: Any, exc: Any) -> Finding | None:
    diag = exc.diag
    sqlstate = diag.sqlstate or "?"
    if sqlstate == "25P02":  # current transaction is aborted: the earlier failure was reported already
        return None
    message = diag.message_primary or str(exc).strip()
    line, column = _position(
        statement.sql,
        statement.line,
        statement.column,
        int(diag.statement_position) if diag.statement_position else None,
    )
    location = (str(unit.path), statement.line)
    if any((f.path, f.line) == location and f.rule in FAILS_STATICALLY for f in run.report.findings):
        return None
    extension = needed_extension(tree_of(statement), node)
    section = "up"
    if extension is not None and extension not in run.available:
        if extension not in run.missing:
            run.missing.append(extension)
        return Finding(
            "extension-not-available",
            "warning",
            str(unit.path),
            line,
            column,
            statement.sql,
            f"needs extension {extension}, which is not available on the scratch server: this statement "
            f"was not checked ({message}, SQLSTATE {sqlstate})",
            family="runtime",
            section=section,
            safe_rewrite=f"-- make sure the target server has {extension} installed, then:\n"
            f'CREATE EXTENSION IF NOT EXISTS "{extension}";',
        )
    if sqlstate == "42704" and kind_of(node) in ROLE_USERS:
        return Finding(
            "runtime-error",
            "warning",
            str(unit.path),
            line,
            column,
            statement.sql,
            f"{message} on the scratch server (roles belong to the server, not to the migrations): this "
            f"statement was not checked (SQLSTATE {sqlstate})",
            family="runtime",
            section=section,
            safe_rewrite="-- make sure the role exists on the target server (or create it in an earlier migration)",
        )
    detail = f"; {diag.message_detail}" if diag.message_detail else ""
    hint = f" (hint: {diag.message_hint})" if diag.message_hint else ""
    return Finding(
        "runtime-error",
        "error",
        str(unit.path),
        line,
        column,
        statement.sql,
        f"fails when executed: {message}{detail} (SQLSTATE {sqlstate}){hint}",
        family="runtime",
        section=section,
        safe_rewrite="-- fix the statement (or the order of statements) so that "
        "PostgreSQL accepts it; the same failure stops `migrate up`",
    )


def _estimate(run: _Run, unit: Unit, statement: Any, node: Any, txn: Transaction) -> None:
    from pgwarden.lint.datasize import plan_estimate
    from pgwarden.lint.rules.heavy import data_change_target, report_large_change

    if not run.estimate or data_change_target(node) is None:
        return
    ctx = StatementContext(
        str(unit.path),
        statement.line,
        statement.column,
        statement.sql,
        node,
        "up",
        unit.raw,
        txn,
        run.knowledge,
        True,
        run.rules,
    )
    report_large_change(ctx, plan_estimate(run.conn, statement.sql), "EXPLAIN on the scratch database")
    if ctx.findings:
        finish(ctx.findings, unit, statement.line, "up", run.settings, run.rules, run.report)


def _one(run: _Run, unit: Unit, statement: Any, *, report: bool, txn: Transaction) -> bool:
    """Run one statement under a savepoint (or on its own in autocommit); False when it failed."""
    import psycopg

    node = root(tree_of(statement))
    kind = kind_of(node)
    if kind == "Directive" or kind in SERVER_WIDE:
        return True  # a pgwarden:<directive> step is not SQL; server-wide statements would change the scratch server
    if report:
        _estimate(run, unit, statement, node, txn)
    try:
        if run.conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
            with run.conn.transaction():
                run.conn.execute(statement.sql)
        else:
            run.conn.execute(statement.sql)
        return True
    except psycopg.Error as exc:
        if exc.diag.sqlstate is None and not isinstance(exc, psycopg.DatabaseError):
            raise
        if kind in ROLE_STATEMENTS and exc.diag.sqlstate in ("42710", "42704"):
            return True  # the role is already there (an earlier run) or already gone: same outcome
        finding = _failure(run, unit, statement, node, exc) if report else None
        if finding is not None:
            finish([finding], unit, statement.line, "up", run.settings, run.rules, run.report)
        elif not report:
            extension = needed_extension(tree_of(statement), node)
            if extension is not None and extension not in run.available:
                if extension not in run.missing:
                    run.missing.append(extension)
            else:
                run.replay_failures.append(
                    f"{unit.path}:{statement.line}: {exc.diag.message_primary} (SQLSTATE {exc.diag.sqlstate})"
                )
        return False


def _unit(run: _Run, unit: Unit, *, report: bool) -> None:
    """Apply one section (or plain file) the way the migration runner (or psql) would."""
    import psycopg

    txn = Transaction(0, explicit=unit.transactional and not unit.raw)
    if not unit.raw and unit.transactional:
        with run.conn.transaction():
            for statement in unit.statements:
                _one(run, unit, statement, report=report, txn=txn)
        return
    for statement in unit.statements:
        node = root(tree_of(statement))
        if kind_of(node) == "TransactionStmt":
            try:
                run.conn.execute(statement.sql)
            except psycopg.Error:
                run.conn.rollback()
            continue
        _one(run, unit, statement, report=report, txn=txn)
    if run.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        run.conn.rollback()  # a plain file that left a transaction open: psql would roll it back at exit


def execute_units(
    units: list[Unit],
    config: Config | None,
    report: LintReport,
    *,
    knowledge: Knowledge,
    settings: Settings | None = None,
    estimated: bool = False,
) -> ExecutionSummary:
    """Apply ``units`` on a scratch database (context units replayed first) and add the failures to ``report``.

    Returns (and stores in ``report.execution``) how long it took, how many files were
    replayed and executed, and the extensions the scratch server lacks. Only up
    sections run. The target is never touched.
    """
    import psycopg

    from pgwarden.lint import registry

    started = time.perf_counter()
    linted = [u for u in units if not u.context and u.direction != "down"]
    context = [u for u in units if u.context and u.direction != "down"]
    with scratch_url(config) as (url, where), psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")
        available = {str(r[0]) for r in conn.execute("SELECT name FROM pg_available_extensions").fetchall()}
        run = _Run(
            conn, knowledge, settings or Settings(), report, not estimated, available, rules=dict(registry.all_rules())
        )
        analyzed = False
        for unit in units:
            if unit.direction == "down":
                continue
            if not unit.context and not analyzed:
                conn.execute("ANALYZE")  # statistics for the rows the replayed files inserted: real estimates
                analyzed = True
            _unit(run, unit, report=not unit.context)
    summary = ExecutionSummary(
        round(time.perf_counter() - started, 3),
        len({str(u.path) for u in context}),
        len({str(u.path) for u in linted}),
        where,
        sorted(run.missing),
        run.replay_failures,
    )
    report.execution = summary
    return summary
