"""How many rows a data change touches: EXPLAIN (never the statement itself) on a database.

Guarantees: the statement is only planned, inside a transaction that is always
rolled back, with a short lock_timeout and statement_timeout; any failure (the
statement refers to objects that do not exist there yet, a lock it cannot get)
gives None, never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

LOCK_TIMEOUT = "1s"
STATEMENT_TIMEOUT = "5s"


def plan_estimate(conn: Any, statement: str) -> tuple[float, int] | None:
    """(rows, bytes per row) the planner expects ``statement`` (UPDATE/DELETE/INSERT ... SELECT) to touch."""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            conn.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
            row = conn.execute("EXPLAIN (FORMAT JSON) " + statement).fetchone()
    except Exception:  # noqa: BLE001 - an estimate is optional; no estimate is reported as such
        return None
    doc = row[0] if isinstance(row[0], list) else json.loads(row[0])
    plan = doc[0]["Plan"]
    if plan.get("Node Type") == "ModifyTable" and plan.get("Plans"):
        plan = plan["Plans"][0]
    return float(plan.get("Plan Rows", 0)), int(plan.get("Plan Width", 0))


def estimator(conn: Any) -> Callable[[str], tuple[float, int] | None]:
    """A function estimating one statement on ``conn`` (see :func:`plan_estimate`)."""
    return lambda statement: plan_estimate(conn, statement)
