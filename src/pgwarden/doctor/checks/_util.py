"""Small helpers shared by the checks: quoting names for fix SQL, formatting numbers."""

from __future__ import annotations

from typing import Any

from pgwarden.units import human_size


def qname(conn: Any, *parts: str) -> str:
    """``schema.name`` quoted as PostgreSQL needs it (via psycopg.sql.Identifier)."""
    from psycopg import sql

    return sql.Identifier(*parts).as_string(conn)


def seconds(value: float) -> str:
    """A short human duration: ``0.4s``, ``95s``, ``12min``, ``3.5h``, ``2.0d``."""
    if value < 10:
        return f"{value:.1f}s"
    if value < 120:
        return f"{value:.0f}s"
    if value < 7200:
        return f"{value / 60:.0f}min"
    if value < 172800:
        return f"{value / 3600:.1f}h"
    return f"{value / 86400:.1f}d"


def size(n_bytes: float) -> str:
    """A byte count as pg_size_pretty would show it."""
    return human_size(n_bytes)


def plural(n: int, word: str) -> str:
    """``1 index``, ``2 indexes`` (only the words the checks use)."""
    if n == 1:
        return f"1 {word}"
    return f"{n} {word}es" if word.endswith("index") else f"{n} {word}s"
