"""Small helpers shared by the checks: quoting names for fix SQL, formatting numbers."""

from __future__ import annotations

from typing import Any

from pgwarden.units import human_size


def qname(conn: Any, *parts: str) -> str:
    """``schema.name`` quoted as PostgreSQL needs it (via psycopg.sql.Identifier)."""
    from psycopg import sql

    return sql.Identifier(*parts).as_string(conn)


def seconds(value: float) -> str:
    """A short human duration (see :func:`pgwarden.units.human_duration`)."""
    from pgwarden.units import human_duration

    return human_duration(value)


def size(n_bytes: float) -> str:
    """A byte count as pg_size_pretty would show it."""
    return human_size(n_bytes)


def plural(n: int, word: str) -> str:
    """``1 index``, ``2 indexes`` (only the words the checks use)."""
    if n == 1:
        return f"1 {word}"
    return f"{n} {word}es" if word.endswith("index") else f"{n} {word}s"
