"""The Prometheus exposition of every environment: what ``pgwarden metrics`` prints, merged per metric.

One ``# HELP``/``# TYPE`` per metric name with the samples of every environment (``env`` label); an
environment that cannot be reached exports ``pgwarden_up{env=...} 0`` instead of failing the scrape.
Also served by ``agent --metrics-port`` through :func:`serve_in_thread` (stdlib HTTP, no extra thread pool).
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pgwarden.doctor.metrics import Metric
    from pgwarden.serve.readonly import ReadOnlyProject
    from pgwarden.serve.sections import Sections

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def merge(per_env: dict[str, list[Metric] | None]) -> list[Metric]:
    """One Metric per name with every environment's samples; None marks an environment that did not answer."""
    from pgwarden.doctor.metrics import Metric

    merged: dict[str, Metric] = {}
    for env, metrics in per_env.items():
        if metrics is None:
            metrics = [Metric("pgwarden_up", "1 when pgwarden could query the database.", samples=[({"env": env}, 0)])]
        for metric in metrics:
            into = merged.setdefault(metric.name, Metric(metric.name, metric.help, metric.kind))
            into.samples.extend(metric.samples)
    return list(merged.values())


def exposition(project: ReadOnlyProject, sections: Sections, envs: list[str] | None = None) -> str:
    """The text exposition for ``envs`` (all by default), collected concurrently within the section timeout."""
    from pgwarden.doctor.metrics import collect, render

    names = envs or project.envs

    def job(env: str) -> Callable[[], list[Metric]]:
        return lambda: collect(project.config_for(env), env)

    found = sections.gather(
        {f"metrics/{env}": job(env) for env in names},
        project.settings.seconds("section_timeout"),
        max_age=project.settings.seconds("overview_max_age"),
    )
    found = {env: found[f"metrics/{env}"] for env in names}
    why = "".join(f"# pgwarden: env {env} did not answer: {found[env].error}\n" for env in names if not found[env].ok)
    return why + render(merge({env: found[env].value if found[env].ok else None for env in names}))


def serve_in_thread(host: str, port: int, render: Callable[[], str], token: str | None) -> ThreadingHTTPServer:
    """Serve ``GET /metrics`` on host:port in a daemon thread (``agent --metrics-port``); returns the server
    (``shutdown()`` to stop). A token, when given, is required as ``Authorization: Bearer``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if token and not hmac.compare_digest(
                self.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()
            ):
                self._reply(401, "token required\n")
            elif self.path.split("?")[0] != "/metrics":
                self._reply(404, "only /metrics here\n")
            else:
                self._reply(200, render())

        def _reply(self, status: int, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="pgwarden-metrics").start()
    return server
