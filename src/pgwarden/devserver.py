"""The embedded servers of a project: each ``embedded`` environment's and the scratch server.

:func:`project_servers` is the one registry of them (``dev status``, ``dev down --all``,
``demo`` and the tests all go through it): every environment whose ``url = "embedded"``,
the scratch server under ``.pgwarden/scratch/`` and any other cluster found in ``.pgwarden/``
(left by an environment since removed from the config).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pgwarden.config import Config
from pgwarden.errors import BadInput
from pgwarden.server import SCRATCH, EmbeddedServer, ServerStatus, ensure_database, scratch_server

Kind = Literal["environment", "scratch", "other"]


@dataclass(frozen=True)
class DevServerStatus:
    env: str
    database: str
    url: str | None
    server: ServerStatus
    kind: Kind = "environment"


@dataclass(frozen=True)
class ProjectServers:
    """Every embedded server of the project and whether it runs."""

    servers: list[DevServerStatus]

    @property
    def running(self) -> list[DevServerStatus]:
        return [s for s in self.servers if s.server.running]


@dataclass(frozen=True)
class _Entry:
    name: str
    kind: Kind
    database: str
    server: EmbeddedServer


def _entries(config: Config) -> list[_Entry]:
    entries = [
        _Entry(name, "environment", env.database, EmbeddedServer(config.state_path / name))
        for name, env in sorted(config.settings.environments.items())
        if env.is_embedded
    ]
    scratch_used = config.settings.scratch_url == "embedded" or (config.state_path / SCRATCH).exists()
    if SCRATCH not in config.settings.environments and scratch_used:
        entries.append(_Entry(SCRATCH, "scratch", "postgres", scratch_server(config)))
    known = {e.name for e in entries}
    if config.state_path.is_dir():
        for folder in sorted(config.state_path.iterdir()):
            if folder.name not in known and ((folder / "PG_VERSION").is_file() or folder.is_symlink()):
                entries.append(_Entry(folder.name, "other", "postgres", EmbeddedServer(folder)))
    return entries


def _status(entry: _Entry) -> DevServerStatus:
    current = entry.server.status()
    url = entry.server.url(entry.database) if current.running else None
    return DevServerStatus(entry.name, entry.database, url, current, entry.kind)


def project_servers(config: Config) -> ProjectServers:
    """Every embedded server of the project (environments, scratch, leftovers) with its state; starts nothing."""
    return ProjectServers([_status(e) for e in _entries(config)])


def stop_all(config: Config) -> ProjectServers:
    """Stop every embedded server of the project (see :func:`project_servers`); data stay. Idempotent."""
    for entry in _entries(config):
        entry.server.stop()
    return project_servers(config)


def destroy_all(config: Config) -> None:
    """Stop every embedded server of the project and delete its data (the demo's cleanup)."""
    for entry in _entries(config):
        entry.server.destroy()


def server_for(config: Config, env: str | None) -> tuple[str, EmbeddedServer, str]:
    """The embedded server behind ``env``: an ``embedded`` environment, or ``scratch`` for the scratch server."""
    if env == SCRATCH and SCRATCH not in config.settings.environments:
        return SCRATCH, scratch_server(config), "postgres"
    name, environment = config.environment(env)
    if not environment.is_embedded:
        raise BadInput(
            f'{config.source}: environments.{name}.url is not "embedded"; `pgwarden dev` only manages embedded servers'
        )
    return name, EmbeddedServer(config.state_path / name), environment.database


def up(config: Config, env: str | None = None) -> DevServerStatus:
    """Start (initialising on first use) the env's server and create its database; idempotent.

    A database created here gets ``pg_stat_statements`` (see :func:`pgwarden.server.ensure_database`).
    """
    name, server, database = server_for(config, env)
    status = server.start()
    ensure_database(server.url("postgres"), database)
    return DevServerStatus(name, database, server.url(database), status, _kind(config, name))


def down(config: Config, env: str | None = None) -> DevServerStatus:
    """Stop the env's server if it runs; data stay in ``.pgwarden/<env>/``."""
    name, server, database = server_for(config, env)
    return DevServerStatus(name, database, None, server.stop(), _kind(config, name))


def status(config: Config, env: str | None = None) -> DevServerStatus:
    """Whether the env's server runs; starts nothing."""
    name, server, database = server_for(config, env)
    current = server.status()
    return DevServerStatus(
        name, database, server.url(database) if current.running else None, current, _kind(config, name)
    )


def _kind(config: Config, name: str) -> Kind:
    return "scratch" if name == SCRATCH and SCRATCH not in config.settings.environments else "environment"
