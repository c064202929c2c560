"""Entry point of the ``pgwarden`` command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pgwarden import __version__
from pgwarden.cli import backup as backup_cli
from pgwarden.cli import common, dev, lint, migrate, project
from pgwarden.cli import deploy as deploy_cli
from pgwarden.cli import doctor as doctor_cli
from pgwarden.cli import partition as partition_cli

app = typer.Typer(
    name="pgwarden",
    help="Run the whole life of a PostgreSQL application database safely.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode=None,
    context_settings=common.help_settings(),
)
app.add_typer(migrate.app, name="migrate")
app.add_typer(dev.app, name="dev")
app.add_typer(lint.app, name="lint")
app.add_typer(backup_cli.app, name="backup")
app.add_typer(partition_cli.app, name="partition")
project.register(app)
deploy_cli.register(app)
doctor_cli.register(app)


def _version(value: bool) -> None:
    if value:
        print(f"pgwarden {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Config file (default: nearest pgwarden.toml).",
                                                 envvar="PGWARDEN_CONFIG")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version.")] = False,
) -> None:
    common.state.config_path = config if config and str(config) else None


def main() -> None:
    """Run the CLI; expected errors print one line (no traceback) and exit with their code."""
    from pgwarden.errors import PgwardenError

    try:
        app()
    except PgwardenError as exc:
        from pgwarden.db import redact

        if "--json" in sys.argv[1:]:
            common.emit_json({k: redact(v) if isinstance(v, str) else v for k, v in exc.to_dict().items()})
        message = redact(exc.message)
        sys.stderr.write(f"pgwarden: error: {message}\n")
        if exc.hint:
            sys.stderr.write(f"  next: {redact(exc.hint)}\n")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("pgwarden: interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
