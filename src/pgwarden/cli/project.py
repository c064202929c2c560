"""Top-level commands: ``init`` and ``demo``."""

from __future__ import annotations

import shlex
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from pgwarden.cli.common import JsonOpt, console, emit_json, info


def init(directory: Annotated[Path, typer.Argument(help="Project folder.")] = Path("."), json: JsonOpt = False) -> None:
    """Create pgwarden.toml, a migrations folder and a first migration (never overwrites)."""
    from pgwarden.scaffold import init as scaffold

    result = scaffold(directory)
    if json:
        emit_json(result)
        return
    for path in result.created:
        console().print(f"created {escape(str(path))}")
    if result.detected is not None:
        found = result.detected
        console().print(
            f"found {found.format} migrations in {found.migrations_dir} (from {found.evidence}): "
            f"pgwarden reads them as they are and keeps {found.format}'s history table up to date",
            markup=False,
        )
    go = "" if directory.resolve() == Path.cwd().resolve() else f"cd {shlex.quote(str(directory))} && "
    console().print(
        f"next: {go}pgwarden migrate up   (starts an embedded PostgreSQL for the dev environment)", markup=False
    )


def demo(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Where to put the demo project (default: a temporary folder).")
    ] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Leave the demo's server running and its files.")] = False,
    json: JsonOpt = False,
) -> None:
    """Run the table-order example end to end on the embedded server and show each step."""
    from pgwarden.demo import DemoStep, run_demo

    def show(step: DemoStep) -> None:
        if not json:
            info(f"[green]ok[/] {step.title} [dim]({step.seconds:.2f}s)[/]\n   {step.outcome}")

    created = directory is None or not directory.exists()
    if directory is None:
        base = Path(tempfile.mkdtemp(prefix="pgwarden-demo-"))
    else:
        base = directory
        try:
            base.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            from pgwarden.errors import BadInput

            raise BadInput(f"{directory}: cannot create the demo folder: {exc.strerror}") from None
    try:
        result = run_demo(base, keep=keep, on_step=show)
    finally:
        if created and not keep:
            shutil.rmtree(base, ignore_errors=True)
    if json:
        emit_json(result)
    elif keep:
        console().print(
            f"demo project: {result.project} (servers left running; "
            f"stop them with: cd {result.project} && pgwarden dev down --all)",
            markup=False,
        )
    else:
        console().print(
            f"demo finished; its servers are stopped and {result.project} was removed (--keep keeps them)", markup=False
        )
        console().print(
            "next, in your own project: `pgwarden serve` (read-only dashboard and /metrics), "
            "`pgwarden agent` (scheduled backups, verifies, partition upkeep); an existing Alembic, "
            "Prisma, Drizzle, dbmate, golang-migrate or Flyway project: `pgwarden init` detects it",
            markup=False,
        )


def register(app: typer.Typer) -> None:
    """Add the top-level commands to ``app``."""
    app.command()(init)
    app.command()(demo)
