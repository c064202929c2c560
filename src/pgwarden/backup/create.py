"""``backup create``: pg_dump into a private staging folder, then publish it with its manifest.

Guarantees: the backup is listed only once its dump, checksums and manifest are
all written (one rename publishes it); a pg_dump error, Ctrl-C or SIGTERM
removes the staging folder, and one left by a killed process is never listed
and is removed by the next ``create`` or ``prune``. Row counts and the
migration version come from the very snapshot pg_dump dumps.
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from pgwarden.backup.events import record
from pgwarden.backup.manifest import Manifest, TableInfo, describe_files
from pgwarden.backup.runner import COMPRESSIONS, DumpProgress, Tools, choose_tools, compression_args, run_tool
from pgwarden.backup.storage import MANIFEST, manifest_bytes, storage_for, write_private
from pgwarden.backup.tables import existing_tables, list_tables, split_name
from pgwarden.config import Config
from pgwarden.db import Intent, connect, resolve_target
from pgwarden.errors import BadInput
from pgwarden.units import parse_size


@dataclass
class BackupResult:
    """A published backup."""

    id: str
    env: str
    path: Path
    manifest: Manifest
    pg_dump: str
    compression: str
    seconds: float
    cleaned_incomplete: list[str]
    event_recorded: bool


class Interrupted(KeyboardInterrupt):
    """SIGTERM arrived while a backup was being written (handled like Ctrl-C: cleanup, exit 130)."""


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Turn SIGTERM into an :class:`Interrupted` exception in the main thread (so cleanup runs)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Interrupted("terminated by SIGTERM")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def new_backup_id(now: datetime | None = None) -> str:
    """A sortable, unique id: UTC time plus a random suffix (``20260101T120000Z-1a2b``)."""
    return f"{(now or datetime.now(UTC)).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(2)}"


def _check_tables(conn: Any, tables: list[str]) -> None:
    present = existing_tables(conn)
    missing = [t for t in tables if split_name(t) not in present]
    if missing:
        raise BadInput(f"--tables: no such table: {', '.join(missing)}",
                       hint="name tables as schema.table or table (public); list them with \\dt in psql")


def _dump_args(
    tools: Tools,
    fmt: str,
    compression: str,
    jobs: int,
    output: Path,
    snapshot: str | None,
    tables: list[str] | None,
) -> list[str]:
    args = [
        str(tools.pg_dump),
        "--verbose",
        "--format",
        "directory" if fmt == "directory" else "custom",
        *compression_args(tools, compression),
        "--file",
        str(output),
    ]
    if jobs > 1:
        args += ["--jobs", str(jobs)]
    if snapshot:
        args += ["--snapshot", snapshot]
    for name in tables or []:
        schema, table = split_name(name)
        args += ["--table", f'"{schema}"."{table}"']
    if tables:
        args.append("--strict-names")
    return args


def create(
    config: Config,
    env: str | None,
    *,
    tables: list[str] | None = None,
    format: str | None = None,
    jobs: int = 1,
    compress: str | None = None,
    progress: Callable[[DumpProgress], None] | None = None,
    reason: str | None = None,
) -> BackupResult:
    """Dump ``env``'s database into a new backup and publish it with its manifest.

    Raises BadInput (exit 2) for an unsupported format, compression or table,
    ToolFailed (exit 1) when pg_dump fails; nothing is published then.
    """
    from pgwarden.migrations.history import applied
    from pgwarden.migrations.plan import current_version

    settings = config.settings.backup
    fmt = format or settings.format
    if compress is not None and compress not in COMPRESSIONS:
        raise BadInput(f"--compress {compress}: use one of {', '.join(COMPRESSIONS)}")
    if fmt not in ("custom", "directory"):
        raise BadInput(f"--format {fmt}: use custom or directory")
    if jobs < 1 or (jobs > 1 and fmt != "directory"):
        raise BadInput(f"--jobs {jobs}: parallel dumps need --format directory (and jobs >= 1)")
    target = resolve_target(config, env, intent=Intent.READ)
    storage = storage_for(config)
    started = time.monotonic()
    started_at = datetime.now(UTC)
    conn = connect(target.url)
    try:
        server_major = conn.info.server_version // 10000
        server_version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        tools = choose_tools(server_major, compress or settings.compress, url=target.url, config=config)
        compression = (
            compress or settings.compress or (tools.compressions[0] if tools.compressions else "none")
        )
        if tables:
            _check_tables(conn, tables)
        cleaned = storage.clean_incomplete(target.env_name)
        backup_id = new_backup_id(started_at)
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = _export_snapshot(conn)
        version = current_version(applied(conn))
        staging = storage.stage(target.env_name, backup_id)
        manifest_tables: list[TableInfo] = []
        try:
            with sigterm_interrupts():
                output = staging.path / ("dump" if fmt == "directory" else "dump.pgdump")
                counter = _Counter(conn, parse_size(settings.exact_count_max_size), tables)
                counter.start()
                try:
                    run_tool(
                        _dump_args(tools, fmt, compression, jobs, output, snapshot, tables),
                        url=target.url,
                        what="pg_dump",
                        output=output,
                        tables_total=counter.expected,
                        progress=progress,
                        pass_fds=(staging.lock_fd,),
                    )
                except BaseException:
                    counter.cancel()
                    raise
                manifest_tables = counter.result()
                conn.execute("COMMIT")
                files = describe_files(staging.path, [output.name])
                manifest = Manifest(
                    id=backup_id,
                    env=target.env_name,
                    database=conn.info.dbname,
                    server_version=server_version,
                    pg_dump={"path": str(tools.pg_dump), "version": tools.version, "source": tools.source},
                    format=fmt,
                    compression=compression,
                    started_at=started_at,
                    finished_at=datetime.now(UTC),
                    size=sum(f.size for f in files.values()),
                    files=files,
                    migration_version=version,
                    tables=manifest_tables,
                    only_tables=list(tables) if tables else None,
                    reason=reason,
                )
                write_private(staging.path / MANIFEST, manifest_bytes(manifest.to_dict()))
                path = storage.put(staging)
        except BaseException:
            storage.discard(staging)
            raise
    finally:
        conn.close()
    recorded = record(
        target.url,
        "backup",
        backup_id,
        "ok",
        {
            "size": manifest.size,
            "migration_version": version,
            "pg_dump": tools.version,
            "compression": compression,
            "format": fmt,
            "reason": reason,
        },
    )
    return BackupResult(
        backup_id,
        target.env_name,
        path,
        manifest,
        tools.describe(),
        compression,
        round(time.monotonic() - started, 3),
        cleaned,
        recorded,
    )


def _export_snapshot(conn: Any) -> str | None:
    """The exported snapshot id, or None where exporting is impossible (a hot standby before 10)."""
    import psycopg

    try:
        with conn.transaction():  # savepoint: a failure leaves the outer transaction usable
            row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        return str(row[0])
    except psycopg.Error:
        return None


class _Counter:
    """Counts rows on the snapshot connection in a thread while pg_dump runs."""

    def __init__(self, conn: Any, exact_max_bytes: int, only: list[str] | None):
        self.conn = conn
        self.exact_max_bytes = exact_max_bytes
        self.only = only
        self.expected = len(only) if only else _table_count(conn)
        self._result: list[TableInfo] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self._result = list_tables(self.conn, exact_max_bytes=self.exact_max_bytes, only=self.only)
        except BaseException as exc:  # noqa: BLE001 - re-raised in result()
            self._error = exc

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        with contextlib.suppress(Exception):  # the connection is closed right after anyway
            self.conn.cancel_safe(timeout=5)
        self._thread.join(timeout=10)

    def result(self) -> list[TableInfo]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result


def _table_count(conn: Any) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg\\_toast%'"
    ).fetchone()
    return int(row[0])
