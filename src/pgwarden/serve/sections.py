"""Page parts computed concurrently with a deadline: a part that cannot answer in time says so.

Guarantee: :meth:`Sections.gather` returns within ``timeout`` seconds (plus scheduling noise) whatever
the database does; a part still running is reported as not answering, and its query ends at the
server's ``statement_timeout`` (see :mod:`pgwarden.serve.readonly`). The overview may reuse figures up
to ``[serve] overview_max_age`` old (shown on the page); the per-environment pages are always fresh.
"""

from __future__ import annotations

import threading
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
    at: float = 0.0  # when it was computed (epoch seconds)

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
    """A thread pool shared by the requests of one app, with an optional stale-while-refresh cache."""

    def __init__(self, workers: int = 32):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pgwarden-serve")
        self._cache: dict[str, tuple[float, Section]] = {}
        self._refreshing: set[str] = set()
        self._lock = threading.Lock()

    def gather(self, jobs: dict[str, Callable[[], Any]], timeout: float, *, max_age: float = 0.0) -> dict[str, Section]:
        """Run every job; each result or error within ``timeout`` seconds, else 'did not answer'.

        With ``max_age`` > 0 a result younger than that is reused; an older one is shown while a
        refresh runs in the background (so a figure is at most ``max_age`` plus one refresh old), and a
        job never computed is waited for as usual.
        """
        started = time.monotonic()
        out: dict[str, Section] = {}
        futures: dict[str, Future[Any]] = {}
        for name, job in jobs.items():
            cached = self._cache.get(name) if max_age > 0 else None
            if cached is None:
                futures[name] = self._pool.submit(self._remember, name, job, max_age > 0)
                continue
            out[name] = cached[1]
            if started - cached[0] >= max_age:
                with self._lock:
                    stale = name not in self._refreshing
                    self._refreshing.add(name)
                if stale:
                    self._pool.submit(self._remember, name, job, True)
        if futures:
            wait(list(futures.values()), timeout=max(0.0, timeout - (time.monotonic() - started)))
        for name, future in futures.items():
            spent = round(time.monotonic() - started, 3)
            if not future.done():
                out[name] = Section(
                    error=f"did not answer within {timeout:g}s (a lock or a slow query); "
                    "it shows again once the database answers",
                    seconds=spent,
                )
            else:
                out[name] = future.result()
        return {name: out[name] for name in jobs}

    def _remember(self, name: str, job: Callable[[], Any], keep: bool) -> Section:
        started = time.monotonic()
        try:
            section = Section(value=job(), seconds=round(time.monotonic() - started, 3))
        except Exception as exc:  # shown on the page, never raised into the request
            section = Section(error=describe(exc), seconds=round(time.monotonic() - started, 3))
        section.at = time.time()
        if keep:
            with self._lock:
                self._cache[name] = (time.monotonic(), section)
                self._refreshing.discard(name)
        return section

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
