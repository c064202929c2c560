"""The Starlette application: routes (GET only), token check, security headers, templates.

Guarantees: every route answers GET/HEAD only (nothing here can change a database; a test walks the
route table); every template value is HTML-escaped; without a token (loopback only) a request must
name a loopback Host (a DNS-rebinding page cannot read the dashboard); with a token configured, every
request (static files included) needs it, compared in constant time (``hmac.compare_digest``), as
``Authorization: Bearer``, the ``pgwarden_token`` cookie, or once as ``?token=`` (which sets the
cookie and redirects, so the token leaves the address bar); pages send a Content-Security-Policy that
allows only this server's own scripts (no CDN, no inline JS).
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from pgwarden.serve import views
from pgwarden.serve.metrics import CONTENT_TYPE, exposition
from pgwarden.serve.readonly import ReadOnlyProject
from pgwarden.serve.sections import Sections

HERE = Path(__file__).parent
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
COOKIE = "pgwarden_token"
PAGES = (
    ("migrations", "Migrations"),
    ("deploys", "Deploys"),
    ("backups", "Backups"),
    ("partitions", "Partitions"),
    ("health", "Health"),
    ("tune", "Tune"),
    ("locks", "Locks"),
)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _size(value: float | int | None) -> str:
    if value is None:
        return "-"
    number = float(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(number) < 1024 or unit == "TB":
            return f"{number:.0f} {unit}" if unit == "B" else f"{number:.1f} {unit}"
        number /= 1024
    return str(value)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _since(moment: datetime | None) -> str:
    return _age(max(0.0, (datetime.now(UTC) - moment).total_seconds())) if moment else "-"


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


class _Guard(BaseHTTPMiddleware):
    """The token check and the security headers."""

    def __init__(self, app: Any, token: str | None):
        super().__init__(app)
        self.token = token.encode() if token else None

    def _valid(self, offered: str | None) -> bool:
        return bool(self.token and offered and hmac.compare_digest(offered.encode(), self.token))

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if self.token is not None:
            header = request.headers.get("authorization", "")
            bearer = header[7:] if header.lower().startswith("bearer ") else None
            query = request.query_params.get("token")
            if self._valid(query):
                rest = {k: v for k, v in request.query_params.items() if k != "token"}
                target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
                response: Response = RedirectResponse(target, status_code=303)
                response.set_cookie(
                    COOKIE, query or "", httponly=True, samesite="strict", secure=request.url.scheme == "https"
                )
                return self._headers(response)
            if not (self._valid(bearer) or self._valid(request.cookies.get(COOKIE))):
                return self._headers(
                    PlainTextResponse(
                        "pgwarden dashboard: a token is required (Authorization: Bearer, or open /?token=...)\n",
                        status_code=401,
                        headers={"WWW-Authenticate": "Bearer"},
                    )
                )
        return self._headers(await call_next(request))

    @staticmethod
    def _headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response


def create_app(project: ReadOnlyProject, *, token: str | None = None, sections: Sections | None = None) -> Starlette:
    """The dashboard for ``project``; ``token`` None means no check (loopback only, see settings.check_bind)."""
    views.preload()
    pool = sections or Sections()
    templates = Jinja2Templates(
        env=jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True)
    )  # every value escaped, whatever its source
    templates.env.filters.update(size=_size, age=_age, since=_since, when=_when)
    templates.env.globals.update(pages=PAGES, envs=project.envs, project=project.config.root.name)

    def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        return templates.TemplateResponse(request, name, context, status_code=status)

    def overview(request: Request) -> Response:
        return render(request, "overview.html", {"page": "overview", **views.overview(project, pool)})

    def env_page(
        page: str, build: Callable[[ReadOnlyProject, Sections, str], dict[str, Any]]
    ) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            env = request.path_params["env"]
            if env not in project.envs:
                return render(request, "missing.html", {"page": page, "env": None, "what": f"environment {env!r}"}, 404)
            try:
                data = build(project, pool, env)
            except Exception as exc:  # the environment itself could not be resolved (unreachable, config)
                from pgwarden.serve.sections import describe

                data = {"failed": describe(exc)}
            return render(request, f"{page}.html", {"page": page, "env": env, **data})

        return endpoint

    def metrics(request: Request) -> Response:
        return PlainTextResponse(exposition(project, pool), media_type=CONTENT_TYPE)

    builders: dict[str, Callable[[ReadOnlyProject, Sections, str], dict[str, Any]]] = {
        "migrations": views.migrations,
        "deploys": views.deploys,
        "backups": views.backups,
        "partitions": views.partitions,
        "health": views.health,
        "tune": views.tune,
        "locks": views.locks,
    }
    routes: list[Route | Mount] = [
        Route("/", overview, methods=["GET"], name="overview"),
        Route("/metrics", metrics, methods=["GET"], name="metrics"),
    ]
    routes += [
        Route(f"/env/{{env}}/{page}", env_page(page, builders[page]), methods=["GET"], name=page)
        for page, _title in PAGES
    ]
    routes.append(Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        pool.close()

    middleware = [Middleware(_Guard, token=token)]
    if token is None:  # loopback only: refuse other Host names (a DNS-rebinding page cannot read the dashboard)
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=list(LOOPBACK_HOSTS)))
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
