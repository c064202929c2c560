"""Locking rules: explicit LOCK TABLE, and strong locks taken without lock_timeout in raw files."""

from __future__ import annotations

from typing import Any

from pgwarden.lint.context import StatementContext, table_key
from pgwarden.lint.model import Rule
from pgwarden.lint.rules._util import Checker, checkers, name_of

RULES = [
    Rule(
        "missing-lock-timeout",
        "locking",
        "info",
        "A strong lock is taken without SET lock_timeout (plain .sql files only)",
        "Even a fast ALTER TABLE waits for its ACCESS EXCLUSIVE lock behind any long-running query, and every "
        "query on the table then queues behind it: a one-millisecond change becomes an outage. lock_timeout "
        "makes it give up (and retry) instead. pgwarden's runner always sets it; plain files must do it "
        "themselves.",
        "ALTER TABLE users ADD COLUMN nickname text;",
        "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN nickname text;",
        lock="ACCESS EXCLUSIVE",
    ),
    Rule(
        "explicit-lock-table",
        "locking",
        "error",
        "LOCK TABLE in SHARE mode or stronger",
        "An explicit LOCK TABLE blocks writes (SHARE and stronger) or everything (ACCESS EXCLUSIVE) until the "
        "transaction ends, for as long as the rest of the migration takes.",
        "BEGIN;\nLOCK TABLE orders IN ACCESS EXCLUSIVE MODE;\nUPDATE orders SET status = 'x' WHERE id = 1;\nCOMMIT;",
        "-- rely on the locks the statements take themselves, with a lock_timeout:\n"
        "SET lock_timeout = '2s';\nUPDATE orders SET status = 'x' WHERE id = 1;",
        lock="ACCESS EXCLUSIVE",
        graded=True,
    ),
]

CHECKERS: dict[str, list[Checker]] = {}

_MODES = {5: "SHARE", 6: "SHARE ROW EXCLUSIVE", 7: "EXCLUSIVE", 8: "ACCESS EXCLUSIVE"}


@checkers(CHECKERS, "LockStmt")
def _lock(ctx: StatementContext, node: Any) -> None:
    mode = _MODES.get(node.mode)
    if ctx.raw and not ctx.in_transaction_block:
        ctx.report(
            "explicit-lock-table",
            "LOCK TABLE outside BEGIN ... COMMIT fails ('LOCK TABLE can only be used in transaction blocks')",
            severity="error",
            lock=mode or "",
            rewrite=f"BEGIN;\n{ctx.sql};\n-- the statements that need the lock\nCOMMIT;",
        )
        return
    if mode is None:
        return
    for rel in node.relations:
        ctx.report(
            "explicit-lock-table",
            f"LOCK TABLE {name_of(rel)} IN {mode} MODE blocks "
            f"{'reads and writes' if mode == 'ACCESS EXCLUSIVE' else 'writes'} until the transaction ends",
            table=table_key(rel),
            lock=mode,
            rewrite=f"-- drop the LOCK TABLE {name_of(rel)}: each statement takes the lock it needs; "
            f"bound the wait instead:\nSET lock_timeout = '2s';",
        )


def check_lock_timeout(ctx: StatementContext, locks: list[tuple[str, str]]) -> bool:
    """Report ``missing-lock-timeout`` for a raw file's first strong lock without lock_timeout; True if reported."""
    from pgwarden.lint.model import STRONG_LOCKS

    if not ctx.raw or ctx.lock_timeout:
        return False
    for table, lock in locks:
        if lock in STRONG_LOCKS and not ctx.knowledge.is_new(table):
            ctx.report(
                "missing-lock-timeout",
                f"{lock} lock on {table} without lock_timeout: if it has to wait, every query on {table} "
                "queues behind it",
                lock=lock,
                rewrite=f"SET lock_timeout = '2s';\n{ctx.sql};",
            )
            return True
    return False
