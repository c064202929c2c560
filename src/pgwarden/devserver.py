"""The embedded server of an ``embedded`` environment: up, down, status, url."""

from __future__ import annotations

from dataclasses import dataclass

from pgwarden.config import Config
from pgwarden.errors import BadInput
from pgwarden.server import EmbeddedServer, ServerStatus, ensure_database


@dataclass(frozen=True)
class DevServerStatus:
    env: str
    database: str
    url: str | None
    server: ServerStatus


def server_for(config: Config, env: str | None) -> tuple[str, EmbeddedServer, str]:
    """The embedded server behind ``env`` (an error for an environment with a real URL)."""
    name, environment = config.environment(env)
    if not environment.is_embedded:
        raise BadInput(f"{config.source}: environments.{name}.url is not \"embedded\"; "
                       "`pgwarden dev` only manages embedded servers")
    return name, EmbeddedServer(config.state_path / name), environment.database


def up(config: Config, env: str | None = None) -> DevServerStatus:
    """Start (initialising on first use) the env's server and create its database; idempotent."""
    name, server, database = server_for(config, env)
    status = server.start()
    ensure_database(server.url("postgres"), database)
    return DevServerStatus(name, database, server.url(database), status)


def down(config: Config, env: str | None = None) -> DevServerStatus:
    """Stop the env's server if it runs; data stay in ``.pgwarden/<env>/``."""
    name, server, database = server_for(config, env)
    return DevServerStatus(name, database, None, server.stop())


def status(config: Config, env: str | None = None) -> DevServerStatus:
    """Whether the env's server runs; starts nothing."""
    name, server, database = server_for(config, env)
    current = server.status()
    return DevServerStatus(name, database, server.url(database) if current.running else None, current)
