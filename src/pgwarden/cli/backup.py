"""``pgwarden backup …``: backups that are known to restore."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.text import Text

from pgwarden.cli.common import (
    EnvOpt,
    JsonOpt,
    KeepOpt,
    YesOpt,
    console,
    emit_json,
    info,
    load,
    table,
    typed_confirmation,
    working,
)

if TYPE_CHECKING:
    from pgwarden.backup.api import DumpProgress

app = typer.Typer(help="Verified backups: create, list, verify, restore, prune.", no_args_is_help=True)

TablesOpt = Annotated[list[str] | None, typer.Option("--tables", "-t", help="Only this [schema.]table (repeatable).")]


def _size(n: int) -> str:
    from pgwarden.units import human_size

    return human_size(n)


def _age(seconds: float) -> str:
    from pgwarden.units import human_duration

    return human_duration(seconds)


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[DumpProgress], None] | None]:
    """A rich progress bar on stderr when it is a terminal (else no callback)."""
    err = console(stderr=True)
    if not enabled or not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("pg_dump"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} tables"),
        TextColumn("{task.fields[written]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("dump", total=None, written="0 B")

        def update(p: DumpProgress) -> None:
            bar.update(
                task,
                completed=min(p.tables_done, p.tables_total or p.tables_done),
                total=p.tables_total or None,
                written=_size(p.bytes_written),
            )

        yield update


@app.command()
def create(
    env: EnvOpt = None,
    tables: TablesOpt = None,
    format: Annotated[str | None, typer.Option("--format", "-F", help="custom or directory.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Parallel dump jobs (directory format).")] = 1,
    compress: Annotated[str | None, typer.Option(help="zstd, lz4, gzip or none (default: best available).")] = None,
    json: JsonOpt = False,
) -> None:
    """Dump the environment's database into a new backup with its manifest (published only when complete)."""
    from pgwarden.backup.api import create as create_backup

    with _progress(not json) as progress:
        result = create_backup(
            load(),
            env,
            tables=tables,
            format=format,
            jobs=jobs,
            compress=compress,
            progress=progress,
            notice=lambda text: info(f"note: {escape(text)}"),
        )
    if json:
        emit_json(result)
        return
    m = result.manifest
    out = console()
    out.print(f"[green]backup {result.id}[/] of {result.env} ({m.database}): {_size(m.size)} in {result.seconds:.1f}s")
    out.print(f"  kind: {m.kind}; stored at: {escape(result.location)}")
    if m.encryption:
        out.print(f"  encrypted ({m.encryption.scheme}) for {', '.join(m.encryption.recipients)}")
    if result.outside_references:
        out.print(f"  partial: {len(result.outside_references)} foreign key(s) point at rows not in it (see the note)")
    out.print(f"  pg_dump: {result.pg_dump}; format {m.format}, compression {result.compression}")
    exact = sum(1 for t in m.tables if t.exact)
    out.print(
        f"  migration version: {m.migration_version or 'none'}; {len(m.tables)} table(s), "
        f"{exact} counted exactly, {len(m.tables) - exact} estimated"
    )
    if result.cleaned_incomplete:
        out.print(f"  removed {len(result.cleaned_incomplete)} abandoned incomplete backup folder(s)")
    out.print(f"  next: pgwarden backup verify {result.id}")


@app.command("list")
def list_(env: EnvOpt = None, json: JsonOpt = False) -> None:
    """Usable backups, newest first, with size, age, migration version and verification state."""
    from pgwarden.backup.api import list_backups

    config = load()
    backups = list_backups(config, env)
    if json:
        emit_json(backups)
        return
    colors = {"ok": "green", "failed": "red", "never": "yellow"}
    rows = [
        [
            b.id,
            _size(b.size),
            _age(b.age_seconds),
            b.migration_version,
            Text(b.verified, style=colors[b.verified]),
            b.kind + (f" ({', '.join(b.tables)})" if b.tables else ""),
            f"{b.format}/{b.compression}" + (" encrypted" if b.encrypted else ""),
            b.reason or "",
        ]
        for b in backups
    ]
    out = console()
    columns = ["id", "size", "age", "migration", "verified", "kind", "dump", "note"]
    rendered = table(f"backups of {config.env_name(env)}", columns, rows)
    for column in rendered.columns[:3]:
        column.no_wrap = True
    out.print(rendered)
    if not backups:
        out.print("no backups yet: pgwarden backup create")


@app.command()
def verify(
    backup_id: Annotated[str, typer.Argument(help="Backup id (see backup list).")],
    env: EnvOpt = None,
    json: JsonOpt = False,
    keep: KeepOpt = False,
) -> None:
    """Check every sha256, restore into a scratch database, compare row counts (exit 1 on any mismatch)."""
    from pgwarden.backup.api import verify as verify_backup
    from pgwarden.errors import EXIT_PROBLEMS

    message = f"verifying {backup_id}: checksums, then a restore into a scratch database"
    with nullcontext() if json else working(message):
        result = verify_backup(load(), backup_id, env)
    if json:
        emit_json(result)
    else:
        out = console()
        if result.tables:
            rows = [
                [
                    f"{t.schema}.{t.name}",
                    t.expected if t.exact else f"~{t.expected}",
                    t.actual,
                    Text("ok", style="green") if t.ok else Text("MISMATCH", style="red"),
                ]
                for t in result.tables
            ]
            out.print(table(f"backup {result.id}", ["table", "manifest rows", "restored rows", "state"], rows))
        for problem in result.problems:
            out.print(f"[red]problem[/]: {escape(problem)}")
        for skipped in result.skipped:
            out.print(f"[yellow]skipped[/]: {escape(skipped)}")
        state = "[green]verified[/]" if result.ok else "[red]FAILED[/]"
        out.print(
            f"{state}: {result.files_checked} file(s) checked, {len(result.tables)} table(s) compared, "
            f"migration version {result.migration_version or 'none'}, {result.seconds:.1f}s"
        )
    if not result.ok:
        raise typer.Exit(EXIT_PROBLEMS)


@app.command()
def restore(
    backup_id: Annotated[str, typer.Argument(help="Backup id (see backup list).")],
    env: EnvOpt = None,
    target_db: Annotated[
        str | None,
        typer.Option("--target-db", help="Restore into this new database on the same server instead."),
    ] = None,
    tables: TablesOpt = None,
    archive: Annotated[
        bool,
        typer.Option("--archive", help="BACKUP_ID names a retired partition (or its archive): restore, re-attach."),
    ] = False,
    yes: YesOpt = False,
    json: JsonOpt = False,
) -> None:
    """Restore a backup in place (pg_restore --clean --if-exists, one transaction) or into a new database."""
    from pgwarden.backup.api import restore as restore_backup

    if archive:
        _restore_archive(backup_id, env, yes, json)
        return
    result = restore_backup(
        load(), backup_id, env, target_db=target_db, tables=tables, yes=yes, confirm=typed_confirmation(json)
    )
    if json:
        emit_json(result)
        return
    out = console()
    if result.safety_backup_id:
        out.print(f"safety backup of the current state: {result.safety_backup_id}")
    where = f"new database {result.target_db}" if result.target_db else f"{result.env} ({result.database})"
    what = f"table(s) {', '.join(result.tables)}" if result.tables else "everything"
    out.print(
        f"[green]restored[/] {what} from {result.id} into {where} with {result.pg_restore} in {result.seconds:.1f}s"
    )
    out.print(f"migration version now in the database: {result.migration_version or 'none'}")
    if result.target_db:
        out.print(f"  switch to it by pointing the environment's url at database {result.target_db}")


def _restore_archive(name: str, env: str | None, yes: bool, json: bool) -> None:
    from pgwarden.backup.api import restore_archive

    result = restore_archive(load(), env, name, yes=yes, confirm=typed_confirmation(json))
    if json:
        emit_json(result)
        return
    console().print(
        f"[green]restored[/] partition {escape(result.table)} ({result.rows} rows) from archive "
        f"{result.backup_id} and attached it to {escape(result.parent)} {escape(result.bounds)}"
    )


@app.command()
def prune(
    env: EnvOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be deleted; delete nothing.")] = False,
    json: JsonOpt = False,
) -> None:
    """Apply keep = {daily, weekly, monthly}; never deletes the newest verified backup or anything newer."""
    from pgwarden.backup.api import prune as prune_backups

    result = prune_backups(load(), env, dry_run=dry_run)
    if json:
        emit_json(result)
        return
    rows: list[list[Any]] = [[d.id, Text("keep", style="green"), ", ".join(d.reasons)] for d in result.kept]
    rows += [
        [d.id, Text("would delete" if dry_run else "deleted", style="red"), "no rule keeps it"] for d in result.deleted
    ]
    rows.sort(key=lambda r: r[0], reverse=True)
    out = console()
    out.print(
        table(
            f"prune {result.env}" + (" - dry run, nothing deleted" if dry_run else ""),
            ["id", "action", "reason"],
            rows,
        )
    )
    if result.cleaned_incomplete:
        out.print(f"removed {len(result.cleaned_incomplete)} abandoned incomplete folder(s)")
    out.print(f"kept {len(result.kept)}, {'would delete' if dry_run else 'deleted'} {len(result.deleted)}")
