"""Heavy operations: full rewrites under ACCESS EXCLUSIVE, and data changes that hold DDL locks."""

from __future__ import annotations

from typing import Any

from pgwarden.lint.context import StatementContext, table_key
from pgwarden.lint.model import Rule
from pgwarden.lint.rules._util import Checker, checkers, name_of
from pgwarden.lint.tree import kind_of

RULES = [
    Rule(
        "vacuum-full",
        "heavy",
        "error",
        "VACUUM FULL",
        "VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock: no reads or writes until it is done. "
        "Plain VACUUM (or pg_repack / pg_squeeze for bloat) runs alongside traffic.",
        "VACUUM FULL orders;",
        "-- migrate:up transaction:false\nVACUUM (ANALYZE) orders;",
        lock="ACCESS EXCLUSIVE",
        graded=True,
    ),
    Rule(
        "cluster",
        "heavy",
        "error",
        "CLUSTER",
        "CLUSTER rewrites the table in index order under an ACCESS EXCLUSIVE lock. Use pg_repack "
        "(--order-by) outside migrations, or accept the current order.",
        "CLUSTER orders USING orders_created_at_idx;",
        "-- outside migrations, online:\n-- pg_repack --table orders --order-by created_at",
        lock="ACCESS EXCLUSIVE",
        graded=True,
    ),
    Rule(
        "refresh-matview-not-concurrently",
        "heavy",
        "error",
        "REFRESH MATERIALIZED VIEW without CONCURRENTLY",
        "A plain refresh locks the view ACCESS EXCLUSIVE: every query reading it waits for the whole refresh. "
        "CONCURRENTLY (needs a unique index on the view) keeps it readable.",
        "REFRESH MATERIALIZED VIEW daily_sales;",
        "CREATE UNIQUE INDEX CONCURRENTLY daily_sales_day_key ON daily_sales (day);\n"
        "REFRESH MATERIALIZED VIEW CONCURRENTLY daily_sales;",
        lock="ACCESS EXCLUSIVE",
        graded=True,
    ),
    Rule(
        "table-rewrite",
        "heavy",
        "error",
        "ALTER TABLE that rewrites the table (SET TABLESPACE, SET LOGGED, ...)",
        "SET TABLESPACE, SET LOGGED / UNLOGGED, SET ACCESS METHOD and SET EXPRESSION copy or rewrite the whole "
        "table under an ACCESS EXCLUSIVE lock.",
        "ALTER TABLE events SET TABLESPACE fast_ssd;",
        "-- online alternative: pg_repack --table events --tablespace fast_ssd (outside migrations)",
        lock="ACCESS EXCLUSIVE",
        graded=True,
    ),
    Rule(
        "data-change-with-ddl",
        "heavy",
        "warning",
        "UPDATE, DELETE or INSERT ... SELECT in the same transaction as DDL that locks an existing table",
        "Locks are held until the transaction commits: a backfill that runs in the same transaction as an "
        "ALTER TABLE keeps that table's ACCESS EXCLUSIVE (or SHARE) lock for the whole data change. Run schema "
        "changes and data changes in separate migrations, and backfill in batches.",
        "-- migrate:up\nALTER TABLE users ADD COLUMN country text;\n"
        "UPDATE users SET country = 'unknown' WHERE country IS NULL;",
        "-- 001_add_country.sql\nALTER TABLE users ADD COLUMN country text;\n"
        "-- 002_backfill_country.sql (transaction:false, batches)\n"
        "UPDATE users SET country = 'unknown' WHERE id BETWEEN 1 AND 10000 AND country IS NULL;",
        lock="ACCESS EXCLUSIVE",
    ),
    Rule(
        "large-data-change",
        "heavy",
        "error",
        "UPDATE, DELETE or INSERT ... SELECT estimated over 10k rows or 10 MB in one transaction",
        "One statement that changes many rows is one long transaction: every changed row stays locked against "
        "other writers until it commits, replicas fall behind, and the dead row versions cannot be vacuumed "
        "until the end. pgwarden estimates the rows with EXPLAIN (on the target with --env, on the scratch "
        "database with --execute; the statement is never run on the target) and flags more than "
        "[lint] small_table_rows rows or small_table_size bytes. Batch it by key, one transaction per batch.",
        "UPDATE orders SET status = 'archived' WHERE created_at < '2024-01-01';",
        "-- migrate:up transaction:false\nDO $batch$\nDECLARE last_key bigint; batch_end bigint;\nBEGIN\n  LOOP\n"
        "    SELECT max(k) INTO batch_end FROM (SELECT id AS k FROM orders WHERE last_key IS NULL OR id > last_key\n"
        "      ORDER BY id LIMIT 10000) AS batch;\n    EXIT WHEN batch_end IS NULL;\n"
        "    UPDATE orders SET status = 'archived' WHERE ((last_key IS NULL OR orders.id > last_key)\n"
        "      AND orders.id <= batch_end) AND created_at < '2024-01-01';\n"
        "    last_key := batch_end;\n    COMMIT;\n  END LOOP;\nEND\n$batch$;",
        lock="ROW EXCLUSIVE",
        needs_database=True,
    ),
]

CHECKERS: dict[str, list[Checker]] = {}

_REWRITES = {
    "AT_SetTableSpace": "SET TABLESPACE",
    "AT_SetLogged": "SET LOGGED",
    "AT_SetUnLogged": "SET UNLOGGED",
    "AT_SetAccessMethod": "SET ACCESS METHOD",
    "AT_SetExpression": "SET EXPRESSION",
}


@checkers(CHECKERS, "VacuumStmt")
def _vacuum(ctx: StatementContext, node: Any) -> None:
    if not any(o.defname == "full" for o in node.options or ()):
        return
    rels = [r.relation for r in node.rels or () if r.relation is not None]
    if not rels:
        ctx.report(
            "vacuum-full",
            "VACUUM FULL of the whole database rewrites every table under ACCESS EXCLUSIVE",
            rewrite="-- migrate:up transaction:false\nVACUUM (ANALYZE);",
        )
    for rel in rels:
        ctx.report(
            "vacuum-full",
            f"VACUUM FULL {name_of(rel)} rewrites it under ACCESS EXCLUSIVE",
            table=table_key(rel),
            rewrite=f"-- migrate:up transaction:false\nVACUUM (ANALYZE) {name_of(rel)};",
        )


@checkers(CHECKERS, "ClusterStmt")
def _cluster(ctx: StatementContext, node: Any) -> None:
    target = name_of(node.relation) if node.relation is not None else "every clustered table"
    index = f" --order-by <the columns of {node.indexname}>" if node.indexname else ""
    ctx.report(
        "cluster",
        f"CLUSTER {target} rewrites it under ACCESS EXCLUSIVE",
        table=table_key(node.relation) if node.relation is not None else None,
        rewrite=f"-- outside migrations, online:\n-- pg_repack --table {target}{index}",
    )


@checkers(CHECKERS, "RefreshMatViewStmt")
def _refresh(ctx: StatementContext, node: Any) -> None:
    if node.concurrent:
        return
    name = name_of(node.relation)
    ctx.report(
        "refresh-matview-not-concurrently",
        f"REFRESH MATERIALIZED VIEW {name} blocks every read of it until the refresh ends",
        table=table_key(node.relation),
        rewrite=f"REFRESH MATERIALIZED VIEW CONCURRENTLY {name};  -- needs a unique index on {name}",
    )


@checkers(CHECKERS, "AlterTableStmt")
def _rewrites(ctx: StatementContext, node: Any) -> None:
    if node.objtype not in ("OBJECT_TABLE", "OBJECT_MATVIEW"):
        return
    for cmd in node.cmds or ():
        what = _REWRITES.get(cmd.subtype)
        if what:
            ctx.report(
                "table-rewrite",
                f"{what} rewrites {name_of(node.relation)} under ACCESS EXCLUSIVE",
                table=table_key(node.relation),
                rewrite=f"-- online, outside migrations: pg_repack --table {name_of(node.relation)}"
                + (f" --tablespace {cmd.name}" if cmd.subtype == "AT_SetTableSpace" else "")
                + f"\n-- or schedule {ctx.sql} for a maintenance window",
            )


def data_change_target(node: Any) -> str | None:
    """The table a backfill-like statement writes (UPDATE, DELETE, INSERT ... SELECT), else None."""
    kind = kind_of(node)
    if kind in ("UpdateStmt", "DeleteStmt"):
        return table_key(node.relation)
    if kind == "InsertStmt" and node.selectStmt is not None:
        select = node.selectStmt
        if select.valuesLists is None or select.fromClause:
            return table_key(node.relation)
    return None


def _over(knowledge: Any, rows: float, size: float) -> bool:
    return bool(rows > knowledge.small_rows or size > knowledge.small_size)


def report_large_change(ctx: StatementContext, estimate: tuple[float, int] | None, where: str) -> None:
    """Flag the data change of ``ctx`` when ``estimate`` (rows, bytes per row) is over the size thresholds.

    Without an estimate (EXPLAIN failed there) the whole live table bounds it: ``up to`` its rows.
    """
    from pgwarden.lint.context import human_rows
    from pgwarden.lint.rules._batch import backfill_rewrite, keyset_rewrite
    from pgwarden.units import human_size

    target = data_change_target(ctx.node)
    if target is None or target in BOOKKEEPING or ctx.knowledge.is_new(target):
        return
    knowledge = ctx.knowledge
    info = knowledge.table(target)
    per_row = (info.size / info.rows) if info is not None and info.size and info.rows else None
    if estimate is not None:
        rows, width = estimate
        size = rows * (per_row or width)
        how = f"about {human_rows(rows)} rows, {human_size(int(size))} ({where})"
    elif info is not None and info.live and info.rows is not None and kind_of(ctx.node) != "InsertStmt":
        rows, size = info.rows, float(info.size or 0)
        how = f"up to {human_rows(rows)} rows, {human_size(int(size))} (the whole table: EXPLAIN could not plan it)"
    else:
        return
    if not _over(knowledge, rows, size):
        return
    built = backfill_rewrite(ctx.sql) or keyset_rewrite(ctx.sql, knowledge, ctx.node)
    verb = {"UpdateStmt": "UPDATE", "DeleteStmt": "DELETE"}.get(kind_of(ctx.node), "INSERT ... SELECT")
    ctx.report(
        "large-data-change",
        f"{verb} on {target} touches {how} in one transaction: those rows stay locked until it commits",
        rewrite=built[0]
        if built
        else f"-- split it into batches of 10000 rows of {target} by its key, "
        "each batch its own transaction (transaction:false)",
        severity="error",
        blocks="writes",
    )


@checkers(CHECKERS, "UpdateStmt", "DeleteStmt", "InsertStmt")
def _large_change(ctx: StatementContext, node: Any) -> None:
    estimate = ctx.knowledge.estimate
    if estimate is None or ctx.section != "up" or data_change_target(node) is None:
        return
    report_large_change(ctx, estimate(ctx.sql), ctx.knowledge.estimate_where)


# Migration tools' own bookkeeping tables: their one-row updates are not backfills.
BOOKKEEPING = frozenset(
    {
        "alembic_version",
        "schema_migrations",
        "flyway_schema_history",
        "_prisma_migrations",
        "goose_db_version",
        "knex_migrations",
        "django_migrations",
        "__drizzle_migrations",
        "pgwarden.migrations",
        "pgwarden.events",
    }
)


def check_transaction(ctx: StatementContext, new_locks: list[tuple[str, str]]) -> None:
    """Flag a backfill that runs while the same transaction holds a DDL lock on an existing table (either order).

    UPDATE and DELETE count when they change a table the transaction's DDL locked;
    INSERT ... SELECT counts whenever a strong lock is held (it copies data).
    """
    if not ctx.txn.explicit:
        return
    target = data_change_target(ctx.node)
    if target in BOOKKEEPING:
        return
    is_insert = kind_of(ctx.node) == "InsertStmt"
    if target is not None and ctx.knowledge.is_new(target) and not is_insert:
        target = None
    if target is not None:
        held = [(t, lock, line) for t, lock, line in ctx.txn.strong_locks if is_insert or t == target]
        if held:
            table, lock, line = held[0]
            ctx.report(
                "data-change-with-ddl",
                f"this data change runs in the transaction that locked {table} {lock} (line {line}): the "
                "lock is held until the data change commits",
                lock=lock,
                rewrite=f"-- move it to the next migration, its own transaction (batched if large):\n"
                f"-- migrate:up transaction:false\n{ctx.sql};",
            )
        ctx.txn.data_changes.append((target, ctx.line))
    elif new_locks and ctx.txn.data_changes:
        for table, lock in new_locks:
            earlier = [(t, line) for t, line in ctx.txn.data_changes if t == table or t == "*insert*"]
            if earlier:
                ctx.report(
                    "data-change-with-ddl",
                    f"this DDL locks {table} {lock} in the transaction that already changed its data (line "
                    f"{earlier[0][1]}): the lock is held until the transaction commits",
                    lock=lock,
                    rewrite=f"-- move this DDL to the next migration (its own transaction):\n{ctx.sql};",
                )
                return
