"""Migration safety linter: pglast-based rules graded by what the target database knows.

Public API in :mod:`pgwarden.lint.api` (``lint_paths``, ``lint_migrations``, ``lint_project``).
"""
