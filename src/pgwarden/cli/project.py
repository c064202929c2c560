"""Top-level commands: ``init`` and ``demo``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from pgwarden.cli.common import JsonOpt, console, emit_json, info


def init(directory: Annotated[Path, typer.Argument(help="Project folder.")] = Path("."),
         json: JsonOpt = False) -> None:
    """Create pgwarden.toml, a migrations folder and a first migration (never overwrites)."""
    from pgwarden.scaffold import init as scaffold

    result = scaffold(directory)
    if json:
        emit_json(result)
        return
    for path in result.created:
        console().print(f"created {escape(str(path))}")
    console().print("next: pgwarden migrate up   (starts an embedded PostgreSQL for the dev environment)")


def demo(directory: Annotated[Path | None, typer.Option("--dir", help="Where to put the demo project "
                                                        "(default: a temporary folder).")] = None,
         keep: Annotated[bool, typer.Option("--keep", help="Leave the demo's server running and its files.")] = False,
         json: JsonOpt = False) -> None:
    """Run the table-order example end to end on the embedded server and show each step."""
    from pgwarden.demo import DemoStep, run_demo

    def show(step: DemoStep) -> None:
        if not json:
            info(f"[green]ok[/] {step.title} [dim]({step.seconds:.2f}s)[/]\n   {step.outcome}")

    if directory is None:
        base = Path(tempfile.mkdtemp(prefix="pgwarden-demo-"))
    else:
        base = directory
        try:
            base.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            from pgwarden.errors import BadInput

            raise BadInput(f"{directory}: cannot create the demo folder: {exc.strerror}") from None
    result = run_demo(base, keep=keep, on_step=show)
    if json:
        emit_json(result)
    else:
        console().print(f"demo project: {escape(str(result.project))}" + (" (server left running)" if keep else ""))


def register(app: typer.Typer) -> None:
    """Add the top-level commands to ``app``."""
    app.command()(init)
    app.command()(demo)
