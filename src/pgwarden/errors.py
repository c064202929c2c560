"""The one error hierarchy of pgwarden.

Every expected failure is a :class:`PgwardenError` subclass carrying the exit code
documented in ARCHITECTURE.md; the CLI catches the root once and prints one line.
"""

from __future__ import annotations

from typing import Any

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_BAD_INPUT = 2
EXIT_UNREACHABLE = 3
EXIT_LOCK_TIMEOUT = 4
EXIT_REFUSED = 5


class PgwardenError(Exception):
    """Root of every expected error; ``exit_code`` is what the CLI exits with."""

    exit_code = EXIT_PROBLEMS

    def __init__(self, message: str, *, hint: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the error (never contains a password)."""
        out: dict[str, Any] = {"error": self.message, "exit_code": self.exit_code, "kind": type(self).__name__}
        if self.hint:
            out["hint"] = self.hint
        if self.details:
            out["details"] = self.details
        return out


class ProblemsFound(PgwardenError):
    """A check ran and found problems (lint errors, drift, failed health checks, changed checksums)."""

    exit_code = EXIT_PROBLEMS


class BadInput(PgwardenError):
    """Usage, configuration or file errors: nothing was changed."""

    exit_code = EXIT_BAD_INPUT


class ConfigError(BadInput):
    """The configuration file is missing, malformed or invalid; names the file and key."""


class MigrationFileError(BadInput):
    """A migration file cannot be used: parse error, duplicate version, missing section."""


class Unreachable(PgwardenError):
    """The database or the embedded server cannot be reached or started."""

    exit_code = EXIT_UNREACHABLE


class LockTimeoutGaveUp(PgwardenError):
    """A lock could not be obtained within lock_timeout after every retry."""

    exit_code = EXIT_LOCK_TIMEOUT


class Refused(PgwardenError):
    """A safety guard refused the operation (protected environment, missing --yes, no down section)."""

    exit_code = EXIT_REFUSED


class MigrationFailed(PgwardenError):
    """A migration statement failed; the message says what was kept and what to run next."""

    exit_code = EXIT_PROBLEMS
