"""Versioned SQL migrations: history, plan, execution (the file format is :mod:`pgwarden.sources`).

Public API: :mod:`pgwarden.migrations.api` (new, status, up, down, history_of,
repair, baseline, pending_files), typed functions returning dataclasses.
"""
