"""The ``pgwarden`` console script: a start-up fast path for ``pgwarden lint``, typer for everything else.

``pgwarden lint`` runs in CI on every push, where interpreter start-up dominates:
importing typer (and through it pydantic and rich) costs more than linting a
thousand files. When the arguments are plain lint options the fast path parses them
with argparse and runs the same body (``cli/lint_run.py``) as the typer command;
anything else (``--help``, an unknown option, a global option) goes to typer.
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
    if rest:
        return None
    config = os.environ.get("PGWARDEN_CONFIG")
    return run(LintArgs(parsed.paths, parsed.env, parsed.fmt, parsed.json, parsed.explain, parsed.latest,
                        parsed.git_base, parsed.execute, Path(config) if config else None))


def _fail(exc: Exception, argv: list[str]) -> int:
    """Print an expected error the way the typer CLI does (one line, redacted, hint) and return its exit code."""
    from pgwarden.db import redact
    from pgwarden.errors import PgwardenError

    assert isinstance(exc, PgwardenError)
    if "--json" in argv:
        from pgwarden.output import dumps

        sys.stdout.write(dumps({k: redact(v) if isinstance(v, str) else v for k, v in exc.to_dict().items()}) + "\n")
    sys.stderr.write(f"pgwarden: error: {redact(exc.message)}\n")
    if exc.hint:
        sys.stderr.write(f"  next: {redact(exc.hint)}\n")
    return exc.exit_code


def main() -> None:
    """Entry point of the ``pgwarden`` command."""
    argv = sys.argv[1:]
    if argv[:1] == ["lint"]:
        from pgwarden.errors import PgwardenError

        try:
            code = _fast_lint(argv[1:])
        except PgwardenError as exc:
            sys.exit(_fail(exc, argv))
        except KeyboardInterrupt:
            sys.stderr.write("pgwarden: interrupted\n")
            sys.exit(130)
        if code is not None:
            sys.stdout.flush()
            sys.exit(code)
    from pgwarden.cli.main import main as full

    full()


if __name__ == "__main__":
    main()
