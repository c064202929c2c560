"""``backup verify``: prove a backup restores and holds what its manifest says.

Guarantees: every file's sha256 is checked first (a mismatch names the file and
skips the restore); an encrypted dump is decrypted with the configured identity
(a wrong key: one line, exit 2); the dump is then restored into a scratch database
that is dropped afterwards, and each table's row count is compared with the manifest
(exactly where the manifest count is exact). A partial (``tables``) backup carries the
whole schema, so it restores alone; its foreign keys to tables whose rows it does not
hold are left out of that restore and listed in ``skipped``. The outcome and its time
are written into the manifest. A mismatch is a result (``ok = False``), not an error.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pgwarden.backup.access import opened, toc, without_constraints
from pgwarden.backup.catalog import find
from pgwarden.backup.manifest import Manifest, Verification
from pgwarden.backup.runner import ToolFailed, Tools, choose_tools, run_tool
from pgwarden.backup.settings import load
from pgwarden.backup.storage import Storage
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
    kind: str = "full"
    skipped: list[str] = field(default_factory=list)


def restore_tools(
    manifest: Manifest, server_major: int, *, url: str | None = None, config: Config | None = None
) -> Tools:
    """A pg_restore able to read this dump (same compression support) into a server of ``server_major``."""
    dump_major = int(manifest.pg_dump["version"].split(".")[0])
    compress = manifest.compression if manifest.compression != "none" else None
    return choose_tools(max(server_major, dump_major), compress, url=url, config=config)


def restore_args(
    tools: Tools,
    dump: Path,
    *,
    clean: bool,
    jobs: int = 1,
    single_transaction: bool = True,
    no_owner: bool = False,
    list_file: Path | None = None,
) -> list[str]:
    """pg_restore's argument list for ``dump`` (the connection is added by run_tool)."""
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
    return [*args, str(dump)]


def _outside_constraints(manifest: Manifest) -> list[tuple[str, str, str]]:
    """(schema, table, constraint) of the foreign keys pointing outside a partial backup."""
    out = []
    for ref in manifest.outside_references:
        left = ref.split(" -> ", 1)[0]
        schema, table, constraint = left.split(".", 2)
        out.append((schema, table, constraint))
    return out


def _restore_scratch(url: str, manifest: Manifest, dump: Path, result: VerifyResult) -> bool:
    """Restore ``dump`` into the scratch database ``url``; False (with the problem recorded) on failure."""
    with connect(url) as conn:
        tools = restore_tools(manifest, conn.info.server_version // 10000, url=url)
    result.pg_restore = f"{tools.source} pg_restore {tools.version}"
    skip = _outside_constraints(manifest)
    with tempfile.TemporaryDirectory(prefix="pgwarden-verify-") as workdir:
        list_file = None
        if skip:
            list_file = Path(workdir) / "restore.list"
            list_file.write_text("\n".join(without_constraints(toc(tools, dump), skip)) + "\n", encoding="utf-8")
            result.skipped = [
                f"foreign key {s}.{t}.{c}: the rows it references are not in this backup" for s, t, c in skip
            ]
        jobs = 2 if manifest.format == "directory" else 1
        try:
            run_tool(
                restore_args(tools, dump, clean=False, jobs=jobs, no_owner=True, list_file=list_file),
                url=url,
                what=f"pg_restore of {manifest.id}",
            )
        except ToolFailed as exc:
            result.problems.append(exc.message)
            return False
    return True


def compare_tables(conn: Any, manifest: Manifest) -> tuple[list[TableCheck], list[str]]:
    """Each manifest table's restored row count against the manifest, and one problem per mismatch."""
    present = existing_tables(conn)
    checks: list[TableCheck] = []
    problems: list[str] = []
    for table in manifest.tables:
        actual = count_rows(conn, table.schema, table.name) if (table.schema, table.name) in present else None
        ok = actual is not None and (actual == table.rows or not table.exact)
        checks.append(TableCheck(table.schema, table.name, table.rows, actual, table.exact, ok))
        if actual is None:
            problems.append(f"table {table.qualified}: missing after restore")
        elif not ok:
            problems.append(f"table {table.qualified}: {actual} rows after restore, manifest says {table.rows}")
    return checks, problems


def _check_restore(config: Config, manifest: Manifest, dump: Path, result: VerifyResult) -> None:
    """Restore ``dump`` into a scratch database and compare it with the manifest (results into ``result``)."""
    from pgwarden.migrations.history import applied
    from pgwarden.migrations.plan import current_version
    from pgwarden.server import scratch_database

    with scratch_database(config, "verify") as url:
        if not _restore_scratch(url, manifest, dump, result):
            return
        with connect(url) as conn:
            result.tables, problems = compare_tables(conn, manifest)
            result.problems += problems
            result.migration_version = current_version(applied(conn))


def _record(storage: Storage, manifest: Manifest, result: VerifyResult) -> None:
    manifest.verification = Verification(
        result.ok, result.verified_at or datetime.now(UTC), result.seconds, result.problems, result.migration_version
    )
    storage.write_manifest(manifest.env, manifest.id, manifest.to_dict())


def verify(config: Config, backup_id: str, env: str | None = None) -> VerifyResult:
    """Check checksums, restore into a scratch database, compare row counts; record the outcome."""
    started = time.monotonic()
    storage, manifest = find(config, backup_id, env)
    result = VerifyResult(manifest.id, manifest.env, False, [], len(manifest.files), kind=manifest.kind)
    with opened(storage, manifest, load(config).identity) as backup:
        result.problems = backup.problems
        if not backup.problems:
            _check_restore(config, manifest, backup.dump, result)
    result.ok = not result.problems
    result.verified_at = datetime.now(UTC)
    result.seconds = round(time.monotonic() - started, 3)
    _record(storage, manifest, result)
    return result
