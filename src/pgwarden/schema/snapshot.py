"""A comparable picture of a database schema, read from the system catalog."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from pgwarden.schema import normalise, queries

KINDS: tuple[str, ...] = tuple(queries.BY_KIND)
DEFAULT_EXCLUDED_SCHEMAS: tuple[str, ...] = ("pgwarden",)

Objects = dict[str, dict[str, Any]]


# Attributes compared by meaning rather than as text: (kind, attribute) -> normaliser.
def _sorted(value: Any) -> Any:
    # Options (reloptions, attoptions, server options) compare as sets: the order they were set in is not meaning.
    return sorted(value) if isinstance(value, list) else value


_NORMALISED: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("functions", "body"): normalise.code,
    **{(kind, "options"): _sorted for kind in ("tables", "columns", "indexes", "views", "servers")},
    ("tables", "foreign_options"): _sorted,
}


@dataclass(frozen=True)
class Snapshot:
    """Every user object of one database by kind, then by qualified name, with its compared attributes.

    ``meta`` holds, per kind and name, what is not compared but helps to render and
    classify (``schema``, ``table``, quoted names, PostgreSQL's own DDL, column position).
    Two databases built by the same statements give equal snapshots whatever their
    OIDs, data or sequence positions. ``excluded`` counts, per left-out schema, the
    relations and functions it holds (they are not compared).
    """

    kinds: dict[str, Objects] = field(default_factory=dict)
    meta: dict[str, Objects] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)

    def objects(self, kind: str) -> Objects:
        """The objects of ``kind`` (one of :data:`KINDS`) by name: their compared attributes."""
        return self.kinds.get(kind, {})

    def info(self, kind: str, name: str) -> dict[str, Any]:
        """The not-compared facts about one object (empty when unknown)."""
        return self.meta.get(kind, {}).get(name, {})

    def count(self) -> int:
        """How many objects the snapshot holds, all kinds together."""
        return sum(len(self.objects(kind)) for kind in KINDS)


def _combined(conn: psycopg.Connection[Any], exclude_schemas: tuple[str, ...]) -> str:
    # Every kind in one statement (one round trip, one plan): each kind's rows as one JSON array.
    # The excluded schemas are written into the text (no parameters), so the statement can be
    # prepared once per connection: a round trip over a long history plans it once.
    excluded = sql.Literal(list(exclude_schemas)).as_string(conn) + "::text[]"
    parts = [
        f"(SELECT coalesce(json_agg(q), '[]') FROM ({text}) q) AS {kind}"
        for kind, text in (*queries.BY_KIND.items(), ("excluded", queries.EXCLUDED_COUNT))
    ]
    return ("SELECT " + ",\n".join(parts)).replace("%(exclude)s", excluded).replace("%%", "%")


# Rendered expressions (partition bounds, defaults, view bodies) depend on these settings;
# fixing them makes snapshots of two servers comparable.
SETTINGS: dict[str, str] = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, MDY",
    "IntervalStyle": "postgres",
    "extra_float_digits": "1",
    "search_path": "public",
}


def session_options() -> str:
    """libpq ``options`` that give a new session :data:`SETTINGS` (so snapshots need not set them)."""
    return " ".join(f"-c {name}={value.replace(' ', '')}" for name, value in SETTINGS.items())


def _ensure_settings(conn: psycopg.Connection[Any]) -> None:
    names = list(SETTINGS)
    row = conn.execute("SELECT " + ", ".join(f"current_setting('{name}')" for name in names)).fetchone()
    for name, have in zip(names, row or (), strict=False):
        if have != SETTINGS[name]:
            # Local to the caller's transaction. Changing search_path makes PostgreSQL plan the prepared
            # statement again, so a long round trip opens its session with session_options() instead.
            conn.execute("SELECT set_config(%s, %s, true)", (name, SETTINGS[name]))


def _split(kind: str, rows: list[dict[str, Any]]) -> tuple[Objects, Objects]:
    # JSON gives plain values already; only the attributes compared by meaning are rewritten.
    if not rows:
        return {}, {}
    names = [name for name in rows[0] if name != "key" and not name.startswith("meta_")]
    metas = [(name, name[5:]) for name in rows[0] if name.startswith("meta_")]
    rewrite = [(name, _NORMALISED[(kind, name)]) for name in names if (kind, name) in _NORMALISED]
    found: Objects = {}
    facts: Objects = {}
    for record in rows:
        key = record["key"]
        attributes = {name: record[name] for name in names}
        for name, normaliser in rewrite:
            attributes[name] = normaliser(attributes[name])
        found[key] = attributes
        facts[key] = {short: record[name] for name, short in metas}
    return found, facts


def read_snapshot(
    conn: psycopg.Connection[Any], exclude_schemas: tuple[str, ...] = DEFAULT_EXCLUDED_SCHEMAS
) -> Snapshot:
    """Read every kind of object on ``conn`` as it is now, inside the caller's transaction.

    One prepared statement for all kinds (:data:`queries.BY_KIND`), never one per object.
    Settings in :data:`SETTINGS` that differ in the session are set for the rest of the
    caller's transaction (``set_config(..., true)``); nothing else is changed. ``conn``
    must be in a transaction (not autocommit).
    """
    kinds: dict[str, Objects] = {}
    meta: dict[str, Objects] = {}
    _ensure_settings(conn)
    row = conn.execute(_combined(conn, exclude_schemas), prepare=True).fetchone()
    assert row is not None
    for kind, rows in zip(queries.BY_KIND, row, strict=False):
        kinds[kind], meta[kind] = _split(kind, rows)
    excluded = {str(r["schema"]): int(r["objects"]) for r in row[-1] if r["objects"]}
    return Snapshot(kinds, meta, excluded)


def take_snapshot(
    conn: psycopg.Connection[Any], exclude_schemas: tuple[str, ...] = DEFAULT_EXCLUDED_SCHEMAS
) -> Snapshot:
    """Read every kind of object from the catalog of ``conn``'s database (read-only, one snapshot).

    Runs in one REPEATABLE READ READ ONLY transaction so all kinds come from the
    same moment; schemas in ``exclude_schemas`` (pgwarden's own by default) are
    skipped and only counted. Leaves ``conn`` in the autocommit mode it had.
    """
    was_autocommit = conn.autocommit
    if not was_autocommit:
        conn.rollback()
    conn.autocommit = False
    try:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return read_snapshot(conn, exclude_schemas)
    finally:
        conn.rollback()
        conn.autocommit = was_autocommit


def snapshot_of(url: str, exclude_schemas: tuple[str, ...] = DEFAULT_EXCLUDED_SCHEMAS) -> Snapshot:
    """:func:`take_snapshot` of the database at ``url`` on a connection of its own."""
    from pgwarden.db import connect

    with connect(url) as conn:
        return take_snapshot(conn, exclude_schemas)
