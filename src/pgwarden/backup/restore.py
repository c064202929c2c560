"""``backup restore``: put a backup back, in place or into a new database.

Guarantees: the event log (``pgwarden.events``) survives an in-place restore: it is read
before and written back after, with the same ids, and later events never reuse an id;
a protected environment is refused (exit 5, nothing touched) unless
confirmed (``yes`` or the env name typed at the prompt), and gets a fresh safety backup before an in-place restore;
the backup's checksums are checked before anything changes; the restore runs
in one transaction (``--single-transaction --exit-on-error``), so a failure
leaves the database as it was; ``target_db`` must be a new database, which is
dropped again if the restore fails.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pgwarden import events
from pgwarden.backup.access import opened, toc
from pgwarden.backup.catalog import find
from pgwarden.backup.events import record
from pgwarden.backup.manifest import Manifest, TableInfo
from pgwarden.backup.runner import ToolFailed, Tools, run_tool
from pgwarden.backup.settings import load
from pgwarden.backup.tables import split_name
from pgwarden.backup.verify import restore_args, restore_tools
from pgwarden.config import Config
from pgwarden.db import Intent, connect, redact, resolve_target
from pgwarden.errors import BadInput, ProblemsFound
from pgwarden.guards import Confirm
from pgwarden.policy import policy_for

# TOC entry types whose tag starts with the table's name
_TABLE_TAGGED = (
    "TABLE DATA",
    "TABLE",
    "DEFAULT",
    "FK CONSTRAINT",
    "CONSTRAINT",
    "TRIGGER",
    "POLICY",
    "ROW SECURITY",
    "RULE",
)
_SEQUENCE = ("SEQUENCE OWNED BY", "SEQUENCE SET", "SEQUENCE")
_KNOWN = sorted({*_TABLE_TAGGED, *_SEQUENCE, "INDEX", "ACL", "COMMENT"}, key=len, reverse=True)


@dataclass
class RestoreResult:
    """What was restored where, and the migration version the database is now at."""

    id: str
    env: str
    database: str
    target_db: str | None
    tables: list[str] | None
    safety_backup_id: str | None
    migration_version: str | None
    pg_restore: str
    seconds: float


def select_toc(toc: str, tables: list[TableInfo]) -> list[str]:
    """The lines of a ``pg_restore --list`` output that restore ``tables`` with their own objects.

    Kept: each table, its data, defaults, constraints, triggers, policies,
    rules, indexes, owned sequences, comments and grants, and the foreign keys
    of other tables that point at it.
    """
    names = {(t.schema, t.name) for t in tables}
    indexes = {(t.schema, i) for t in tables for i in t.indexes}
    sequences = {(t.schema, s) for t in tables for s in t.sequences}
    foreign = {(r[0], r[1], r[2]) for t in tables for r in t.referenced_by}
    kept: list[str] = []
    for line in toc.splitlines():
        if not line or line.startswith(";"):
            continue
        head, _, rest = line.partition(";")
        parts = rest.strip().split(" ", 2)
        if len(parts) < 3:
            continue
        body = parts[2]
        kind = next((k for k in _KNOWN if body.startswith(k + " ")), None)
        if kind is None:
            continue
        tokens = body[len(kind) + 1 :].split()
        if len(tokens) < 2:
            continue
        schema, tag = tokens[0], tokens[1:-1] if len(tokens) > 2 else tokens[1:]
        if not tag:
            continue
        keep = (
            (kind in _TABLE_TAGGED and (schema, tag[0]) in names)
            or (kind == "INDEX" and (schema, tag[0]) in indexes)
            or (kind in _SEQUENCE and (schema, tag[0]) in sequences)
            or (kind == "FK CONSTRAINT" and len(tag) >= 2 and (schema, tag[0], tag[1]) in foreign)
            or (kind in ("ACL", "COMMENT") and len(tag) >= 2 and tag[0] == "TABLE" and (schema, tag[1]) in names)
        )
        if keep:
            kept.append(line)
    return kept


def _tables_of(manifest: Manifest, wanted: list[str]) -> list[TableInfo]:
    by_name = {(t.schema, t.name): t for t in manifest.tables}
    missing = [w for w in wanted if split_name(w) not in by_name]
    if missing:
        raise BadInput(
            f"--tables: not in backup {manifest.id}: {', '.join(missing)}",
            hint="it holds: "
            + (
                ", ".join(f"{t.schema}.{t.name}" for t in manifest.tables[:20])
                + (" ..." if len(manifest.tables) > 20 else "")
                or "no tables"
            ),
        )
    return [by_name[split_name(w)] for w in wanted]


def _list_file(tools: Tools, dump: Path, tables: list[TableInfo], workdir: Path) -> Path:
    lines = select_toc(toc(tools, dump), tables)
    path = workdir / "restore.list"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _chosen_tables(manifest: Manifest, tables: list[str] | None, target_db: str | None) -> list[TableInfo] | None:
    """The tables to restore: those asked for, or all of a partial backup's when restoring in place."""
    if tables:
        return _tables_of(manifest, tables)
    if manifest.kind in ("tables", "archive") and target_db is None:
        return list(manifest.tables)
    return None


def _create_target_db(url: str, target_db: str) -> None:
    from psycopg import sql

    with connect(url) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [target_db]).fetchone():
            raise BadInput(
                f"--target-db {target_db}: database already exists; choose a new name",
                hint="pick a name that `\\l` in psql does not list",
            )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target_db)))


def _drop_target_db(url: str, target_db: str) -> None:
    from psycopg import sql

    with connect(url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target_db)))


def _run_restore(tools: Tools, dump: Path, chosen: list[TableInfo] | None, url: str, *, clean: bool, what: str) -> None:
    with tempfile.TemporaryDirectory(prefix="pgwarden-restore-") as workdir:
        list_file = _list_file(tools, dump, chosen, Path(workdir)) if chosen else None
        run_tool(restore_args(tools, dump, clean=clean, list_file=list_file), url=url, what=what)


def _read_events(url: str) -> list[events.Event]:
    """The event log before an in-place restore (written back after it: ids are never reused)."""
    with connect(url) as conn:
        return events.snapshot(conn)


def restore(
    config: Config,
    backup_id: str,
    env: str | None,
    *,
    target_db: str | None = None,
    tables: list[str] | None = None,
    yes: bool = False,
    confirm: Confirm | None = None,
) -> RestoreResult:
    """Restore ``backup_id`` into ``env``'s database (or a new ``target_db`` on the same server).

    A partial or archive backup restores only its own tables in place (the rest of the
    database is left alone); into a new database it restores its whole schema.
    """
    from pgwarden.backup.create import create
    from pgwarden.migrations.history import applied
    from pgwarden.migrations.plan import current_version
    from pgwarden.server import database_url

    env_name = config.env_name(env)
    started = time.monotonic()
    storage, manifest = find(config, backup_id, env_name)
    chosen = _chosen_tables(manifest, tables, target_db)
    target = resolve_target(config, env_name, intent=Intent.DATA_RESTORE, yes=yes, confirm=confirm)
    with opened(storage, manifest, load(config).identity) as backup:
        if backup.problems:
            raise ProblemsFound(
                f"backup {backup_id} is damaged, nothing was restored: {backup.problems[0]}",
                details={"problems": backup.problems},
            )
        with connect(target.url) as conn:
            tools = restore_tools(manifest, conn.info.server_version // 10000, url=target.url, config=config)
            database = conn.info.dbname
        if target_db is not None:
            _create_target_db(target.url, target_db)
        safety_id = None
        if target_db is None and policy_for(config, env_name).protected:
            safety_id = create(config, env_name, reason=f"safety backup before restoring {backup_id}", kind="safety").id
        url = database_url(target.url, target_db) if target_db else target.url
        kept_events = _read_events(url) if target_db is None else []
        try:
            _run_restore(
                tools,
                backup.dump,
                chosen,
                url,
                clean=target_db is None,
                what=f"pg_restore of {backup_id} into {target_db or database}",
            )
        except ToolFailed as exc:
            if target_db is not None:
                _drop_target_db(target.url, target_db)
            else:
                record(url, "restore", backup_id, "failed", {"error": redact(exc.message)})
            raise ToolFailed(
                f"{exc.message}; the single transaction was rolled back, {target_db or database} is unchanged"
            ) from None
    with connect(url) as conn:
        version = current_version(applied(conn))
        if kept_events:
            events.restore_after(conn, kept_events)
    record(
        url,
        "restore",
        backup_id,
        "ok",
        {
            "from_env": manifest.env,
            "tables": tables,
            "safety_backup": safety_id,
            "target_db": target_db,
            "kind": manifest.kind,
        },
    )
    return RestoreResult(
        backup_id,
        env_name,
        database,
        target_db,
        tables or ([t.qualified for t in chosen] if chosen else None),
        safety_id,
        version,
        f"{tools.source} pg_restore {tools.version}",
        round(time.monotonic() - started, 3),
    )
