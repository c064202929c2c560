"""The public functions of the dashboard (what ``pgwarden serve`` calls)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pgwarden.serve.readonly import ReadOnlyProject
from pgwarden.serve.settings import ServeSettings, check_bind, load, token_of

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from pgwarden.config import Config

__all__ = ["ReadOnlyProject", "ServeSettings", "app_for", "check_bind", "load", "require_extra", "serve", "token_of"]


def require_extra() -> None:
    """BadInput (exit 2) naming the missing package when the ``serve`` extra is not installed."""
    import importlib.util

    from pgwarden.errors import BadInput

    for name in ("starlette", "jinja2", "uvicorn"):
        if importlib.util.find_spec(name) is None:
            raise BadInput(f"pgwarden serve needs the {name} package", hint="pip install 'pgwarden[serve]'")


def app_for(config: Config, *, token: str | None = None) -> Starlette:
    """The dashboard application for ``config`` (``token`` None: no check; see :func:`serve` for the bind rule)."""
    require_extra()
    from pgwarden.serve.app import create_app

    return create_app(ReadOnlyProject(config, load(config)), token=token)


def serve(config: Config, *, host: str | None = None, port: int | None = None) -> None:
    """Run the dashboard until interrupted. Refused (exit 5) beyond loopback without a token."""
    require_extra()
    import uvicorn

    settings = load(config)
    bind = host or settings.host
    token = token_of(settings)
    check_bind(bind, token)
    uvicorn.run(
        app_for(config, token=token),
        host=bind,
        port=port if port is not None else settings.port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )
