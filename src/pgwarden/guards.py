"""Safety guards shared by every command that can lose data or block traffic: confirmation, protected envs, TLS."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from pgwarden.errors import Refused

Confirm = Callable[[str], bool]
"""Asks a person to confirm; receives the text they must type, returns whether they typed it."""

STRONG_SSLMODES = ("require", "verify-ca", "verify-full")


def confirm_or_refuse(what: str, expected: str, *, yes: bool, confirm: Confirm | None) -> None:
    """Return when ``yes`` is given or the person typed ``expected``; otherwise raise Refused (exit 5).

    Without a terminal (``confirm`` is None) and without ``yes`` this refuses:
    pgwarden never assumes consent.
    """
    if yes:
        return
    if confirm is None:
        raise Refused(f"{what} needs confirmation and there is no terminal to ask; nothing was changed",
                      hint="pass --yes to confirm non-interactively (for example in CI)")
    if not confirm(expected):
        raise Refused(f"{what} was not confirmed (the text typed did not match {expected!r}); "
                      "nothing was changed")


def refuse_protected(env_name: str, protected: bool, what: str) -> None:
    """Raise Refused (exit 5) when ``protected``: ``what`` is never run on a protected environment."""
    if protected:
        raise Refused(f"{what} is refused on {env_name}: it is a protected environment; nothing was changed",
                      hint="run it against a development environment (--env dev)")


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
    why = ("the connection is not encrypted" if not status.in_use
           else f"sslmode={status.sslmode} lets the connection fall back to plain text")
    raise Refused(f"{env_name} is protected and {why}; nothing was changed",
                  hint=f"add sslmode=verify-full (or require) to its URL, or set allow_insecure = true in "
                       f"[environments.{env_name}] if the network is trusted")
