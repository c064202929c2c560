"""A comparable picture of a database schema, read from the system catalog."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from pgwarden.schema import queries

KINDS: tuple[str, ...] = tuple(queries.BY_KIND)
DEFAULT_EXCLUDED_SCHEMAS: tuple[str, ...] = ("pgwarden",)

Objects = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Snapshot:
    """Every user object of one database by kind, then by qualified name, with its compared attributes.

    Two databases built by the same statements give equal snapshots whatever
    their OIDs, owners, data or sequence positions.
    """

    schemas: Objects = field(default_factory=dict)
    extensions: Objects = field(default_factory=dict)
    tables: Objects = field(default_factory=dict)
    columns: Objects = field(default_factory=dict)
    partitions: Objects = field(default_factory=dict)
    indexes: Objects = field(default_factory=dict)
    constraints: Objects = field(default_factory=dict)
    sequences: Objects = field(default_factory=dict)
    views: Objects = field(default_factory=dict)
    functions: Objects = field(default_factory=dict)
    triggers: Objects = field(default_factory=dict)
    enums: Objects = field(default_factory=dict)

    def objects(self, kind: str) -> Objects:
        """The objects of ``kind`` (one of :data:`KINDS`)."""
        value: Objects = getattr(self, kind)
        return value

    def count(self) -> int:
        """How many objects the snapshot holds, all kinds together."""
        return sum(len(self.objects(kind)) for kind in KINDS)


def _normalise(value: Any) -> Any:
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    return str(value)


def take_snapshot(conn: psycopg.Connection[Any],
                  exclude_schemas: tuple[str, ...] = DEFAULT_EXCLUDED_SCHEMAS) -> Snapshot:
    """Read every kind of object from the catalog of ``conn``'s database (read-only, one snapshot).

    Runs in one REPEATABLE READ READ ONLY transaction so all kinds come from the
    same moment; schemas in ``exclude_schemas`` (pgwarden's own by default) are skipped.
    """
    found: dict[str, Objects] = {}
    was_autocommit = conn.autocommit
    if not was_autocommit:
        conn.rollback()
    conn.autocommit = False
    try:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        # Rendered expressions (partition bounds, defaults, view bodies) depend on these settings;
        # fixing them makes snapshots of two servers comparable.
        conn.execute("SELECT set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true), "
                     "set_config('search_path', 'public', true), set_config('extra_float_digits', '1', true)")
        for kind, sql_text in queries.BY_KIND.items():
            cur = conn.execute(sql_text, {"exclude": list(exclude_schemas)})
            names = [column.name for column in cur.description or []][1:]
            found[kind] = {row[0]: {n: _normalise(v) for n, v in zip(names, row[1:], strict=True)}
                           for row in cur.fetchall()}
        conn.rollback()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.autocommit = was_autocommit
    return Snapshot(**found)


def snapshot_of(url: str, exclude_schemas: tuple[str, ...] = DEFAULT_EXCLUDED_SCHEMAS) -> Snapshot:
    """:func:`take_snapshot` of the database at ``url`` on a connection of its own."""
    from pgwarden.db import connect

    with connect(url) as conn:
        return take_snapshot(conn, exclude_schemas)
