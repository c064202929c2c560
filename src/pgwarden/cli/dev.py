"""``pgwarden dev …``: the embedded PostgreSQL servers of a project (environments and scratch)."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from pgwarden.cli.common import EnvOpt, JsonOpt, console, emit_json, load, table

if TYPE_CHECKING:
    from pgwarden.devserver import DevServerStatus, ProjectServers

app = typer.Typer(help="Embedded PostgreSQL for development: up, down, status, url, psql.", no_args_is_help=True)

AllOpt = Annotated[bool, typer.Option("--all", help="Every embedded server of the project (scratch included).")]


def _render(result: DevServerStatus, json: bool) -> None:
    from rich.markup import escape

    if json:
        emit_json(result)
        return
    s = result.server
    state = f"[green]running[/] (pid {s.pid})" if s.running else "[yellow]stopped[/]"
    console().print(
        f"{escape(result.env)}: {state}, data in {escape(s.pgdata)}"
        + (f"\nurl: {escape(result.url)}" if result.url else "")
    )


def _render_all(result: ProjectServers, json: bool) -> None:
    if json:
        emit_json(result)
        return
    rows = [
        [
            s.env,
            s.kind,
            f"running (pid {s.server.pid})" if s.server.running else "stopped",
            s.server.pgdata if s.server.initialized else "(not created yet)",
            s.url or "-",
        ]
        for s in result.servers
    ]
    console().print(table("embedded servers of this project", ["name", "kind", "state", "data", "url"], rows))


@app.command()
def up(env: EnvOpt = None, json: JsonOpt = False) -> None:
    """Start the embedded server (initialising it on first use); does nothing if it runs."""
    from pgwarden import devserver

    _render(devserver.up(load(), env), json)


@app.command()
def down(env: EnvOpt = None, all_servers: AllOpt = False, json: JsonOpt = False) -> None:
    """Stop the embedded server (--env scratch: the scratch server; --all: every one); data stay in .pgwarden/."""
    from pgwarden import devserver

    if all_servers:
        _render_all(devserver.stop_all(load()), json)
        return
    _render(devserver.down(load(), env), json)


@app.command()
def status(
    env: Annotated[
        str | None,
        typer.Option("--env", "-e", help="Only this environment's server (or scratch); exit 1 when it is stopped."),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """List every embedded server of the project (environments, scratch) and whether it runs.

    With --env, only that server, and exit 1 when it is stopped; without, exit 1 when none runs.
    """
    from pgwarden import devserver

    if env is None:
        servers = devserver.project_servers(load())
        _render_all(servers, json)
        if not servers.running:
            raise typer.Exit(1)
        return
    result = devserver.status(load(), env)
    _render(result, json)
    if not result.server.running:
        raise typer.Exit(1)


@app.command()
def url(env: EnvOpt = None, json: JsonOpt = False) -> None:
    """Print the connection URL of the environment's database (starting its server if needed)."""
    from pgwarden import devserver

    result = devserver.up(load(), env)
    if json:
        emit_json({"env": result.env, "url": result.url})
    else:
        print(result.url)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def psql(
    psql_args: Annotated[
        list[str] | None,
        typer.Argument(
            help="Arguments for psql (e.g. -c 'select 1', -f file.sql); put -- first to pass --env or -e.",
            show_default=False,
        ),
    ] = None,
    env: Annotated[
        str | None, typer.Option("--env", help="Environment from the config (default: default_env).")
    ] = None,
) -> None:
    """Run psql (the embedded server's own) on the environment's database; exits with psql's exit code.

    A script on stdin stops at its first error (ON_ERROR_STOP), so a failing query exits non-zero.
    """
    from pgwarden import devserver
    from pgwarden.server import bin_dir

    result = devserver.up(load(), env)
    assert result.url is not None
    command = [str(bin_dir() / "psql"), "--dbname", result.url]
    if not sys.stdin.isatty():
        command += ["--set", "ON_ERROR_STOP=1"]
    command += list(psql_args or [])
    raise typer.Exit(subprocess.run(command, check=False).returncode)
