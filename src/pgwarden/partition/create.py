"""``partition create``: turn an existing, empty table's layout into a partitioned table.

Guarantees: atomic (one transaction: the twin is built, partitions for the
current period and ``premake`` ahead are created, the original is dropped and
the twin takes its name, sequences keep counting); indexes are declared on the
parent; a primary key or unique constraint lacking the partition key is
extended with it and reported. A table holding rows is refused (exit 5) with a
pointer to ``partition convert``.

Lock profile: ACCESS EXCLUSIVE on the (empty) table for the length of that
transaction (milliseconds), acquired under ``lock_timeout`` with retries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from psycopg import sql

from pgwarden.errors import Refused
from pgwarden.partition import ddl
from pgwarden.partition.inspect import TIME_TYPES, open_session, table_info
from pgwarden.partition.naming import default_name, hash_name, shorten, wanted_periods

if TYPE_CHECKING:
    from pgwarden.partition.inspect import TableInfo
    from pgwarden.partition.spec import Layout
    from pgwarden.partition.target import Where


@dataclass
class CreateResult:
    """What ``partition create`` built."""

    table: str
    key: str
    strategy: str
    partitions: list[str]
    default_partition: str | None
    key_changes: list[ddl.KeyChange] = field(default_factory=list)


def check_key(info: TableInfo, layout: Layout) -> None:
    """Refuse a key that does not exist or has a type the chosen strategy cannot use."""
    column = info.column(layout.key)
    if layout.strategy == "range" and column.type not in TIME_TYPES:
        raise Refused(
            f"{info.qualified}.{layout.key} is {column.type}; interval partitioning needs a "
            "timestamptz, timestamp or date column",
            hint="choose a time column or use --modulus",
        )


def partition_statements(
    layout: Layout,
    key_type: str,
    parent: str,
    now: datetime,
    first: datetime | None = None,
    last: datetime | None = None,
) -> tuple[list[ddl.Statement], list[str], str | None]:
    """``CREATE TABLE ... PARTITION OF`` for a parent created in the same transaction.

    Range: from the period holding ``first`` (default ``past`` periods before ``now``) to ``premake`` periods
    after ``now`` (or the period holding ``last`` if later); hash: every remainder.
    Returns (statements, partition names, default name).
    """
    statements: list[ddl.Statement] = []
    names: list[str] = []
    if layout.modulus:
        for remainder in range(layout.modulus):
            name = hash_name(layout.table, remainder)
            statements.append(ddl.partition_of(layout.schema, parent, name, ddl.hash_bounds(layout.modulus, remainder)))
            names.append(name)
        return statements, names, None
    assert layout.interval is not None
    wanted = wanted_periods(layout.table, layout.interval, now, layout.premake, layout.past)
    if first is not None and first < wanted[0].lower:
        from pgwarden.partition.naming import periods

        wanted = periods(layout.table, layout.interval, first, wanted[0].lower)[:-1] + wanted
    if last is not None and last >= wanted[-1].upper:
        from pgwarden.partition.naming import periods

        wanted = wanted + periods(layout.table, layout.interval, wanted[-1].upper, last)
    for period in wanted:
        statements.append(
            ddl.partition_of(layout.schema, parent, period.name, ddl.range_bounds(period.lower, period.upper, key_type))
        )
        names.append(period.name)
    default = None
    if layout.default_partition:
        default = default_name(layout.table)
        statements.append(ddl.partition_of(layout.schema, parent, default, sql.SQL("DEFAULT")))
    return statements, names, default


def create(where: Where, layout: Layout, *, widen_unique: bool = False, now: datetime | None = None) -> CreateResult:
    """Replace the empty table ``layout.name`` by a partitioned one with the same layout (see module doc).

    A unique constraint that would have to include the partition key is refused
    (exit 5) unless ``widen_unique``; sequences keep their names.
    """
    from pgwarden.events import record_event

    now = now or datetime.now(UTC)
    policy = where.policy
    conn = open_session(where.url)
    try:
        info = table_info(conn, layout.name)
        if info.partitioned:
            raise Refused(
                f"{info.qualified} is already partitioned",
                hint="add a [[partitions]] entry and run `pgwarden partition maintain`",
            )
        check_key(info, layout)
        new_name = shorten(layout.table, "_pgw_new")
        twin = ddl.partitioned_twin(conn, info, new_name, layout.strategy, [layout.key], widen_unique=widen_unique)
        parts, names, default = partition_statements(layout, info.column(layout.key).type, new_name, now)
        result = CreateResult(info.qualified, layout.key, layout.strategy, names, default, twin.key_changes)

        def build() -> None:
            conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(ddl.ident(info.schema, info.name)))
            has_rows = conn.execute(
                sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(ddl.ident(info.schema, info.name))
            ).fetchone()
            if has_rows and has_rows[0]:
                raise Refused(
                    f"{info.qualified} holds rows; `partition create` only reshapes an empty table",
                    hint=f"convert it online: pgwarden partition convert {info.qualified_name.shell()} "
                    f"--key {layout.key} "
                    + (f"--interval '{layout.interval.value}'" if layout.interval else f"--modulus {layout.modulus}"),
                )
            for statement in [*twin.create, *parts]:
                conn.execute(statement)
            for statement in ddl.swap_statements(conn, info, twin, new_name, old_name=None):  # the twin exists now
                conn.execute(statement)

        ddl.run_locked(conn, build, policy, what=f"partition create {info.qualified}")
        record_event(
            conn,
            "partition.create",
            info.qualified,
            "ok",
            {
                "partitions": names,
                "default": default,
                "key": layout.key,
                "key_changes": [c.__dict__ for c in twin.key_changes],
            },
        )
        return result
    finally:
        conn.close()
