"""Versioned SQL migrations: files, history, plan, execution.

Public API: :mod:`pgwarden.migrations.commands` (new, status, up, down,
history_of, repair, baseline, pending_files).
"""
