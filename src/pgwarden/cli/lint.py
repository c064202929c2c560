"""``pgwarden lint``: the migration safety linter."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pgwarden.cli.common import EnvOpt, JsonOpt, state

if TYPE_CHECKING:
    from pgwarden.config import Config

app = typer.Typer(help="Lint migrations for locks, data loss and run-time failures.", invoke_without_command=True,
                  context_settings={"allow_interspersed_args": True})


def _config_or_none() -> Config | None:
    """The project config when there is one; None for plain files outside a project (lint defaults apply).

    The existence check runs first so that linting files outside a project does not
    pay for building the configuration models.
    """
    from pgwarden.configfile import find_config

    path = state.config_path or find_config(required=False)
    if path is None:
        return None
    from pgwarden.settings import load as load_settings

    return load_settings(path)


@app.callback(invoke_without_command=True)
def lint(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (default: the project's "
                                                             "migrations; with --env only those pending there).")]
    = None,
    env: EnvOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="Output: text, json, sarif or github.")] = "text",
    explain: Annotated[str | None, typer.Option("--explain", help="Print a rule's why, bad example and safe "
                                                                   "rewrite ('all' lists every rule).")] = None,
    json: JsonOpt = False,
) -> None:
    """Lint migrations: exit 1 on any unsuppressed error, 2 on unparsable input, 0 otherwise.

    Each finding names the rule, file:line:column, the lock the statement takes and
    what it blocks, and a safe rewrite. With --env the severity follows the live
    table sizes (a strong lock on a small table is a warning, on a large one an error).
    """
    from pgwarden.errors import BadInput

    if explain == "all":
        from pgwarden.lint.registry import all_rules

        for rule in all_rules().values():
            sys.stdout.write(f"{rule.id:38} {rule.family:12} {rule.severity:8} {rule.summary}\n")
        return
    if explain:
        from pgwarden.lint.registry import explain as explain_rule

        sys.stdout.write(explain_rule(explain))
        return
    from pgwarden.lint.reporters import FORMATS, render

    if json:
        fmt = "json"

    if fmt not in FORMATS:
        raise BadInput(f"--format {fmt}: unknown format (use {', '.join(FORMATS)})")
    from pgwarden.lint import api

    if paths:
        report = api.lint_paths(list(paths), config=_config_or_none(), env=env)
    else:
        from pgwarden.cli.common import load

        report = api.lint_project(load(), env)
    sys.stdout.write(render(report, fmt))
    if report.exit_code:
        raise typer.Exit(report.exit_code)
