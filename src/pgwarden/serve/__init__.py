"""``pgwarden serve``: a read-only dashboard and Prometheus ``/metrics`` (Starlette, Jinja2, uvicorn).

Modules: :mod:`settings` (``[serve]``, the bind/token rule), :mod:`readonly` (read-only, time-bounded
connections for every page), :mod:`sections` (a page part that cannot answer in time says so),
:mod:`views` (page data from the domain packages' public functions; no SQL), :mod:`adapters` (server
version from a connection, events through :mod:`pgwarden.events`), :mod:`metrics` (the exposition),
:mod:`app` (routes, auth) and :mod:`api` (what the CLI calls). The chart library (uPlot 1.6.32, MIT)
is vendored under ``static/``.
"""
