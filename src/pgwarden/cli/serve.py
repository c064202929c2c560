"""Top-level command ``serve``: parse, call pgwarden.serve, print where it listens."""

from __future__ import annotations

from typing import Annotated

import typer

from pgwarden.cli.common import info, load


def serve(host: Annotated[str | None, typer.Option("--host", help="Address to listen on (default 127.0.0.1; any "
                                                   "other needs PGWARDEN_DASHBOARD_TOKEN).")] = None,
          port: Annotated[int | None, typer.Option("--port", help="Port (default 8765).")] = None) -> None:
    """Read-only dashboard of every environment, and Prometheus /metrics."""
    from rich.markup import escape

    from pgwarden.serve.api import load as load_settings
    from pgwarden.serve.api import serve as run

    config = load()
    settings = load_settings(config)
    info(f"pgwarden dashboard on http://{escape(host or settings.host)}:{port or settings.port}/ "
         "(read-only; Ctrl-C stops)")
    run(config, host=host, port=port)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    app.command()(serve)
