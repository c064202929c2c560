"""Retiring a partition into an ``archive`` backup, and bringing it back.

:func:`archive_partition`, in this order: detach the partition (``CONCURRENTLY`` when the
parent has no default partition, so readers and writers of the parent are not blocked),
dump the now standalone table (with the whole schema, so it restores alone), verify the
backup by restoring it into a scratch database and comparing its rows, record the table,
its partition bounds and row count in the manifest, and only then drop it.

Guarantees: the table is dropped only after a verified backup of it is published; any
failure before that leaves it in place (detached: a crash between detach and drop keeps
every row, and ``partition maintain`` no longer touches it). Archive backups are kept by
``[backup] archive_keep`` (default forever), never by the daily/weekly/monthly rule.

:func:`restore_archive` restores that table from the newest archive backup holding it
(or a given backup id), compares its rows with the manifest, and re-attaches it to its
parent with the recorded bounds; the table must not exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from pgwarden.backup.catalog import find, manifests
from pgwarden.backup.create import DumpRequest, create_from
from pgwarden.backup.events import record
from pgwarden.backup.manifest import ArchiveInfo, Manifest
from pgwarden.backup.storage import storage_for
from pgwarden.backup.tables import count_rows, split_name
from pgwarden.config import Config
from pgwarden.db import Intent, LockRetryPolicy, connect, resolve_target, retry_on_lock_timeout, watch_lock_waits
from pgwarden.errors import BadInput, ProblemsFound
from pgwarden.guards import Confirm

_BOUNDS = re.compile(r"FOR VALUES (FROM \([^;]*\) TO \([^;]*\)|IN \([^;]*\)|WITH \(modulus \d+, remainder \d+\))")
_PARTITION_SQL = """
SELECT pn.nspname, p.relname, pg_get_expr(c.relpartbound, c.oid),
       EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class d ON d.oid = i.inhrelid
               WHERE i.inhparent = p.oid AND pg_get_expr(d.relpartbound, d.oid) = 'DEFAULT')
FROM pg_class c JOIN pg_inherits h ON h.inhrelid = c.oid
JOIN pg_class p ON p.oid = h.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE c.oid = %s::regclass AND c.relispartition
"""


@dataclass
class ArchiveResult:
    """A retired partition: the backup holding it, where it belonged, and what happened to it."""

    backup_id: str
    table: str
    parent: str
    bounds: str
    rows: int
    detached_concurrently: bool
    dropped: bool


@dataclass
class RestoreArchiveResult:
    """A partition brought back from its archive backup and re-attached."""

    backup_id: str
    table: str
    parent: str
    bounds: str
    rows: int
    attached: bool


def _qualified(schema: str, name: str) -> str:
    return f"{schema}.{name}"


def _run(conn: psycopg.Connection[Any], statement: sql.Composed, policy: LockRetryPolicy, what: str) -> None:
    """One autocommitted statement under lock_timeout, retried on a lock timeout (exit 4 when it gives up)."""
    conn.execute("SELECT set_config('lock_timeout', %s, false)", [f"{int(policy.lock_timeout * 1000)}ms"])

    def attempt() -> None:
        with watch_lock_waits(None, conn.info.backend_pid, policy.lock_timeout):
            conn.execute(statement)

    retry_on_lock_timeout(attempt, policy, what=what)


def _partition_info(conn: psycopg.Connection[Any], schema: str, name: str) -> tuple[ArchiveInfo, bool]:
    ident = sql.Identifier(schema, name).as_string(conn)
    try:
        row = conn.execute(_PARTITION_SQL, [ident]).fetchone()
    except psycopg.errors.UndefinedTable:
        raise BadInput(f"partition {schema}.{name}: no such table") from None
    if row is None:
        raise BadInput(f"{schema}.{name}: not an attached partition; nothing was archived")
    parent_schema, parent, bounds, has_default = row
    info = ArchiveInfo(schema, name, parent_schema, parent, bounds, count_rows(conn, schema, name))
    return info, bool(has_default)


def _detach(conn: psycopg.Connection[Any], info: ArchiveInfo, concurrently: bool, policy: LockRetryPolicy) -> None:
    mode = sql.SQL(" CONCURRENTLY") if concurrently else sql.SQL("")
    statement = sql.SQL("ALTER TABLE {} DETACH PARTITION {}{}").format(
        sql.Identifier(info.parent_schema, info.parent), sql.Identifier(info.schema, info.table), mode
    )
    _run(conn, statement, policy, f"detach {_qualified(info.schema, info.table)}")


def archive_partition(
    config: Config, env: str | None, schema: str, partition: str, *, yes: bool = False, confirm: Confirm | None = None
) -> ArchiveResult:
    """Detach, back up, verify and drop ``schema.partition`` (see the module guarantees).

    Raises BadInput (exit 2) when it is not an attached partition, ProblemsFound (exit 1)
    when the backup does not verify (the detached table is then kept), LockTimeoutGaveUp
    (exit 4) when a lock cannot be had.
    """
    from pgwarden.backup.verify import verify as verify_backup

    target = resolve_target(config, env, intent=Intent.SCHEMA_CHANGE, yes=yes, confirm=confirm)
    policy = LockRetryPolicy.from_config(config, target.env)
    with connect(target.url) as conn:
        info, has_default = _partition_info(conn, schema, partition)
        _detach(conn, info, not has_default, policy)
    request = DumpRequest(
        tables=[_qualified(schema, partition)],
        kind="archive",
        archive=info,
        reason=f"partition archive {_qualified(schema, partition)}",
    )
    backup = create_from(config, target.env_name, request)
    checked = verify_backup(config, backup.id, target.env_name)
    if not checked.ok:
        raise ProblemsFound(
            f"archive backup {backup.id} of {schema}.{partition} did not verify: "
            f"{'; '.join(checked.problems)}; the detached table was kept",
            hint=f"pgwarden backup verify {backup.id}",
        )
    with connect(target.url) as conn:
        _run(
            conn,
            sql.SQL("DROP TABLE {}").format(sql.Identifier(schema, partition)),
            policy,
            f"drop {_qualified(schema, partition)}",
        )
    record(
        target.url,
        "archive",
        _qualified(schema, partition),
        "ok",
        {
            "backup": backup.id,
            "parent": _qualified(info.parent_schema, info.parent),
            "bounds": info.bounds,
            "rows": info.rows,
        },
    )
    return ArchiveResult(
        backup.id,
        _qualified(schema, partition),
        _qualified(info.parent_schema, info.parent),
        info.bounds,
        info.rows,
        not has_default,
        True,
    )


def find_archive(config: Config, env: str | None, name_or_id: str) -> Manifest:
    """The archive backup ``name_or_id`` (a backup id, or a ``[schema.]table``: its newest archive)."""
    storage = storage_for(config)
    env_name = config.env_name(env)
    if name_or_id in storage.list(env_name):
        _, manifest = find(config, name_or_id, env_name)
        if manifest.archive is None:
            raise BadInput(
                f"backup {name_or_id} is a {manifest.kind} backup, not a partition archive",
                hint="use `pgwarden backup restore` for it",
            )
        return manifest
    schema, table = split_name(name_or_id)
    for manifest in manifests(storage, env_name):
        if manifest.archive and (manifest.archive.schema, manifest.archive.table) == (schema, table):
            return manifest
    raise BadInput(
        f"no archive backup of partition {schema}.{table} in {storage.describe()}",
        hint="see `pgwarden backup list` (kind archive)",
    )


def _bounds(info: ArchiveInfo) -> sql.Composable:
    """The recorded bounds as SQL, after checking they are a plain bound clause (the manifest is a file)."""
    if not _BOUNDS.fullmatch(info.bounds):
        raise BadInput(f"archive of {info.schema}.{info.table}: unexpected partition bounds {info.bounds!r}")
    return sql.SQL(info.bounds)


def restore_archive(
    config: Config, env: str | None, name_or_id: str, *, yes: bool = False, confirm: Confirm | None = None
) -> RestoreArchiveResult:
    """Restore a retired partition from its archive backup and re-attach it to its parent.

    BadInput (exit 2) when the table already exists or no archive holds it; ProblemsFound
    (exit 1) when the restored rows differ from the manifest (it is then left detached).
    """
    from pgwarden.backup.restore import restore

    manifest = find_archive(config, env, name_or_id)
    info = manifest.archive
    assert info is not None
    target = resolve_target(config, env, intent=Intent.DATA_RESTORE, yes=yes, confirm=confirm)
    with connect(target.url) as conn:
        if conn.execute(
            "SELECT to_regclass(%s)", [sql.Identifier(info.schema, info.table).as_string(conn)]
        ).fetchone() != (None,):
            raise BadInput(
                f"{info.schema}.{info.table} already exists; nothing was restored", hint="drop or rename it first"
            )
    restore(config, manifest.id, target.env_name, yes=yes, confirm=confirm)
    policy = LockRetryPolicy.from_config(config, target.env)
    with connect(target.url) as conn:
        rows = count_rows(conn, info.schema, info.table)
        if rows != info.rows:
            raise ProblemsFound(
                f"{info.schema}.{info.table}: {rows} rows restored, the archive says {info.rows}; left detached"
            )
        attach = sql.SQL("ALTER TABLE {} ATTACH PARTITION {} {}").format(
            sql.Identifier(info.parent_schema, info.parent), sql.Identifier(info.schema, info.table), _bounds(info)
        )
        _run(conn, attach, policy, f"attach {info.schema}.{info.table}")
    record(
        target.url, "restore-archive", _qualified(info.schema, info.table), "ok", {"backup": manifest.id, "rows": rows}
    )
    return RestoreArchiveResult(
        manifest.id,
        _qualified(info.schema, info.table),
        _qualified(info.parent_schema, info.parent),
        info.bounds,
        rows,
        True,
    )
