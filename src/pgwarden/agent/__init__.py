"""Schedules: ``pgwarden agent`` runs backups, verifies, prunes, partition upkeep, doctor snapshots and drift
checks from ``[[schedule]]`` entries of the config.

Modules: :mod:`settings` (validates ``[agent]`` and ``[[schedule]]``), :mod:`cron` (due slots, pure),
:mod:`store` (run history and snapshots in ``.pgwarden/agent.sqlite3``), :mod:`tasks` (one function per
task, calling the domain packages' public functions), :mod:`notify` (webhooks), :mod:`runner` (the loop)
and :mod:`api` (what the CLI calls). Import the submodule you need; this package imports nothing heavy.
"""
