"""The body of ``pgwarden lint``, shared by the typer command and the start-up fast path (no typer import).

It parses nothing: it takes the already parsed options, calls ``pgwarden.lint.api`` and
renders. ``run`` returns the exit code; library errors propagate to the caller.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pgwarden.config import Config

FORMATS = ("text", "sarif", "github")


@dataclass
class LintArgs:
    """The options of ``pgwarden lint`` after parsing."""

    paths: list[Path] = field(default_factory=list)
    env: str | None = None
    fmt: str = "text"
    json: bool = False
    explain: str | None = None
    latest: int | None = None
    git_base: str | None = None
    execute: bool = False
    config_path: Path | None = None


def _config_or_none(config_path: Path | None) -> Config | None:
    """The project config when there is one; None for plain files outside a project (lint defaults apply).

    The existence check runs first so that linting files outside a project does not
    pay for building the configuration models.
    """
    from pgwarden.configfile import find_config

    path = config_path or find_config(required=False)
    if path is None:
        return None
    from pgwarden.settings import load as load_settings

    return load_settings(path)


def _pending(config: Config, env: str) -> list[Path]:
    from pgwarden.migrations.api import pending_files

    return [f.path for f in pending_files(config, env)]


def run(args: LintArgs) -> int:
    """Lint as the options say, write the report to stdout, return the exit code (0 clean, 1 errors)."""
    from pgwarden.errors import BadInput

    if args.explain == "all":
        from pgwarden.lint.registry import all_rules

        for rule in all_rules().values():
            sys.stdout.write(f"{rule.id:38} {rule.family:12} {rule.severity:8} {rule.summary}\n")
        return 0
    if args.explain:
        from pgwarden.lint.registry import explain as explain_rule

        sys.stdout.write(explain_rule(args.explain))
        return 0
    fmt = args.fmt
    if fmt == "json":
        sys.stderr.write("pgwarden: note: --format json is --json now (--format is for sarif and github)\n")
        fmt = "json"
    elif args.json:
        fmt = "json"
    elif fmt not in FORMATS:
        raise BadInput(f"--format {fmt}: unknown format (use {', '.join(FORMATS[1:])}, or --json)")
    from pgwarden.lint import api
    from pgwarden.lint.reporters import render

    config = _config_or_none(args.config_path)
    if args.paths:
        context = None
        if args.execute and args.env is not None and config is not None and config.migrations_path.is_dir():
            todo = {p.resolve() for p in _pending(config, args.env)}  # the applied ones build the scratch schema
            from pgwarden.lint.sources import expand_paths

            context = [p for p in expand_paths([config.migrations_path]) if p.resolve() not in todo]
        report = api.lint_paths(
            list(args.paths),
            config=config,
            env=args.env,
            latest=args.latest,
            git_base=args.git_base,
            execute=args.execute,
            context=context,
        )
    else:
        if config is None:
            raise BadInput(
                "no paths given and no pgwarden.toml found",
                hint="give files or folders to lint, or run `pgwarden init`",
            )
        pending = None
        if args.env is not None and args.latest is None and args.git_base is None:
            pending = _pending(config, args.env)
        report = api.lint_project(
            config, args.env, latest=args.latest, git_base=args.git_base, pending=pending, execute=args.execute
        )
    sys.stdout.write(render(report, fmt))
    return report.exit_code
