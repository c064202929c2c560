"""Top-level commands ``deploy``, ``check`` and ``seed``."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

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
    from pgwarden.deploy.report import DeployReport, DeployStep
    from pgwarden.schema.diff import Difference

_COLORS = {"ok": "green", "failed": "red", "refused": "red", "skipped": "dim", "would run": "cyan"}


class Format(StrEnum):
    table = "table"
    json = "json"


def _show_step(step: DeployStep) -> None:
    color = _COLORS.get(step.outcome, "white")
    info(f"[{color}]{step.outcome:>9}[/] {step.name} [dim]({step.seconds:.2f}s)[/] {step.detail}")


def _render_report(report: DeployReport) -> None:
    out = console()
    headline = {"deployed": "green", "up to date": "green", "dry run": "cyan"}.get(report.outcome, "red")
    out.print(f"[{headline}]{report.outcome}[/]: {report.env} ({report.database or '?'}) "
              f"version {report.version_before or 'none'} -> {report.version_after or 'none'}"
              + (f"; backup {report.backup_id}" if report.backup_id else ""))
    if report.ways_back:
        out.print("ways back:")
        for way in report.ways_back:
            out.print(f"  {way}")


DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Run the preflight only; change nothing.")]
BackupOpt = Annotated[bool | None, typer.Option("--backup/--no-backup",
                                                help="Take a verified backup first (always when protected).")]
FormatOpt = Annotated[Format, typer.Option("--format", help="table for people, json for CI.")]


def deploy(env: EnvOpt = None, yes: YesOpt = False, dry_run: DryRunOpt = False, backup: BackupOpt = None,
           json: JsonOpt = False) -> None:
    """Preflight, verified backup, apply pending migrations, post-checks and a recorded report."""
    from pgwarden.cli.migrate import CliReporter
    from pgwarden.deploy.pipeline import deploy as run_deploy

    report = run_deploy(load(), env, yes=yes, confirm=typed_confirmation(json),
                        dry_run=dry_run, backup=backup, reporter=CliReporter(quiet=json),
                        on_step=None if json else _show_step)
    if json:
        emit_json(report)
        return
    _render_report(report)


def _render_differences(title: str, differences: list[Difference]) -> None:
    rows = [[d.kind, d.name, d.change, d.describe().split(": ", 1)[1]] for d in differences]
    console().print(table(title, ["kind", "object", "change", "detail"], rows))


def check(env: EnvOpt = None,
          format: FormatOpt = Format.table,
          json: JsonOpt = False) -> None:
    """Schema drift: compare the live catalog with what the applied migrations build (exit 1 on drift)."""
    from pgwarden.errors import EXIT_PROBLEMS
    from pgwarden.schema.drift import check as drift_check

    result = drift_check(load(), env)
    if json or format is Format.json:
        emit_json({**json_doc(result), "drifted": result.drifted})
    elif result.drifted:
        _render_differences(f"{result.env} ({result.database}): drift against migrations up to "
                            f"{result.version or 'none'}", result.differences)
        console().print(f"{len(result.differences)} difference(s); "
                        "expected = what the migrations build, actual = the live database")
    else:
        console().print(f"[green]no drift[/]: {result.env} ({result.database}) matches its migrations "
                        f"up to {result.version or 'none'} ({result.objects_compared} objects compared)")
    if result.pending and not (json or format is Format.json):
        info(f"note: {len(result.pending)} pending migration(s) not compared: {', '.join(result.pending)}")
    if result.drifted:
        raise typer.Exit(EXIT_PROBLEMS)


def seed(env: EnvOpt = None, json: JsonOpt = False) -> None:
    """Run seeds/*.sql in name order, each file in one transaction (refused on protected environments)."""
    from pgwarden.deploy.seed import seed as run_seed

    result = run_seed(load(), env)
    if json:
        emit_json(result)
        return
    rows = [[f.path.name, f.statements, f"{f.duration_ms} ms"] for f in result.files]
    console().print(table(f"seeded {result.env} ({result.database})", ["file", "statements", "time"], rows))


def register(app: typer.Typer) -> None:
    """Add ``deploy``, ``check`` and ``seed`` to ``app``."""
    app.command()(deploy)
    app.command()(check)
    app.command()(seed)
