"""Loading the configuration with every section validated, the domains' raw sections included.

``pgwarden.config`` sits below the domain packages and keeps their sections raw
(``[[partitions]]``, ``[doctor] thresholds``); each domain validates its own.
This module sits above them and runs all those validations at load time, so a
bad value in any section is reported once, naming the file and the dotted key,
before a command does anything. The CLI loads through :func:`load`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pgwarden.config import Config, load_config
from pgwarden.errors import ConfigError


def _partitions(config: Config) -> None:
    from pgwarden.partition.spec import configured

    configured(config)


def _partition(config: Config) -> None:
    from pgwarden.partition.settings import load as load_partition

    load_partition(config)


def _doctor_thresholds(config: Config) -> None:
    from pgwarden.doctor.thresholds import check_overrides

    try:
        check_overrides(config.settings.doctor.thresholds)
    except ValueError as exc:
        raise ConfigError(f"{config.source}: doctor.thresholds: {exc}") from None


def _agent(config: Config) -> None:
    from pgwarden.agent.settings import load

    load(config)


def _serve(config: Config) -> None:
    from pgwarden.serve.settings import load

    load(config)


def _check(config: Config) -> None:
    from pgwarden.check.settings import check_settings

    check_settings(config)


def _backup(config: Config) -> None:
    from pgwarden.backup.settings import load as backup_settings

    backup_settings(config)


def _fleet(config: Config) -> None:
    from pgwarden.fleet.settings import load as fleet_settings

    fleet_settings(config)


SECTION_VALIDATORS: tuple[Callable[[Config], None], ...] = (
    _partitions,
    _partition,
    _doctor_thresholds,
    _agent,
    _serve,
    _check,
    _fleet,
    _backup,
)
"""One validator per raw section; each raises ConfigError naming the file and key."""


def validate_sections(config: Config) -> Config:
    """Run every domain's validator over ``config``; returns it unchanged when all pass."""
    for validator in SECTION_VALIDATORS:
        validator(config)
    return config


def load(path: Path | None = None) -> Config:
    """:func:`pgwarden.config.load_config` plus :func:`validate_sections` (ConfigError, exit 2)."""
    return validate_sections(load_config(path))
