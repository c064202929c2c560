"""``pgwarden lint``: the migration safety linter (options parsed here, body in ``cli/lint_run.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pgwarden.cli.common import EnvOpt, JsonOpt, state

app = typer.Typer(
    help="Lint migrations for locks, data loss and run-time failures.",
    invoke_without_command=True,
    context_settings={"allow_interspersed_args": True},
)


@app.callback(invoke_without_command=True)
def lint(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files or folders (default: the project's new migrations, see --env, --git-base, --latest)."
        ),
    ] = None,
    env: EnvOpt = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="Output for CI: sarif or github (default: text; --json for JSON).")
    ] = "text",
    json: JsonOpt = False,
    git_base: Annotated[
        str | None,
        typer.Option(
            "--git-base", help="Lint the files added or changed since this git ref; earlier files are context."
        ),
    ] = None,
    latest: Annotated[
        int | None, typer.Option("--latest", help="Lint the last N files; earlier files are context.")
    ] = None,
    execute: Annotated[
        bool,
        typer.Option(
            "--execute", help="Also apply the linted migrations on a scratch database to catch run-time failures."
        ),
    ] = False,
    explain: Annotated[
        str | None,
        typer.Option("--explain", help="Print a rule's why, bad example and safe rewrite ('all' lists every rule)."),
    ] = None,
) -> None:
    """Lint migrations: exit 1 on any unsuppressed error, 2 on unparsable input, 0 otherwise.

    Which files are new: with --env the migrations pending there (applied ones are context,
    sized from the live catalog); else --git-base REF or --latest N; plain `pgwarden lint`
    picks one and says which on its first line. Earlier files are context: their tables
    exist (never new) and, without a database, count as large. Each finding names the rule,
    file:line:column, the lock and what it blocks, and a safe rewrite built from the statement.
    """
    from pgwarden.cli.lint_run import LintArgs, run

    code = run(LintArgs(list(paths or []), env, fmt, json, explain, latest, git_base, execute, state.config_path))
    if code:
        raise typer.Exit(code)
