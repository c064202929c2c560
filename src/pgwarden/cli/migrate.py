"""``pgwarden migrate …``: versioned migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from pgwarden.cli import check as check_cli
from pgwarden.cli.common import (
    EnvOpt,
    JsonOpt,
    YesOpt,
    console,
    emit_json,
    info,
    json_doc,
    load,
    table,
    typed_confirmation,
)

if TYPE_CHECKING:
    from pgwarden.db import Blocker
    from pgwarden.migrations.api import MigrateResult
    from pgwarden.sources import MigrationFile

app = typer.Typer(
    help="Versioned SQL migrations: new, up, down, status, history, repair, baseline.", no_args_is_help=True
)


TerminateOrphansOpt = Annotated[
    bool,
    typer.Option(
        "--terminate-orphans", help="End database backends left running by a killed pgwarden run instead of waiting."
    ),
]


def _cells(rows: list[list[Any]]) -> list[list[Any]]:
    """Table cells with user text escaped for rich markup."""
    return [[escape(v) if isinstance(v, str) else v for v in row] for row in rows]


class CliReporter:
    """Progress on stderr while migrations run (all user text escaped for rich)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet

    def migration_started(self, migration: MigrationFile, direction: str) -> None:
        if not self.quiet:
            info(f"[bold]{direction:>4}[/] {escape(migration.label)}")

    def lock_retry(self, what: str, attempt: int, blockers: list[Blocker], delay: float) -> None:
        blocked_by = "; ".join(b.describe() for b in blockers) or "unknown session"
        info(
            f"[yellow]lock timeout[/] on {escape(what)}; blocked by {escape(blocked_by)}; "
            f"retry {attempt} in {delay:.1f}s"
        )

    def waiting_for_runner_lock(self) -> None:
        info("another pgwarden is migrating this database; waiting for it to finish")

    def waiting_for_orphans(self, pids: list[int], terminating: bool) -> None:
        listing = ", ".join(str(pid) for pid in pids)
        info(
            f"a killed pgwarden run left backend(s) {listing} working; "
            + (
                "ending them (--terminate-orphans)"
                if terminating
                else "waiting for them to finish (or run with --terminate-orphans)"
            )
        )

    def note(self, message: str) -> None:
        if not self.quiet:
            info(f"[yellow]{escape(message)}[/]")


def _render_steps(result: MigrateResult) -> None:
    out = console()
    if not result.steps:
        version = result.version_after or "no version"
        out.print(f"[green]Nothing to do[/]: {escape(result.env)} ({escape(result.database)}) is at {escape(version)}")
        return
    rows = [
        [
            s.version,
            s.name,
            s.status + (f" (resumed at {s.resumed_at})" if s.resumed_at else ""),
            f"{s.duration_ms} ms",
            s.statements,
            s.lock_retries or "",
        ]
        for s in result.steps
    ]
    title = f"{result.env} ({result.database})" + (" - dry run, nothing changed" if result.dry_run else "")
    out.print(table(escape(title), ["version", "name", "status", "time", "statements", "lock retries"], _cells(rows)))
    for warning in result.warnings:
        out.print(f"[yellow]warning[/]: {escape(warning)}")
    out.print(version_line(result), markup=False)


def version_line(result: MigrateResult) -> str:
    """``version: A -> B``, never going backwards: a migration applied out of order is named as such."""
    from pgwarden.sources import version_key

    before, after = result.version_before, result.version_after
    older = [
        s.version
        for s in result.steps
        if result.direction == "up" and before and version_key(s.version) < version_key(before)
    ]
    if result.direction == "up" and before and (after is None or version_key(after) <= version_key(before)):
        return f"version: {before} (unchanged)" + (f"; applied out of order: {', '.join(older)}" if older else "")
    suffix = f"; also applied out of order: {', '.join(older)}" if older else ""
    return f"version: {before or 'none'} -> {after or 'none'}{suffix}"


@app.command()
def new(
    name: Annotated[str, typer.Argument(help="What the migration does, e.g. add_phone.")], json: JsonOpt = False
) -> None:
    """Write a timestamped migration file with empty up and down sections."""
    from pgwarden.migrations.api import new as new_migration

    path = new_migration(load(), name)
    if json:
        emit_json({"path": str(path)})
    else:
        console().print(f"created {escape(str(path))}")


@app.command()
def up(
    env: EnvOpt = None,
    to: Annotated[str | None, typer.Option(help="Stop after this version.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would run; change nothing.")] = False,
    terminate_orphans: TerminateOrphansOpt = False,
    json: JsonOpt = False,
) -> None:
    """Apply pending migrations, each exactly once (lint warnings are printed before anything runs)."""
    from pgwarden.migrations.api import up as migrate_up

    result = migrate_up(
        load(), env, to=to, dry_run=dry_run, reporter=CliReporter(quiet=json), terminate_orphans=terminate_orphans
    )
    emit_json(result) if json else _render_steps(result)


@app.command()
def down(
    env: EnvOpt = None,
    steps: Annotated[int | None, typer.Option(help="How many migrations to revert (default 1).")] = None,
    to: Annotated[str | None, typer.Option(help="Revert every migration newer than this version.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would run; change nothing.")] = False,
    yes: YesOpt = False,
    terminate_orphans: TerminateOrphansOpt = False,
    json: JsonOpt = False,
) -> None:
    """Revert migrations with their down sections (refused if one has none; protected envs ask first)."""
    from pgwarden.migrations.api import down as migrate_down

    result = migrate_down(
        load(),
        env,
        steps=steps,
        to=to,
        dry_run=dry_run,
        reporter=CliReporter(quiet=json),
        yes=yes,
        confirm=typed_confirmation(json),
        terminate_orphans=terminate_orphans,
    )
    emit_json(result) if json else _render_steps(result)


@app.command()
def status(env: EnvOpt = None, json: JsonOpt = False) -> None:
    """Show applied, pending, changed, missing and failed migrations (exit 1 if any problem)."""
    from pgwarden.errors import EXIT_PROBLEMS
    from pgwarden.migrations.api import status as migrate_status

    result = migrate_status(load(), env)
    if json:
        emit_json({**{"counts": result.counts}, **json_doc(result)})
    else:
        colors = {
            "applied": "green",
            "pending": "cyan",
            "baseline": "blue",
            "changed": "red",
            "missing": "red",
            "failed": "red",
            "interrupted": "red",
            "reverting": "red",
        }
        rows = [
            [
                escape(m.version),
                escape(m.name),
                f"[{colors[m.state]}]{m.state}[/]",
                m.applied_at.strftime("%Y-%m-%d %H:%M:%S") if m.applied_at else None,
                escape(m.note) if m.note else None,
            ]
            for m in result.migrations
        ]
        out = console()
        out.print(
            table(
                escape(f"{result.env} ({result.database}) at version {result.current_version or 'none'}"),
                ["version", "name", "state", "applied at", "note"],
                rows,
            )
        )
        out.print(", ".join(f"{n} {state}" for state, n in sorted(result.counts.items())) or "no migrations")
    if result.problems:
        raise typer.Exit(EXIT_PROBLEMS)


@app.command()
def history(env: EnvOpt = None, json: JsonOpt = False) -> None:
    """Show what was applied, when, by whom and how long it took."""
    from pgwarden.migrations.api import history_of

    entries = history_of(load(), env)
    if json:
        emit_json(entries)
        return
    rows = [
        [
            e.version,
            e.name,
            e.status,
            e.applied_at.strftime("%Y-%m-%d %H:%M:%S"),
            e.applied_by,
            f"{e.duration_ms} ms",
            "yes" if e.transactional else "no",
        ]
        for e in entries
    ]
    console().print(
        table("history", ["version", "name", "status", "applied at", "by", "time", "transactional"], _cells(rows))
    )


@app.command()
def repair(
    env: EnvOpt = None,
    ran: Annotated[
        str | None, typer.Option("--ran", help="VERSION: the statement its stopped run was cut off in did take effect.")
    ] = None,
    not_ran: Annotated[
        str | None,
        typer.Option("--not-ran", help="VERSION: the statement its stopped run was cut off in did not take effect."),
    ] = None,
    forget: Annotated[
        str | None,
        typer.Option("--forget", help="VERSION: forget its stopped run (undone by hand; it starts again at 1)."),
    ] = None,
    yes: YesOpt = False,
    json: JsonOpt = False,
) -> None:
    """Accept edited files as they are now; stopped runs keep the statements done (runs no migration SQL)."""
    from pgwarden.migrations.api import repair as migrate_repair

    result = migrate_repair(load(), env, ran=ran, not_ran=not_ran, forget=forget)
    if json:
        emit_json(result)
        return
    out = console()
    out.print(f"re-recorded checksums: {escape(', '.join(result.rechecksummed) or 'none')}")
    out.print(f"forgot failed runs: {escape(', '.join(result.forgotten_failures) or 'none')}")
    for kept in result.kept:
        done = f"statements 1-{kept.statements_done}" if kept.statements_done > 1 else "statement 1"
        out.print(
            f"{escape(kept.version)}: keeps {done} as done; the next `pgwarden migrate up` resumes at "
            f"statement {kept.resumes_at}"
        )


@app.command()
def baseline(
    version: Annotated[str, typer.Option("--version", help="Newest migration already in the database.")],
    env: EnvOpt = None,
    yes: YesOpt = False,
    json: JsonOpt = False,
) -> None:
    """Adopt an existing database: count migrations up to VERSION as applied without running them."""
    from pgwarden.migrations.api import baseline as migrate_baseline

    result = migrate_baseline(load(), env, version=version)
    if json:
        emit_json(result)
        return
    console().print(
        escape(f"{result.env}: baselined at {result.version} ({len(result.covered)} migration file(s) covered)")
    )


app.command("test")(check_cli.migrate_test)


@app.command()
def reset(env: EnvOpt = None, yes: YesOpt = False, json: JsonOpt = False) -> None:
    """Drop and re-create the database, then apply every migration (refused on protected environments)."""
    from pgwarden.deploy.reset import reset as reset_database

    result = reset_database(load(), env, yes=yes, confirm=typed_confirmation(json), reporter=CliReporter(quiet=json))
    if json:
        emit_json(result)
        return
    console().print(f"re-created {result.database} on {result.env}")
    _render_steps(result.migrate)
