"""Preflight and post-deploy checks, one small function each: raise a PgwardenError or return a detail."""

from __future__ import annotations

from typing import Any

import psycopg

from pgwarden.config import Config
from pgwarden.errors import ProblemsFound
from pgwarden.migrations.plan import RESUMABLE_STATES, MigrationState
from pgwarden.sources import MigrationFile

HEALTH_QUERY = "SELECT count(*) FROM pg_catalog.pg_class"
INVALID_INDEXES = """
SELECT n.nspname || '.' || c.relname
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid
ORDER BY 1
"""


def server_version(conn: psycopg.Connection[Any]) -> str:
    """The server's version as ``major.minor``."""
    number = conn.info.server_version
    return f"{number // 10000}.{number % 10000}"


def no_changed_files(states: list[MigrationState]) -> str:
    """Refuse (exit 1) when an applied file was edited, failed half-way is reported as resumable."""
    changed = [s for s in states if s.state == "changed"]
    if changed:
        names = ", ".join(f"{s.version}_{s.name}" for s in changed)
        raise ProblemsFound(
            f"applied migration(s) edited since they ran: {names}; nothing was changed",
            hint="restore the original file, or record the edit with `pgwarden migrate repair`",
        )
    resumable = [s.version for s in states if s.state in RESUMABLE_STATES]
    return f"no edited files{'; will resume ' + ', '.join(resumable) if resumable else ''}"


def lint_clean(config: Config, files: list[MigrationFile], env: str) -> str:
    """Lint the pending files under the one lint gate policy (``pgwarden.migrations.gate``)."""
    from pgwarden.migrations.gate import lint_gate

    warnings = lint_gate(config, files, env_name=env, protected=config.environment(env)[1].protected)
    return f"{len(files)} file(s), no blocking findings" + (f"; {len(warnings)} warning(s)" if warnings else "")


def all_reversible(files: list[MigrationFile]) -> str:
    """Each pending migration has a down section or is explicitly marked irreversible (else exit 1)."""
    missing = [f for f in files if f.down is None]
    if missing:
        raise ProblemsFound(
            f"{missing[0].path}: no down section; add one, or mark it "
            "'-- migrate:down irreversible' to say there is no way back; nothing was changed"
        )
    irreversible = [f.version for f in files if not f.reversible]
    return "all have a down section" + (f"; irreversible: {', '.join(irreversible)}" if irreversible else "")


def phases_respected(url: str, files: list[MigrationFile]) -> str:
    """Expand/contract: refuse (exit 5) a contract step deployed with its expand, or while the column it drops is read.

    See :mod:`pgwarden.plans.phases`; without pg_stat_statements the read check is a warning in the detail.
    """
    from pgwarden.db import connect
    from pgwarden.errors import Refused
    from pgwarden.plans import phases

    if not any(f.phase for f in files):
        return "no expand/contract phases among the pending migrations"
    with connect(url) as conn:
        found = phases.check(conn, files)
    if found.refusals:
        raise Refused(
            found.refusals[0] + "; nothing was changed",
            hint="deploy the expand step(s) first: pgwarden deploy --to <last expand version>",
            details={"refusals": found.refusals},
        )
    return "phases respected" + (f"; warning: {'; '.join(found.warnings)}" if found.warnings else "")


def drop_invalid_sql(names: list[str]) -> list[str]:
    """The statements that drop the INVALID indexes ``names`` (``schema.index``) without blocking writes."""
    from psycopg import sql as _sql

    out = []
    for name in names:
        schema, _, index = name.partition(".")
        out.append(_sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(_sql.Identifier(schema, index)).as_string())
    return out


def invalid_indexes(conn: psycopg.Connection[Any]) -> list[str]:
    """Names of INVALID indexes (left by a failed CREATE INDEX CONCURRENTLY)."""
    return [row[0] for row in conn.execute(INVALID_INDEXES).fetchall()]


def healthy(conn: psycopg.Connection[Any]) -> str:
    """Run the health query under a short statement timeout."""
    with conn.transaction():
        conn.execute("SET LOCAL statement_timeout = '5s'")
        row = conn.execute(HEALTH_QUERY).fetchone()
    return f"health query ok ({row[0] if row else 0} relations)"
