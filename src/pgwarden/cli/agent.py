"""``pgwarden agent``: run the ``[[schedule]]`` tasks (forever, or ``--once``) and ``agent status``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pgwarden.cli.common import JsonOpt, console, emit_json, info, load, table

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

    from pgwarden.agent.runner import PassResult
    from pgwarden.config import Config

app = typer.Typer(
    help="Run scheduled backups, verifies, prunes, partition upkeep, doctor snapshots and checks.",
    no_args_is_help=False,
)

EnvsOpt = Annotated[list[str] | None, typer.Option("--env", "-e", help="Only this environment (repeatable).")]


def _render_pass(result: PassResult) -> None:
    from rich.markup import escape

    for run in result.runs:
        style = {"ok": "green", "failed": "red", "abandoned": "magenta"}.get(run.outcome, "yellow")
        console().print(
            f"[{style}]{run.outcome:9}[/] {escape(run.task)} on {escape(run.env)} "
            f"(slot {run.slot:%Y-%m-%d %H:%M} UTC, {run.attempts} attempts): {escape(run.summary)}"
        )
    for env, why in result.skipped_envs.items():
        info(f"[yellow]skipped[/] {escape(env)}: {escape(why)}")
    for alert in result.alerts:
        info(f"[red]dead-man[/] {escape(alert)}")


def _emit_pass(result: PassResult) -> None:
    if result.runs or result.alerts:  # one JSON document per pass that did something
        emit_json(result)


@app.callback(invoke_without_command=True)
def agent(
    ctx: typer.Context,
    env: EnvsOpt = None,
    once: Annotated[bool, typer.Option("--once", help="Run what is due now and exit (for cron and CI).")] = False,
    metrics_port: Annotated[
        int | None, typer.Option("--metrics-port", help="Also serve Prometheus /metrics on this port (127.0.0.1).")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Run the schedules until SIGTERM (or once with --once); exit 1 when a run failed (--once)."""
    if ctx.invoked_subcommand is not None:
        return
    from pgwarden.agent import api

    config = load()
    server = None
    if metrics_port is not None:
        server = _metrics_server(config, metrics_port)
    try:
        if once:
            result = api.run_once(config, env)
            if json:
                emit_json(result)
            else:
                _render_pass(result)
            if result.failed:
                raise typer.Exit(1)
            return
        info("pgwarden agent running (SIGTERM or Ctrl-C stops after the running task)")
        api.run(config, env, on_pass=_emit_pass if json else _render_pass)
    finally:
        if server is not None:
            server.shutdown()


def _metrics_server(config: Config, port: int) -> ThreadingHTTPServer:
    from pgwarden.serve.metrics import exposition, serve_in_thread
    from pgwarden.serve.readonly import ReadOnlyProject
    from pgwarden.serve.sections import Sections
    from pgwarden.serve.settings import load as load_settings
    from pgwarden.serve.settings import token_of
    from pgwarden.serve.views import preload

    settings = load_settings(config)
    project = ReadOnlyProject(config, settings)
    pool = Sections(workers=8)
    preload()
    info(f"metrics on http://127.0.0.1:{port}/metrics")
    return serve_in_thread("127.0.0.1", port, lambda: exposition(project, pool), token_of(settings))


@app.command("status")
def status(json: JsonOpt = False) -> None:
    """Every schedule with its last run, last success and next run."""
    from pgwarden.agent.api import status as agent_status

    result = agent_status(load())
    if json:
        emit_json(result)
        return
    rows = []
    for s in result.schedules:
        last = s.last_run
        rows.append(
            [
                s.task,
                s.env,
                f"{s.cron} ({s.timezone})",
                f"{last.outcome} {last.slot:%Y-%m-%d %H:%M}" if last else "never",
                f"{s.last_success:%Y-%m-%d %H:%M}" if s.last_success else "never",
                f"{s.next_run:%Y-%m-%d %H:%M}",
                "OVERDUE" if s.overdue else "ok",
            ]
        )
    console().print(
        table(
            f"schedules (history: {result.store})",
            ["task", "env", "cron", "last run (UTC)", "last success", "next run (UTC)", "dead-man"],
            rows,
        )
    )
