"""Running pgwarden's own migration commands against a scratch database."""

from __future__ import annotations

import dataclasses

from pgwarden.config import Config, Environment

SCRATCH_ENV = "pgwarden-scratch"


def with_scratch_env(config: Config, url: str) -> Config:
    """``config`` plus an unprotected environment named :data:`SCRATCH_ENV` pointing at ``url``.

    Lets ``pgwarden.migrations.api`` apply and revert files on a scratch
    database with exactly the settings (lock timeouts, retries) of the project.
    """
    environments = {**config.settings.environments, SCRATCH_ENV: Environment(url=url)}
    settings = config.settings.model_copy(update={"environments": environments})
    return dataclasses.replace(config, settings=settings)
