"""Top-level command ``serve``: parse, call pgwarden.serve, print where it listens."""

from __future__ import annotations

from typing import Annotated

import typer

from pgwarden.cli.common import JsonOpt, emit_json, info, load


def serve(
    host: Annotated[
        str | None,
        typer.Option(
            "--host", help="Address to listen on (default 127.0.0.1; any other needs PGWARDEN_DASHBOARD_TOKEN)."
        ),
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default 8765).")] = None,
    json: JsonOpt = False,
) -> None:
    """Read-only dashboard of every environment, and Prometheus /metrics."""
    from rich.markup import escape

    from pgwarden.serve.api import load as load_settings
    from pgwarden.serve.api import serve as run

    config = load()
    settings = load_settings(config)
    url = f"http://{host or settings.host}:{port or settings.port}/"
    if json:
        emit_json({"url": url, "metrics": url + "metrics", "read_only": True})
    info(f"pgwarden dashboard on {escape(url)} (read-only; Ctrl-C stops)")
    run(config, host=host, port=port)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    app.command()(serve)
