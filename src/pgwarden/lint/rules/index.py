"""Index rules: builds and drops that block writes, and CONCURRENTLY where PostgreSQL refuses it."""

from __future__ import annotations

from typing import Any

from pgwarden.lint.context import StatementContext, table_key
from pgwarden.lint.model import Rule, Severity
from pgwarden.lint.rules._util import Checker, checkers, name_of, with_concurrently
from pgwarden.lint.tree import kind_of, name_list

RULES = [
    Rule(
        "create-index-not-concurrently",
        "index",
        "error",
        "CREATE INDEX without CONCURRENTLY on an existing table",
        "A plain CREATE INDEX takes a SHARE lock on the table for the whole build: every INSERT, UPDATE and "
        "DELETE waits until the index is built, which takes minutes on a large table. CREATE INDEX "
        "CONCURRENTLY builds it while writes continue (it must run outside a transaction block).",
        "CREATE INDEX orders_customer_id_idx ON orders (customer_id);",
        "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);",
        lock="SHARE",
        graded=True,
    ),
    Rule(
        "concurrently-in-transaction",
        "index",
        "error",
        "A statement that cannot run inside a transaction block runs inside one",
        "CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY, DETACH PARTITION CONCURRENTLY, VACUUM and "
        "CREATE/DROP DATABASE fail with 'cannot run inside a transaction block'. A pgwarden (or dbmate) up "
        "section runs in one transaction unless its marker says transaction:false; a plain .sql file run by "
        "psql is in a transaction between BEGIN and COMMIT.",
        "-- migrate:up\nCREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);",
        "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);",
    ),
    Rule(
        "drop-index-not-concurrently",
        "index",
        "warning",
        "DROP INDEX without CONCURRENTLY",
        "DROP INDEX takes an ACCESS EXCLUSIVE lock on the index's table: it waits for every running query on the "
        "table and blocks all reads and writes queued behind it. DROP INDEX CONCURRENTLY waits for them "
        "without blocking anyone.",
        "DROP INDEX orders_status_idx;",
        "-- migrate:up transaction:false\nDROP INDEX CONCURRENTLY IF EXISTS orders_status_idx;",
        lock="ACCESS EXCLUSIVE",
    ),
    Rule(
        "reindex-not-concurrently",
        "index",
        "error",
        "REINDEX without CONCURRENTLY",
        "REINDEX locks out writes to the table and locks the index ACCESS EXCLUSIVE, so queries that would use "
        "the index block too, for the whole rebuild. REINDEX CONCURRENTLY (PostgreSQL 12+) rebuilds without "
        "blocking.",
        "REINDEX INDEX orders_customer_id_idx;",
        "-- migrate:up transaction:false\nREINDEX INDEX CONCURRENTLY orders_customer_id_idx;",
        lock="ACCESS EXCLUSIVE",
        graded=True,
    ),
]

CHECKERS: dict[str, list[Checker]] = {}


def in_transaction(ctx: StatementContext, what: str) -> None:
    if not ctx.in_transaction_block:
        return
    if ctx.raw:
        where = "inside BEGIN ... COMMIT"
        rewrite = f"COMMIT;\n{ctx.sql};\n-- (run it on its own, outside BEGIN ... COMMIT)"
    else:
        where = "in a transactional migration section"
        rewrite = f"-- migrate:{ctx.section} transaction:false\n{ctx.sql};"
    ctx.report(
        "concurrently-in-transaction",
        f"{what} cannot run inside a transaction block ({where}): the migration fails",
        rewrite=rewrite,
        lock="",
    )


def partitioned_index_rewrite(ctx: StatementContext, node: Any, partitions: list[str]) -> str:
    """CREATE INDEX ... ON ONLY the parent, each known partition's index built CONCURRENTLY, then attached."""
    from pgwarden.lint.rules._util import deparse, pg_ast

    name = node.idxname or f"{node.relation.relname}_idx"
    parent_stmt = pg_ast(ctx.sql)
    parent_stmt.concurrent = False
    parent_stmt.relation.inh = False
    parent_stmt.idxname = name
    lines = [f"{deparse(parent_stmt)};"]
    if not partitions:
        lines.append(
            f"-- then, for each partition of {name_of(node.relation)} (none known here), outside a "
            f"transaction: CREATE INDEX CONCURRENTLY ... ON <partition> (...); ALTER INDEX {name} "
            "ATTACH PARTITION ...;"
        )
        return "\n".join(lines)
    lines.append("-- next migration (transaction:false):\n-- migrate:up transaction:false")
    attach = []
    for partition in partitions:
        child = pg_ast(ctx.sql)
        child.concurrent = True
        child.relation.relname = partition.rsplit(".", 1)[-1]
        child.relation.schemaname = partition.rsplit(".", 1)[0] if "." in partition else None
        child.relation.inh = True
        child.idxname = f"{partition.rsplit('.', 1)[-1]}_{name}"[:63]
        lines.append(f"{deparse(child)};")
        attach.append(f"ALTER INDEX {name} ATTACH PARTITION {child.idxname};")
    return "\n".join(lines + attach)


@checkers(CHECKERS, "IndexStmt")
def _create_index(ctx: StatementContext, node: Any) -> None:
    key = table_key(node.relation)
    info = ctx.knowledge.table(key)
    if node.concurrent:
        in_transaction(ctx, "CREATE INDEX CONCURRENTLY")
        if info is not None and info.partitioned:
            ctx.report(
                "concurrent-index-on-partitioned",
                f"CREATE INDEX CONCURRENTLY on partitioned table {name_of(node.relation)} fails: "
                "PostgreSQL cannot build a partitioned index concurrently",
                rewrite=partitioned_index_rewrite(ctx, node, info.partitions),
            )
        return
    if not node.relation.inh:  # CREATE INDEX ... ON ONLY parent: catalog-only, invalid until partitions attach
        return
    index = f"{node.idxname} " if node.idxname else ""
    if info is not None and info.partitioned:
        rewrite = partitioned_index_rewrite(ctx, node, info.partitions)
    else:
        rewrite = f"-- migrate:up transaction:false\n{with_concurrently(ctx.sql)};"
    ctx.report(
        "create-index-not-concurrently",
        f"CREATE INDEX {index}on {name_of(node.relation)} blocks writes for the whole build",
        table=key,
        rewrite=rewrite,
    )
    ctx.took_lock(key, "SHARE")


@checkers(CHECKERS, "DropStmt")
def _drop_index(ctx: StatementContext, node: Any) -> None:
    if node.removeType != "OBJECT_INDEX":
        return
    if node.concurrent:
        in_transaction(ctx, "DROP INDEX CONCURRENTLY")
        return
    names = [".".join(name_list(obj)) for obj in node.objects or ()]
    tables = [ctx.knowledge.indexes.get(n) for n in names]
    if all(t is not None and ctx.knowledge.is_new(t) for t in tables):
        return
    rewrites = "\n".join(f"DROP INDEX CONCURRENTLY IF EXISTS {n};" for n in names)
    severity: Severity | None = None
    known = [t for t in tables if t is not None]
    if known and ctx.knowledge.live_mode:
        grades = [ctx.knowledge.grade(t) for t in known]
        severity = "warning" if "error" in grades or "warning" in grades else "info"
    ctx.report(
        "drop-index-not-concurrently",
        f"DROP INDEX {', '.join(names)} locks its table ACCESS EXCLUSIVE (reads and writes queue behind it)",
        rewrite=f"-- migrate:up transaction:false\n{rewrites}",
        severity=severity,
    )
    for t in known:
        ctx.took_lock(t, "ACCESS EXCLUSIVE")


def _concurrently(params: Any) -> bool:
    return any(
        p.defname == "concurrently"
        and (p.arg is None or bool(p.arg.boolval) or str(p.arg.sval or "").lower() in ("true", "on", "1"))
        for p in params or ()
    )


@checkers(CHECKERS, "ReindexStmt")
def _reindex(ctx: StatementContext, node: Any) -> None:
    what = f"REINDEX {node.kind.removeprefix('REINDEX_OBJECT_')}"
    if _concurrently(node.params):
        in_transaction(ctx, f"{what} CONCURRENTLY")
        return
    kind = node.kind
    target = name_of(node.relation) if node.relation is not None else (node.name or "")
    what_target = f"{what} {target}".strip()
    key = None
    if kind == "REINDEX_OBJECT_TABLE" and node.relation is not None:
        key = table_key(node.relation)
    elif kind == "REINDEX_OBJECT_INDEX" and node.relation is not None:
        key = ctx.knowledge.indexes.get(table_key(node.relation))
    if kind in ("REINDEX_OBJECT_DATABASE", "REINDEX_OBJECT_SYSTEM"):
        in_transaction(ctx, what)
    ctx.report(
        "reindex-not-concurrently",
        f"{what_target} blocks writes and the queries using its indexes until the rebuild ends",
        table=key,
        rewrite=f"-- migrate:up transaction:false\n{what} CONCURRENTLY {target}".strip() + ";",
    )


@checkers(CHECKERS, "VacuumStmt", "CreatedbStmt", "DropdbStmt", "AlterSystemStmt", "CreateTableSpaceStmt")
def _never_in_transaction(ctx: StatementContext, node: Any) -> None:
    kind = kind_of(node)
    if kind == "VacuumStmt" and not node.is_vacuumcmd:
        return  # ANALYZE may run in a transaction
    label = {
        "VacuumStmt": "VACUUM",
        "CreatedbStmt": "CREATE DATABASE",
        "DropdbStmt": "DROP DATABASE",
        "AlterSystemStmt": "ALTER SYSTEM",
        "CreateTableSpaceStmt": "CREATE TABLESPACE",
    }[kind]
    in_transaction(ctx, label)
