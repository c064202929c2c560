"""The handlers of migration directives (``-- pgwarden:<name> key=value …`` steps).

The migration runner hands a directive step to :func:`run`, which calls the domain package that
owns it. Handlers are named here by module path and imported only when a migration uses them,
so the runner does not depend on every domain. A handler gets the runner's work connection
(autocommit, outside any transaction), the directive's arguments, the lock-retry policy and the
``file:line`` to name in errors; it must be resumable: after a crash the runner calls it again
with the same arguments and it continues where it stopped.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol

from pgwarden.errors import MigrationFileError

if TYPE_CHECKING:
    import psycopg

    from pgwarden.db import LockRetryPolicy

HANDLERS = {
    "backfill": "pgwarden.backfill.api:run_directive",
    "partition-convert": "pgwarden.partition.api:run_directive",
}


class Handler(Protocol):
    def __call__(
        self, conn: psycopg.Connection[Any], args: dict[str, str], *, policy: LockRetryPolicy, where: str
    ) -> None: ...


def handler(name: str) -> Handler:
    """The function that carries out directive ``name``."""
    target = HANDLERS.get(name)
    if target is None:
        raise MigrationFileError(f"unknown directive 'pgwarden:{name}' (known: {', '.join(HANDLERS)})")
    module, function = target.split(":")
    found: Handler = getattr(importlib.import_module(module), function)
    return found


def run(conn: psycopg.Connection[Any], name: str, args: dict[str, str], *, policy: LockRetryPolicy, where: str) -> None:
    """Carry out one directive step on ``conn``; errors are PgwardenError subclasses naming ``where``."""
    handler(name)(conn, args, policy=policy, where=where)


def require_args(
    args: dict[str, str], *, required: tuple[str, ...], optional: tuple[str, ...], where: str, name: str
) -> None:
    """MigrationFileError (exit 2) naming ``where`` when an argument is missing or unknown."""
    missing = [key for key in required if not args.get(key)]
    if missing:
        raise MigrationFileError(f"{where}: pgwarden:{name} needs {', '.join(f'{k}=' for k in missing)}")
    unknown = sorted(set(args) - set(required) - set(optional))
    if unknown:
        raise MigrationFileError(
            f"{where}: pgwarden:{name} has no argument {unknown[0]!r} (known: {', '.join(required + optional)})"
        )
