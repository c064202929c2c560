"""Top-level commands ``deploy`` and ``seed``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pgwarden.cli.common import (
    EnvOpt,
    JsonOpt,
    YesOpt,
    console,
    emit_json,
    info,
    load,
    table,
    typed_confirmation,
)

if TYPE_CHECKING:
    from pgwarden.deploy.report import DeployReport, DeployStep

_COLORS = {"ok": "green", "failed": "red", "refused": "red", "skipped": "dim", "would run": "cyan"}


def _show_step(step: DeployStep) -> None:
    from rich.markup import escape

    color = _COLORS.get(step.outcome, "white")
    info(f"[{color}]{step.outcome:>9}[/] {escape(step.name)} [dim]({step.seconds:.2f}s)[/] {escape(step.detail)}")


def _render_report(report: DeployReport) -> None:
    """A deploy that went through (one that stopped is an error: main prints it with its ways back)."""
    from rich.markup import escape

    headline = {"deployed": "green", "up to date": "green", "dry run": "cyan"}.get(report.outcome, "red")
    console().print(
        f"[{headline}]{report.outcome}[/]: {escape(report.env)} ({escape(report.database or '?')}) "
        f"version {report.version_before or 'none'} -> {report.version_after or 'none'}"
        + (f"; backup {report.backup_id}" if report.backup_id else "")
    )


DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Run the preflight only; change nothing.")]
BackupOpt = Annotated[
    bool | None, typer.Option("--backup/--no-backup", help="Take a verified backup first (always when protected).")
]


def deploy(
    env: EnvOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    backup: BackupOpt = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="Deploy pending migrations up to this version only (e.g. an expand step before its contract)."
        ),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Preflight, verified backup, apply pending migrations, post-checks and a recorded report."""
    from pgwarden.cli.migrate import CliReporter
    from pgwarden.deploy.pipeline import deploy as run_deploy

    report = run_deploy(
        load(),
        env,
        yes=yes,
        confirm=typed_confirmation(json),
        dry_run=dry_run,
        backup=backup,
        reporter=CliReporter(quiet=json),
        on_step=None if json else _show_step,
        to=to,
    )
    if json:
        emit_json(report)
        return
    _render_report(report)


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
    """Add ``deploy`` and ``seed`` to ``app``."""
    app.command()(deploy)
    app.command()(seed)
