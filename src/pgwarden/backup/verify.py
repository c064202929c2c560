"""``backup verify``: prove a backup restores and holds what its manifest says.

Guarantees: every file's sha256 is checked first (a mismatch names the file and
skips the restore); the dump is then restored into a scratch database that is
dropped afterwards, and each table's row count is compared with the manifest
(exactly where the manifest count is exact). The outcome and its time are
written into the manifest. A mismatch is a result (``ok = False``), not an error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pgwarden.backup.catalog import find
from pgwarden.backup.manifest import Manifest, Verification, check_files
from pgwarden.backup.runner import ToolFailed, Tools, choose_tools, run_tool
from pgwarden.backup.tables import count_rows, existing_tables
from pgwarden.config import Config
from pgwarden.db import connect


@dataclass
class TableCheck:
    schema: str
    name: str
    expected: int
    actual: int | None
    exact: bool
    ok: bool


@dataclass
class VerifyResult:
    """What ``verify`` found; ``problems`` name the file or table at fault."""

    id: str
    env: str
    ok: bool
    problems: list[str]
    files_checked: int
    tables: list[TableCheck] = field(default_factory=list)
    migration_version: str | None = None
    verified_at: datetime | None = None
    seconds: float = 0.0
    pg_restore: str | None = None


def restore_tools(manifest: Manifest, server_major: int, *, url: str | None = None,
                  config: Config | None = None) -> Tools:
    """A pg_restore able to read this dump (same compression support) into a server of ``server_major``."""
    dump_major = int(manifest.pg_dump["version"].split(".")[0])
    compress = manifest.compression if manifest.compression != "none" else None
    return choose_tools(max(server_major, dump_major), compress, url=url, config=config)


def restore_args(
    tools: Tools,
    manifest: Manifest,
    folder: Path,
    *,
    clean: bool,
    jobs: int = 1,
    single_transaction: bool = True,
    no_owner: bool = False,
    list_file: Path | None = None,
) -> list[str]:
    """pg_restore's argument list for this backup (the connection is added by run_tool)."""
    args = [str(tools.pg_restore), "--exit-on-error"]
    if clean:
        args += ["--clean", "--if-exists"]
    if jobs > 1:
        args += ["--jobs", str(jobs)]
    elif single_transaction:
        args.append("--single-transaction")
    if no_owner:
        args += ["--no-owner", "--no-privileges"]
    if list_file is not None:
        args += ["--use-list", str(list_file)]
    return [*args, str(folder / manifest.dump_path)]


def verify(config: Config, backup_id: str, env: str | None = None) -> VerifyResult:
    """Check checksums, restore into a scratch database, compare row counts; record the outcome."""
    from pgwarden.migrations.history import applied
    from pgwarden.migrations.plan import current_version
    from pgwarden.server import scratch_database

    started = time.monotonic()
    storage, manifest, folder = find(config, backup_id, env)
    result = VerifyResult(
        manifest.id, manifest.env, False, check_files(folder, manifest.files), len(manifest.files)
    )
    if not result.problems:
        with scratch_database(config, "verify") as url:
            with connect(url) as conn:
                server_major = conn.info.server_version // 10000
            tools = restore_tools(manifest, server_major, url=url, config=config)
            result.pg_restore = f"{tools.source} pg_restore {tools.version}"
            jobs = 2 if manifest.format == "directory" else 1
            try:
                run_tool(
                    restore_args(tools, manifest, folder, clean=False, jobs=jobs, no_owner=True),
                    url=url,
                    what=f"pg_restore of {folder / manifest.dump_path}",
                )
            except ToolFailed as exc:
                result.problems.append(exc.message)
            else:
                with connect(url) as conn:
                    present = existing_tables(conn)
                    for table in manifest.tables:
                        actual = (
                            count_rows(conn, table.schema, table.name)
                            if (table.schema, table.name) in present
                            else None
                        )
                        ok = actual is not None and (actual == table.rows or not table.exact)
                        result.tables.append(
                            TableCheck(table.schema, table.name, table.rows, actual, table.exact, ok)
                        )
                        if actual is None:
                            result.problems.append(f"table {table.qualified}: missing after restore")
                        elif not ok:
                            result.problems.append(
                                f"table {table.qualified}: {actual} rows after restore, "
                                f"manifest says {table.rows}"
                            )
                    result.migration_version = current_version(applied(conn))
    result.ok = not result.problems
    result.verified_at = datetime.now(UTC)
    result.seconds = round(time.monotonic() - started, 3)
    manifest.verification = Verification(
        result.ok, result.verified_at, result.seconds, result.problems, result.migration_version
    )
    storage.write_manifest(manifest.env, manifest.id, manifest.to_dict())
    return result
