"""The check registry: each check is one small function registered under a name.

Guarantees: check names are unique; the report lists checks by category
(CATEGORY_ORDER), then in registration order; a check's ``why`` is the first
paragraph of its docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    from pgwarden.config import Config
    from pgwarden.doctor.model import Outcome


@dataclass
class CheckContext:
    """What a check may use: a connection inside the check's read-only transaction (timeouts set
    transaction-locally), thresholds, the project."""

    conn: psycopg.Connection[Any]
    thresholds: dict[str, float]
    config: Config | None
    env_name: str | None
    protected: bool
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    """The moment the checks judge against (injectable: ``run_doctor(now=...)``); timezone-aware UTC."""

    def rows(self, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run the SQL file ``sql/<name>.sql`` with named ``params``; rows as dicts."""
        return self.run(load_sql(name), params)

    def run(self, query: Any, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run ``query`` (text or psycopg.sql.Composed) with named ``params``; rows as dicts.

        The query runs in a savepoint, so a check may catch its error and go on querying.
        """
        from psycopg.rows import dict_row

        with self.conn.transaction(), self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, params or {})
            return cur.fetchall() if cur.description else []


CheckFn = Callable[[CheckContext], "Outcome"]


@dataclass(frozen=True)
class Check:
    """A registered check: its name, family, what it guards against and its function."""

    name: str
    category: str
    why: str
    fn: CheckFn
    heavy: bool = False


CHECKS: dict[str, Check] = {}


def check(name: str, category: str, *, heavy: bool = False) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated function as check ``name`` in ``category``.

    ``heavy`` checks (catalog-wide scans) are started first so the concurrent run ends sooner.
    """

    def register(fn: CheckFn) -> CheckFn:
        if name in CHECKS:
            raise ValueError(f"check {name!r} registered twice")
        why = (fn.__doc__ or "").strip().split("\n\n")[0]
        CHECKS[name] = Check(name, category, " ".join(why.split()), fn, heavy)
        return fn

    return register


@cache
def load_sql(name: str) -> str:
    """The text of ``pgwarden/doctor/sql/<name>.sql`` (pg_activity style: SQL kept as data)."""
    return (resources.files("pgwarden.doctor") / "sql" / f"{name}.sql").read_text(encoding="utf-8")


CATEGORY_ORDER = ("activity", "queries", "indexes", "tables", "maintenance", "partitions", "pgwarden")


def all_checks() -> dict[str, Check]:
    """Every check, in report order: by category (CATEGORY_ORDER), then registration order."""
    from pgwarden.doctor import checks  # noqa: F401 - registers on import

    rank = {c: i for i, c in enumerate(CATEGORY_ORDER)}
    ordered = sorted(CHECKS.values(), key=lambda c: rank.get(c.category, len(rank)))
    return {c.name: c for c in ordered}
