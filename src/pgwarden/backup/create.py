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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from pgwarden.backup.crypto import describe as describe_encryption
from pgwarden.backup.crypto import encrypt_stream
from pgwarden.backup.events import record
from pgwarden.backup.manifest import ArchiveInfo, Kind, Manifest, TableInfo, describe_files
from pgwarden.backup.runner import COMPRESSIONS, DumpProgress, Tools, choose_tools, compression_args, run_tool
from pgwarden.backup.settings import BackupSettings, load
from pgwarden.backup.storage import MANIFEST, Staging, manifest_bytes, storage_for, write_private
from pgwarden.backup.tables import data_outside, existing_tables, list_tables, references_outside, split_name
from pgwarden.config import Config
from pgwarden.db import Intent, connect, resolve_target
from pgwarden.errors import BadInput
from pgwarden.units import parse_size


@dataclass
class BackupResult:
    """A published backup."""

    id: str
    env: str
    location: str
    manifest: Manifest
    pg_dump: str
    compression: str
    seconds: float
    cleaned_incomplete: list[str]
    event_recorded: bool
    outside_references: list[str] = field(default_factory=list)  # FKs to tables whose rows are not in it


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


@dataclass(frozen=True)
class DumpRequest:
    """What to dump and how; every field has the configured or documented default."""

    tables: list[str] | None = None
    format: str | None = None
    jobs: int = 1
    compress: str | None = None
    reason: str | None = None
    kind: Kind | None = None  # default: "tables" when ``tables`` is given, else "full"
    archive: ArchiveInfo | None = None


@dataclass(frozen=True)
class _Plan:
    """A checked request: the tools, format, compression and the tables whose rows are dumped."""

    tools: Tools
    fmt: str
    compression: str
    jobs: int
    kind: Kind
    tables: list[str] | None
    exclude_data: list[tuple[str, str]]
    outside_references: list[str]
    recipients: list[str]


@dataclass
class _Session:
    """The snapshot connection: pg_dump dumps exactly what it sees."""

    conn: Any
    snapshot: str | None
    server_major: int
    server_version: str
    migration_version: str | None


def _check_request(settings: BackupSettings, request: DumpRequest) -> str:
    fmt = request.format or settings.format
    if request.compress is not None and request.compress not in COMPRESSIONS:
        raise BadInput(f"--compress {request.compress}: use one of {', '.join(COMPRESSIONS)}")
    if fmt not in ("custom", "directory"):
        raise BadInput(f"--format {fmt}: use custom or directory")
    if request.jobs < 1 or (request.jobs > 1 and fmt != "directory"):
        raise BadInput(f"--jobs {request.jobs}: parallel dumps need --format directory (and jobs >= 1)")
    if settings.encrypt and fmt != "custom":
        raise BadInput(f"--format {fmt}: encrypted backups (backup.encrypt) use the custom format")
    if request.tables is not None and not request.tables:
        raise BadInput("--tables: name at least one table")
    return fmt


@contextmanager
def _session(url: str) -> Iterator[_Session]:
    """A REPEATABLE READ snapshot exported for pg_dump, with the server and migration versions."""
    from pgwarden.migrations.history import applied
    from pgwarden.migrations.plan import current_version

    conn = connect(url)
    try:
        server_version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = _export_snapshot(conn)
        version = current_version(applied(conn))
        yield _Session(conn, snapshot, conn.info.server_version // 10000, server_version, version)
    finally:
        conn.close()


def _plan(
    session: _Session, settings: BackupSettings, request: DumpRequest, fmt: str, *, url: str, config: Config
) -> _Plan:
    compress = request.compress or settings.compress
    tools = choose_tools(session.server_major, compress, url=url, config=config)
    compression = compress or (tools.compressions[0] if tools.compressions else "none")
    kind: Kind = request.kind or ("tables" if request.tables else "full")
    exclude: list[tuple[str, str]] = []
    outside: list[str] = []
    if request.tables:
        _check_tables(session.conn, request.tables)
        exclude = data_outside(session.conn, request.tables)
        outside = references_outside(session.conn, request.tables)
    return _Plan(
        tools,
        fmt,
        compression,
        request.jobs,
        kind,
        request.tables,
        exclude,
        outside,
        list(settings.recipients) if settings.encrypt else [],
    )


def _check_tables(conn: Any, tables: list[str]) -> None:
    present = existing_tables(conn)
    missing = [t for t in tables if split_name(t) not in present]
    if missing:
        raise BadInput(
            f"--tables: no such table: {', '.join(missing)}",
            hint="name tables as schema.table or table (public); list them with \\dt in psql",
        )


def _dump_args(plan: _Plan, output: Path | None, snapshot: str | None) -> list[str]:
    """pg_dump's arguments: the whole schema, and the rows of every table (or of ``plan.tables`` only).

    A partial (``tables``) backup keeps every object definition (functions its triggers and
    defaults call, types, sequences) and leaves out only the other tables' rows, so it
    restores on its own.
    """
    args = [
        str(plan.tools.pg_dump),
        "--verbose",
        "--format",
        "directory" if plan.fmt == "directory" else "custom",
        *compression_args(plan.tools, plan.compression),
    ]
    if output is not None:
        args += ["--file", str(output)]
    if plan.jobs > 1:
        args += ["--jobs", str(plan.jobs)]
    if snapshot:
        args += ["--snapshot", snapshot]
    for schema, table in plan.exclude_data:
        args += ["--exclude-table-data", f'"{schema}"."{table}"']
    return args


def _dump(
    plan: _Plan,
    session: _Session,
    staging: Staging,
    exact_max: int,
    progress: Callable[[DumpProgress], None] | None,
    url: str,
) -> tuple[Path, list[TableInfo]]:
    """Run pg_dump into the staging folder while the row counter runs on the same snapshot."""
    output = staging.path / _dump_name(plan)
    counter = _Counter(session.conn, exact_max, plan.tables)
    counter.start()
    sink = (lambda stream: encrypt_stream(stream, output, plan.recipients)) if plan.recipients else None
    try:
        run_tool(
            _dump_args(plan, None if sink else output, session.snapshot),
            url=url,
            what="pg_dump",
            output=output,
            tables_total=counter.expected,
            progress=progress,
            pass_fds=(staging.lock_fd,),
            stdout_sink=sink,
        )
    except BaseException:
        counter.cancel()
        raise
    tables = counter.result()
    session.conn.execute("COMMIT")
    return output, tables


def _dump_name(plan: _Plan) -> str:
    if plan.fmt == "directory":
        return "dump"
    return "dump.pgdump.age" if plan.recipients else "dump.pgdump"


def _manifest(
    backup_id: str,
    env: str,
    session: _Session,
    plan: _Plan,
    request: DumpRequest,
    started_at: datetime,
    output: Path,
    tables: list[TableInfo],
) -> Manifest:
    files = describe_files(output.parent, [output.name])
    return Manifest(
        id=backup_id,
        env=env,
        database=session.conn.info.dbname,
        server_version=session.server_version,
        pg_dump={"path": str(plan.tools.pg_dump), "version": plan.tools.version, "source": plan.tools.source},
        format=plan.fmt,
        compression=plan.compression,
        started_at=started_at,
        finished_at=datetime.now(UTC),
        size=sum(f.size for f in files.values()),
        files=files,
        migration_version=session.migration_version,
        tables=tables,
        only_tables=list(plan.tables) if plan.tables else None,
        reason=request.reason,
        kind=plan.kind,
        archive=request.archive,
        encryption=describe_encryption(plan.recipients) if plan.recipients else None,
        outside_references=plan.outside_references,
    )


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
    kind: Kind | None = None,
    notice: Callable[[str], None] | None = None,
) -> BackupResult:
    """Dump ``env``'s database into a new backup and publish it with its manifest.

    Raises BadInput (exit 2) for an unsupported format, compression or table,
    ToolFailed (exit 1) when pg_dump fails; nothing is published then. ``notice``
    hears, before anything is written, what a partial backup will not hold.
    """
    request = DumpRequest(tables, format, jobs, compress, reason, kind)
    return create_from(config, env, request, progress=progress, notice=notice)


def create_from(
    config: Config,
    env: str | None,
    request: DumpRequest,
    *,
    progress: Callable[[DumpProgress], None] | None = None,
    notice: Callable[[str], None] | None = None,
) -> BackupResult:
    """:func:`create` for a whole :class:`DumpRequest` (used by archiving, which adds the partition)."""
    settings = load(config)
    fmt = _check_request(settings, request)
    target = resolve_target(config, env, intent=Intent.READ)
    storage = storage_for(config)
    started, started_at = time.monotonic(), datetime.now(UTC)
    with _session(target.url) as session:
        plan = _plan(session, settings, request, fmt, url=target.url, config=config)
        for ref in plan.outside_references:
            if notice is not None:
                notice(f"foreign key {ref}: its rows are not in this partial backup; verify restores it without it")
        cleaned = storage.clean_incomplete(target.env_name)
        backup_id = new_backup_id(started_at)
        staging = storage.stage(target.env_name, backup_id)
        try:
            with sigterm_interrupts():
                output, tables = _dump(
                    plan, session, staging, parse_size(settings.exact_count_max_size), progress, target.url
                )
                manifest = _manifest(backup_id, target.env_name, session, plan, request, started_at, output, tables)
                write_private(staging.path / MANIFEST, manifest_bytes(manifest.to_dict()))
                location = storage.publish(staging)
        except BaseException:
            storage.discard(staging)
            raise
    recorded = record(
        target.url,
        "backup",
        backup_id,
        "ok",
        {
            "size": manifest.size,
            "migration_version": manifest.migration_version,
            "pg_dump": plan.tools.version,
            "compression": plan.compression,
            "format": fmt,
            "reason": request.reason,
            "kind": plan.kind,
        },
    )
    return BackupResult(
        backup_id,
        target.env_name,
        location,
        manifest,
        plan.tools.describe(),
        plan.compression,
        round(time.monotonic() - started, 3),
        cleaned,
        recorded,
        plan.outside_references,
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
