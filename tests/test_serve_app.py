"""The dashboard without a browser: read-only routes, token, database numbers on pages, pages that answer
while DDL holds ACCESS EXCLUSIVE, the lock tree, /metrics per environment."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed (pip install 'pgwarden[serve]')")

from starlette.routing import Mount, Route  # noqa: E402

from pgwarden.errors import BadInput, Refused  # noqa: E402
from pgwarden.serve.api import app_for  # noqa: E402
from pgwarden.serve.app import PAGES  # noqa: E402
from pgwarden.serve.readonly import readonly_url  # noqa: E402
from pgwarden.serve.settings import check_bind  # noqa: E402
from serve_helpers import (  # noqa: E402
    CUSTOMERS,
    EVENTS_NOW,
    build_shop,
    fetch,
    holding_access_exclusive,
    running_server,
)

TOKEN = "a-test-token-of-32-characters-xx"
PAGE_PATHS = ["/", "/metrics", *[f"/env/test/{slug}" for slug, _ in PAGES]]


def test_every_route_only_reads(project) -> None:  # type: ignore[no-untyped-def]
    app = app_for(project.config())
    for route in app.routes:
        if isinstance(route, Route):
            assert route.methods is not None and route.methods <= {"GET", "HEAD"}, route.path
        else:
            assert isinstance(route, Mount) and route.path == "/static"
    with running_server(app) as base:
        for path in ["/", "/metrics", "/env/test/backups", "/static/app.css"]:
            assert fetch(base, path, method="HEAD").status == 200, path
            for method in ("POST", "PUT", "DELETE", "PATCH"):
                assert fetch(base, path, method=method).status == 405, (method, path)


def test_readonly_url_makes_the_server_refuse_writes(project) -> None:  # type: ignore[no-untyped-def]
    url = readonly_url(project.url, lock_timeout=0.2, statement_timeout=2)
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        assert conn.execute("SHOW lock_timeout").fetchone() == ("200ms",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE nope (id int)")


def test_token_is_required_and_compared(project) -> None:  # type: ignore[no-untyped-def]
    with running_server(app_for(project.config(), token=TOKEN)) as base:
        assert fetch(base, "/").status == 401
        assert fetch(base, "/static/app.css").status == 401
        assert fetch(base, "/", headers={"Authorization": "Bearer " + TOKEN[:-1] + "y"}).status == 401
        ok = fetch(base, "/", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status == 200 and "default-src 'self'" in ok.headers["content-security-policy"]
        redirect = fetch(base, f"/env/test/backups?token={TOKEN}")
        assert redirect.status == 303 and redirect.headers["location"] == "/env/test/backups"
        cookie = redirect.headers["set-cookie"].split(";")[0]
        assert "httponly" in redirect.headers["set-cookie"].lower()
        assert fetch(base, "/env/test/backups", headers={"Cookie": cookie}).status == 200
        assert fetch(base, "/env/test/backups", headers={"Cookie": "pgwarden_token=wrong"}).status == 401
    with pytest.raises(Refused):
        check_bind("0.0.0.0", None)
    with pytest.raises(BadInput):
        check_bind("0.0.0.0", "short")
    with running_server(app_for(project.config())) as base:  # no token: loopback Host names only
        assert fetch(base, "/", headers={"Host": "evil.example"}).status == 400
        assert fetch(base, "/", headers={"Host": "localhost"}).status == 200
    check_bind("0.0.0.0", TOKEN)
    check_bind("127.0.0.1", None)
    check_bind("::1", None)


def test_serve_refuses_a_public_host_without_token(project) -> None:  # type: ignore[no-untyped-def]
    result = project.cli("serve", "--host", "0.0.0.0", "--port", "1", env={"PGWARDEN_DASHBOARD_TOKEN": ""}, timeout=60)
    assert result.returncode == 5, result.stderr
    assert "PGWARDEN_DASHBOARD_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_pages_show_the_numbers_of_the_database(project) -> None:  # type: ignore[no-untyped-def]
    config = build_shop(project)
    with psycopg.connect(project.url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        rows = dict(
            conn.execute(
                "SELECT c.relname, (SELECT count(*) FROM events e WHERE e.tableoid = c.oid) "
                "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'events'::regclass"
            ).fetchall()
        )
    with running_server(app_for(config)) as base:
        _check_pages(base, version, rows)


def _check_pages(base: str, version: str, rows: dict[str, int]) -> None:
    overview = fetch(base, "/").text
    assert 'data-env="test"' in overview and f'<td data-col="server">{version}</td>' in overview
    assert '<td data-col="version">002</td>' in overview and '<td data-col="pending">1</td>' in overview
    migrations = fetch(base, "/env/test/migrations").text
    assert '<b id="pending-count">1</b>' in migrations and 'data-version="003" data-state="pending"' in migrations
    partitions = fetch(base, "/env/test/partitions").text
    assert sum(rows.values()) == EVENTS_NOW
    for name, count in rows.items():
        assert f'data-partition="{name}"' in partitions
        assert f'data-rows="{count}"' in partitions
    health = fetch(base, "/env/test/health").text
    assert 'id="doctor-counts"' in health and f"PostgreSQL {version}" in health
    assert 'data-setting="shared_buffers"' in fetch(base, "/env/test/tune").text
    assert fetch(base, "/env/nope/migrations").status == 404
    assert CUSTOMERS  # the fixture's rows exist (counted by doctor's largest tables)


def test_every_page_answers_while_ddl_holds_access_exclusive(project) -> None:  # type: ignore[no-untyped-def]
    config = build_shop(
        project, extra_config='[serve]\nlock_timeout = "200ms"\nsection_timeout = "1.5s"\noverview_max_age = "0s"\n'
    )
    with running_server(app_for(config)) as base:
        fetch(base, "/")  # warm up: templates compiled, read-only config resolved
        with holding_access_exclusive(project.url, "orders", "events", "customers"):
            for path in PAGE_PATHS:
                started = time.monotonic()
                response = fetch(base, path, timeout=10)
                spent = time.monotonic() - started
                assert response.status == 200, path
                assert spent < 3.0, (path, spent)  # the functional bound the issue asks for, generous on purpose
            partitions = fetch(base, "/env/test/partitions").text
        assert 'data-unavailable="public.events"' in partitions  # says so instead of hanging


def test_locks_page_shows_blockers_and_the_blocked_as_a_tree(project) -> None:  # type: ignore[no-untyped-def]
    config = build_shop(project)
    with running_server(app_for(config)) as base, holding_access_exclusive(project.url, "orders") as blocker:
        blocker_pid = blocker.info.backend_pid
        waiter = psycopg.connect(project.url, autocommit=True)
        waiter_pid = waiter.info.backend_pid
        thread = threading.Thread(target=lambda: waiter.execute("SELECT count(*) FROM orders"), daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        with psycopg.connect(project.url, autocommit=True) as probe:
            while not probe.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", [waiter_pid]).fetchone()[0]:  # type: ignore[index]
                assert time.monotonic() < deadline
                time.sleep(0.05)
        page = fetch(base, "/env/test/locks").text
    thread.join(10)
    waiter.close()
    root = page.index(f'<li data-pid="{blocker_pid}">')
    child = page.index(f'<li data-pid="{waiter_pid}">')
    assert root < child and "<ul>" in page[root:child]  # the waiting statement is nested under its blocker
    assert "SELECT count(*) FROM orders" in page[child:]


def test_metrics_has_one_help_per_metric_and_env_labels(project, pg_server) -> None:  # type: ignore[no-untyped-def]
    extra = f'[environments.second]\nurl = "{project.url}"\n[environments.gone]\nurl = "postgresql://x@/nope?host=/nonexistent"\n'
    project.write_config(extra)
    with running_server(app_for(project.config())) as base:
        text = fetch(base, "/metrics").text
    assert text.count("# HELP pgwarden_up ") == 1
    assert 'env="test"} 1' in text and 'env="second"} 1' in text
    assert 'pgwarden_up{env="gone"} 0' in text
    assert "pg_connections{" in text


def test_serve_command_serves_until_sigterm(project) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal
    import subprocess
    import sys

    from serve_helpers import free_port

    port = free_port()
    env = {**os.environ, "PGWARDEN_CONFIG": str(project.config_path), "NO_COLOR": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "pgwarden.cli.main", "serve", "--port", str(port)],
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                reply = fetch(f"http://127.0.0.1:{port}", "/", timeout=10)
                break
            except OSError:
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert reply.status == 200 and 'data-env="test"' in reply.text
        server.send_signal(signal.SIGTERM)
        _out, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert f"http://127.0.0.1:{port}/" in err and "Traceback" not in err


def test_text_from_the_database_is_escaped(project) -> None:  # type: ignore[no-untyped-def]
    from pgwarden.events import record

    with psycopg.connect(project.url, autocommit=True) as conn:
        record(conn, "deploy", "<script>alert(1)</script>", "ok", {"summary": "<img src=x onerror=alert(2)>"})
    with running_server(app_for(project.config())) as base:
        page = fetch(base, "/env/test/deploys").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
