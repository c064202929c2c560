"""Backups that are known to restore: create, list, verify, restore, prune.

The public functions are in :mod:`pgwarden.backup.api`.
"""
