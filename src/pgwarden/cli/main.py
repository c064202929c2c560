"""Entry point of the ``pgwarden`` command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pgwarden import __version__
from pgwarden.cli import agent as agent_cli
from pgwarden.cli import backfill as backfill_cli
from pgwarden.cli import backup as backup_cli
from pgwarden.cli import check as check_cli
from pgwarden.cli import common, dev, lint, migrate, project
from pgwarden.cli import deploy as deploy_cli
from pgwarden.cli import doctor as doctor_cli
from pgwarden.cli import fleet as fleet_cli
from pgwarden.cli import partition as partition_cli
from pgwarden.cli import plan as plan_cli
from pgwarden.cli import serve as serve_cli

if TYPE_CHECKING:
    from pgwarden.config import Config

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
app.add_typer(plan_cli.app, name="plan")
app.add_typer(fleet_cli.app, name="fleet")
project.register(app)
deploy_cli.register(app)
check_cli.register(app)
doctor_cli.register(app)
backfill_cli.register(app)
serve_cli.register(app)
app.add_typer(agent_cli.app, name="agent")


def _version(value: bool) -> None:
    if value:
        print(f"pgwarden {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Config file (default: nearest pgwarden.toml).", envvar="PGWARDEN_CONFIG"),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    common.state.config_path = config if config and str(config) else None


def _install_policy() -> None:
    """One command per process: the policy's prompt (when a person can answer), its backup step."""
    from pgwarden import guards, policy

    policy.install_backup_step(_backup_first)
    policy.set_prompt(common.typed_confirmation("--json" in sys.argv[1:]))
    guards.remember_confirmations()


def _backup_first(config: Config, env: str) -> str:
    from pgwarden.deploy.backup_first import policy_backup_step

    return policy_backup_step(config, env)


def main() -> None:
    """Run the CLI: the one place where errors become exit codes.

    Library code raises :class:`~pgwarden.errors.PgwardenError` subclasses; each
    prints one line (no traceback), then its ``next:`` lines, and exits with its
    code (with ``--json``: its JSON document on stdout as well).
    """
    from pgwarden.errors import PgwardenError

    _install_policy()
    try:
        app()
    except PgwardenError as exc:
        from pgwarden.db import redact
        from pgwarden.output import to_jsonable

        if "--json" in sys.argv[1:]:
            common.emit_json(_redacted(to_jsonable(exc.to_dict())))
        sys.stderr.write(f"pgwarden: error: {redact(exc.message)}\n")
        for line in (exc.hint or "").splitlines():
            sys.stderr.write(f"  next: {redact(line)}\n")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("pgwarden: interrupted\n")
        sys.exit(130)


def _redacted(value: Any) -> Any:
    from pgwarden.db import redact

    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


if __name__ == "__main__":
    main()
