"""Drift (``check``) and round trips (``migrate test``): replay migrations, compare snapshots.

Public functions are in :mod:`pgwarden.check.api`.
"""
