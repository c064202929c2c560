"""The ``pgwarden`` console script: a start-up fast path for ``pgwarden lint``, typer for everything else.

``pgwarden lint`` runs in CI on every push, where interpreter start-up dominates:
importing typer (and through it pydantic and rich) costs more than linting a
thousand files. When the arguments are plain offline lint options the fast path parses
them with argparse and runs the same body (``cli/lint_run.py``) as the typer command.
Anything else goes to typer (``cli/main``): ``--help``, an unknown option, a global
option, ``--env``/``--execute`` (they reach a database through the policy that
``cli/main`` installs), and any error (lint changed nothing, so typer runs it again
and reports the error in the one place errors become exit codes).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _fast_lint(argv: list[str]) -> int | None:
    """Run ``pgwarden lint ARGV`` without typer; None when typer must handle these arguments."""
    import argparse

    from pgwarden.cli.lint_run import LintArgs, run

    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False, exit_on_error=False)
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--env", "-e")
    parser.add_argument("--format", "-f", dest="fmt", default="text")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--explain")
    parser.add_argument("--latest", type=int)
    parser.add_argument("--git-base", dest="git_base")
    parser.add_argument("--execute", action="store_true")
    if any(a in ("--help", "-h") for a in argv):
        return None
    try:
        parsed, rest = parser.parse_known_intermixed_args(argv)
    except (argparse.ArgumentError, SystemExit):
        return None
    if rest or parsed.env is not None or parsed.execute:
        return None
    config = os.environ.get("PGWARDEN_CONFIG")
    return run(
        LintArgs(
            parsed.paths,
            parsed.env,
            parsed.fmt,
            parsed.json,
            parsed.explain,
            parsed.latest,
            parsed.git_base,
            parsed.execute,
            Path(config) if config else None,
        )
    )


def main() -> None:
    """Entry point of the ``pgwarden`` command."""
    argv = sys.argv[1:]
    if argv[:1] == ["lint"]:
        from pgwarden.errors import PgwardenError

        try:
            code = _fast_lint(argv[1:])
        except PgwardenError:
            code = None  # lint changed nothing: typer runs it again and reports the error the one way (cli/main)
        if code is not None:
            sys.stdout.flush()
            sys.exit(code)
    from pgwarden.cli.main import main as full

    full()


if __name__ == "__main__":
    main()
