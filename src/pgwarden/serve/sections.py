"""Page parts computed concurrently with a deadline: a part that cannot answer in time says so.

Guarantee: :meth:`Sections.gather` returns within ``timeout`` seconds (plus scheduling noise) whatever
the database does; a part still running is reported as not answering, and its query ends at the
server's ``statement_timeout`` (see :mod:`pgwarden.serve.readonly`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from pgwarden.db import redact
from pgwarden.errors import PgwardenError


@dataclass
class Section:
    """One page part: its value, or why it has none."""

    value: Any = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def describe(exc: BaseException) -> str:
    """One redacted line saying why a part could not answer (SQLSTATE classes, not message text)."""
    import psycopg.errors as pe

    if isinstance(exc, PgwardenError):
        text = exc.message
    elif isinstance(exc, pe.LockNotAvailable):
        text = "waited too long for a lock (a schema change or a long transaction holds it)"
    elif isinstance(exc, pe.QueryCanceled):
        text = "the query ran past the dashboard's statement_timeout"
    elif isinstance(exc, pe.ReadOnlySqlTransaction):
        text = "this part tried to write, which the dashboard refuses"
    else:
        lines = str(exc).strip().splitlines()
        text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return redact(text)


class Sections:
    """A thread pool shared by the requests of one app."""

    def __init__(self, workers: int = 32):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pgwarden-serve")

    def gather(self, jobs: dict[str, Callable[[], Any]], timeout: float) -> dict[str, Section]:
        """Run every job; each result or error within ``timeout`` seconds, else 'did not answer'."""
        started = time.monotonic()
        futures: dict[str, Future[Any]] = {name: self._pool.submit(job) for name, job in jobs.items()}
        wait(list(futures.values()), timeout=timeout)
        out: dict[str, Section] = {}
        for name, future in futures.items():
            spent = round(time.monotonic() - started, 3)
            if not future.done():
                out[name] = Section(error=f"did not answer within {timeout:g}s (a lock or a slow query); "
                                          "it shows again once the database answers", seconds=spent)
            elif (exc := future.exception()) is not None:
                out[name] = Section(error=describe(exc), seconds=spent)
            else:
                out[name] = Section(value=future.result(), seconds=spent)
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
