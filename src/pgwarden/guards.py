"""Safety guards shared by every command that can lose data or block traffic: confirmation, protected envs, TLS."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pgwarden.errors import Refused

if TYPE_CHECKING:
    import psycopg

Confirm = Callable[[str], bool]
"""Asks a person to confirm; receives the text they must type, returns whether they typed it."""

STRONG_SSLMODES = ("require", "verify-ca", "verify-full")


class Intent(StrEnum):
    """What a command will do with the database it asks for; the policy decides per intent."""

    READ = "read"
    RECORDS = "records"
    SCHEMA_CHANGE = "schema change"
    ADDITIVE_CHANGE = "additive change"
    DATA_RESTORE = "data restore"
    APPLY_MIGRATIONS = "apply migrations"
    DESTRUCTIVE = "destructive"

    def describe(self) -> str:
        """A few words for messages: what a command with this intent does."""
        return {
            Intent.READ: "reading",
            Intent.RECORDS: "changing pgwarden's records",
            Intent.SCHEMA_CHANGE: "a schema change",
            Intent.ADDITIVE_CHANGE: "adding empty objects",
            Intent.DATA_RESTORE: "restoring data",
            Intent.APPLY_MIGRATIONS: "applying migrations",
            Intent.DESTRUCTIVE: "dropping or overwriting data",
        }[self]


_typed: set[str] | None = None


def remember_confirmations() -> None:
    """Within this process, a text typed once is not asked again (the CLI: one command per process)."""
    global _typed
    if _typed is None:
        _typed = set()


def confirm_or_refuse(what: str, expected: str, *, yes: bool, confirm: Confirm | None) -> None:
    """Return when ``yes`` is given or the person typed ``expected``; otherwise raise Refused (exit 5).

    Without a terminal (``confirm`` is None) and without ``yes`` this refuses:
    pgwarden never assumes consent. Once :func:`remember_confirmations` was called, a
    person who already typed ``expected`` during this command is not asked again.
    """
    if yes or (_typed is not None and expected in _typed):
        return
    if confirm is None:
        raise Refused(
            f"{what} needs confirmation and there is no terminal to ask; nothing was changed",
            hint="pass --yes to confirm non-interactively (for example in CI)",
        )
    if not confirm(expected):
        raise Refused(f"{what} was not confirmed (the text typed did not match {expected!r}); nothing was changed")
    if _typed is not None:
        _typed.add(expected)


@dataclass(frozen=True)
class TlsStatus:
    """Whether the session is encrypted and which sslmode the client asked for."""

    in_use: bool
    version: str | None
    sslmode: str

    @property
    def strong(self) -> bool:
        return self.in_use and self.sslmode in STRONG_SSLMODES


def tls_status(conn: psycopg.Connection[Any]) -> TlsStatus:
    """The TLS state of ``conn``'s own session (``pg_stat_ssl``) and the sslmode of its conninfo."""
    row = conn.execute("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    params = conn.info.get_parameters()
    sslmode = params.get("sslmode") or os.environ.get("PGSSLMODE") or "prefer"
    return TlsStatus(bool(row and row[0]), row[1] if row else None, sslmode)


def require_tls(env_name: str, status: TlsStatus) -> None:
    """Refuse (exit 5) unless the session uses TLS with sslmode require or stronger."""
    if status.strong:
        return
    why = (
        "the connection is not encrypted"
        if not status.in_use
        else f"sslmode={status.sslmode} lets the connection fall back to plain text"
    )
    raise Refused(
        f"{env_name} is protected and {why}; nothing was changed",
        hint=f"add sslmode=verify-full (or require) to its URL, or set allow_insecure = true in "
        f"[environments.{env_name}] if the network is trusted",
    )
