"""``pgwarden migrate reset``: drop and re-create an environment's database, then migrate up."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from pgwarden.config import Config
from pgwarden.db import Intent, connect, resolve_target
from pgwarden.errors import Refused
from pgwarden.guards import Confirm, confirm_or_refuse
from pgwarden.migrations import api as commands
from pgwarden.migrations.api import MigrateResult
from pgwarden.migrations.runner import Reporter

MAINTENANCE_DB = "postgres"
_NEVER_DROP = {"postgres", "template0", "template1"}


@dataclass(frozen=True)
class ResetResult:
    env: str
    database: str
    migrate: MigrateResult


def reset(
    config: Config,
    env: str | None = None,
    *,
    yes: bool = False,
    confirm: Confirm | None = None,
    reporter: Reporter | None = None,
) -> ResetResult:
    """Drop ``env``'s database (closing its sessions), create it empty and apply every migration.

    Refused (exit 5) on a protected environment whatever the flags, on the
    ``postgres`` and template databases, and without ``yes`` or a typed
    confirmation. Works for embedded and URL environments: the drop and the
    create run on the server's ``postgres`` maintenance database.
    """
    from pgwarden.server import database_url

    name, _ = config.environment(env)
    target = resolve_target(config, name, intent=Intent.DESTRUCTIVE)
    with connect(target.url) as conn:
        database = conn.info.dbname
    if database in _NEVER_DROP:
        raise Refused(
            f"migrate reset will not drop the {database!r} database of {name}",
            hint="point the environment at an application database",
        )
    confirm_or_refuse(f"dropping database {database} of {name}", database, yes=yes, confirm=confirm)
    with connect(database_url(target.url, MAINTENANCE_DB)) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    return ResetResult(name, database, commands.up(config, name, reporter=reporter))
