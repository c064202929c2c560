"""Helpers shared by the benchmark scripts: a throw-away embedded server and timing."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from pgwarden.server import DEV_SETTINGS, EmbeddedServer


@contextmanager
def embedded_server(settings: dict[str, str] | None = None) -> Iterator[EmbeddedServer]:
    """A fresh embedded server in a temporary folder, stopped afterwards."""
    with tempfile.TemporaryDirectory(prefix="pgwarden-bench-") as folder:
        server = EmbeddedServer(Path(folder) / "data", settings=settings or DEV_SETTINGS)
        server.start()
        try:
            yield server
        finally:
            server.stop(mode="immediate")


def timed(command: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> float:
    """Run ``command`` and return its wall time in seconds; fails loudly if it fails."""
    started = time.perf_counter()
    result = subprocess.run(list(command), cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return elapsed


def bin_path(name: str) -> str:
    """The console script ``name`` next to this interpreter."""
    return str(Path(sys.executable).parent / name)
