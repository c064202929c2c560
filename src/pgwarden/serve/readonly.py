"""Read-only, time-bounded database access for every page.

Each environment's URL gets libpq ``options`` that make the *server* enforce what the dashboard promises:
``default_transaction_read_only=on`` (every transaction, implicit ones included, refuses to write),
``lock_timeout`` and ``statement_timeout`` (a query behind an ACCESS EXCLUSIVE lock gives up quickly).
The domain functions are then called with a copy of the config whose environment carries that URL, so
the pages run exactly the code the CLI runs, without a way to write.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pgwarden.config import Config
    from pgwarden.serve.settings import ServeSettings

APPLICATION_NAME = "pgwarden:serve"


def _ms(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


def readonly_url(url: str, *, lock_timeout: float, statement_timeout: float) -> str:
    """``url`` as a conninfo string whose sessions are read-only with the given timeouts."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    existing = str(conninfo_to_dict(url).get("options") or "")
    options = (
        f"{existing} -c default_transaction_read_only=on -c lock_timeout={_ms(lock_timeout)} "
        f"-c statement_timeout={_ms(statement_timeout)}"
    ).strip()
    return make_conninfo(url, options=options, application_name=APPLICATION_NAME)


class ReadOnlyProject:
    """The project's config, with per-environment read-only copies made on first use (thread safe)."""

    def __init__(self, config: Config, settings: ServeSettings):
        self.config = config
        self.settings = settings
        self._copies: dict[str, Config] = {}
        self._lock = threading.Lock()

    @property
    def envs(self) -> list[str]:
        return list(self.config.settings.environments)

    def config_for(self, env: str) -> Config:
        """A config whose ``env`` points at a read-only URL (an embedded environment's server is started,
        as any command would); raises Unreachable / ConfigError like the CLI."""
        with self._lock:
            if env in self._copies:
                return self._copies[env]
        from pgwarden.db import Intent, resolve_target

        target = resolve_target(self.config, env, intent=Intent.READ)
        url = readonly_url(
            target.url,
            lock_timeout=self.settings.seconds("lock_timeout"),
            statement_timeout=self.settings.seconds("statement_timeout"),
        )
        envs = dict(self.config.settings.environments)
        envs[env] = target.env.model_copy(update={"url": url})
        copy = dataclasses.replace(self.config, settings=self.config.settings.model_copy(update={"environments": envs}))
        with self._lock:
            self._copies[env] = copy
        return copy

    def url_for(self, env: str) -> str:
        return self.config_for(env).settings.environments[env].url
