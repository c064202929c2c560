"""``pgwarden dev …``: the embedded PostgreSQL server of a development environment."""

from __future__ import annotations

import os

import typer

from pgwarden.cli.common import EnvOpt, JsonOpt, console, emit_json, load

app = typer.Typer(help="Embedded PostgreSQL for development: up, down, status, url, psql.", no_args_is_help=True)


def _render(result: object, json: bool) -> None:
    from pgwarden.devserver import DevServerStatus

    assert isinstance(result, DevServerStatus)
    if json:
        emit_json(result)
        return
    s = result.server
    state = f"[green]running[/] (pid {s.pid})" if s.running else "[yellow]stopped[/]"
    console().print(f"{result.env}: {state}, data in {s.pgdata}" + (f"\nurl: {result.url}" if result.url else ""))


@app.command()
def up(env: EnvOpt = None, json: JsonOpt = False) -> None:
    """Start the embedded server (initialising it on first use); does nothing if it runs."""
    from pgwarden import devserver

    _render(devserver.up(load(), env), json)


@app.command()
def down(env: EnvOpt = None, json: JsonOpt = False) -> None:
    """Stop the embedded server; its data stay in .pgwarden/<env>/."""
    from pgwarden import devserver

    _render(devserver.down(load(), env), json)


@app.command()
def status(env: EnvOpt = None, json: JsonOpt = False) -> None:
    """Say whether the embedded server runs (exit 1 when stopped)."""
    from pgwarden import devserver

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


@app.command()
def psql(env: EnvOpt = None) -> None:
    """Open psql (the embedded server's own) on the environment's database."""
    from pgwarden import devserver
    from pgwarden.server import bin_dir

    result = devserver.up(load(), env)
    assert result.url is not None
    program = str(bin_dir() / "psql")
    os.execv(program, [program, result.url])
