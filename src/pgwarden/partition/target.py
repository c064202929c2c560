"""Where partition work happens: the one place the partition package resolves a database.

Commands resolve ``config`` + ``env`` here (so the environment's policy is applied
once, with the intent of the command); the migration directive builds a
:class:`Where` from the runner's own connection instead (the runner already passed
the policy for the whole ``migrate up``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    from pgwarden.config import Config
    from pgwarden.db import LockRetryPolicy


@dataclass(frozen=True)
class Where:
    """A database to work on: its URL (never printed), the environment's name and its lock-retry policy."""

    url: str
    env: str
    policy: LockRetryPolicy


def resolve(config: Config, env: str | None, *, changes: bool, may_lose_rows: bool = True) -> Where:
    """The environment ``env`` of ``config``; ``changes`` says whether the command changes the schema.

    A change that cannot lose a row (``may_lose_rows=False``: only new, empty partitions
    and rows moved inside the table) is admitted as an additive change: confirmed on a
    protected database, without the verified backup a schema change takes first.
    """
    from pgwarden.db import Intent, LockRetryPolicy, resolve_target

    intent = Intent.READ
    if changes:
        intent = Intent.SCHEMA_CHANGE if may_lose_rows else Intent.ADDITIVE_CHANGE
    target = resolve_target(config, env, intent=intent)
    return Where(target.url, target.env_name, LockRetryPolicy.from_config(config, target.env))


def of_connection(conn: psycopg.Connection[Any], policy: LockRetryPolicy) -> Where:
    """The database ``conn`` is connected to (same user and password), for opening more sessions to it."""
    from psycopg.conninfo import make_conninfo

    password = conn.info.password
    url = make_conninfo(conn.info.dsn, **({"password": password} if password else {}))
    return Where(url, "migration", policy)
