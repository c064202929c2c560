"""The dashboard in a real browser (Debian's chromium driven by Playwright): every page opens, shows the
database's numbers, draws its charts, refuses a missing token; screenshots go to a test artifacts folder (docs/
with PGWARDEN_SCREENSHOTS=docs: the README's)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed (pip install 'pgwarden[serve]')")
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (test extra)")

from pgwarden.agent.runner import Agent  # noqa: E402
from pgwarden.agent.settings import load as load_agent  # noqa: E402
from pgwarden.agent.store import Store  # noqa: E402
from pgwarden.backup import api as backup_api  # noqa: E402
from pgwarden.serve.api import app_for  # noqa: E402
from serve_helpers import CUSTOMERS, EVENTS_NOW, build_shop, running_server  # noqa: E402

CHROMIUM = Path(os.environ.get("PGWARDEN_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# Screenshots go to a test artifacts folder; PGWARDEN_SCREENSHOTS=docs refreshes the README's (docs/*.png).
SHOTS = os.environ.get("PGWARDEN_SCREENSHOTS", "")
DOCS = Path(__file__).resolve().parent.parent / "docs"
TOKEN = "browser-test-token-0123456789abcdef"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no chromium at {CHROMIUM} (apt-get install chromium)")


class StepClock:
    def __init__(self, now: datetime):
        self.moment = now

    def now(self) -> datetime:
        return self.moment

    def sleep(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def _prepare(project: Any, pg_server: Any) -> Any:
    """The shop project plus what the agent would have left: a verified backup, snapshots, a drift check;
    and two more environments: ``staging`` (every migration applied) and ``offline`` (unreachable)."""
    from pgwarden.migrations.api import up

    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        staging_db = _staging_name(project)
        conn.execute(f'CREATE DATABASE "{staging_db}"')
    staging = pg_server.url(staging_db)
    schedules = (
        '\n[[schedule]]\ntask = "doctor-snapshot"\nenv = "test"\ncron = "0 * * * *"\n'
        '\n[[schedule]]\ntask = "check"\nenv = "test"\ncron = "30 3 * * *"\n'
        f'\n[environments.staging]\nurl = "{staging}"\n'
        '\n[environments.offline]\nurl = "postgresql://app@/app?host=/nonexistent&connect_timeout=1"\n'
    )
    config = build_shop(project, extra_config=schedules)
    up(config, "staging")
    made = backup_api.create(config, "test")
    backup_api.verify(config, made.id, "test")
    agent = Agent(config, load_agent(config), clock=StepClock(datetime.now(UTC) - timedelta(hours=3, minutes=1)))
    for _ in range(3):  # three hourly snapshots for the trend charts
        agent.clock.sleep(3600)  # type: ignore[attr-defined]
        agent.run_once()
    return config


def test_every_page_in_chromium_with_screenshots(
    project,
    browser,
    pg_server,  # type: ignore[no-untyped-def]
    tmp_path_factory,
) -> None:
    try:
        _pages(project, browser, tmp_path_factory, _prepare(project, pg_server))
    finally:
        with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{_staging_name(project)}" WITH (FORCE)')


def _staging_name(project: Any) -> str:
    return f"{project.url.split('/')[3].split('?')[0]}_staging"


def _pages(project: Any, browser: Any, tmp_path_factory: Any, config: Any) -> None:
    shots = DOCS if SHOTS == "docs" else Path(SHOTS) if SHOTS else tmp_path_factory.mktemp("screenshots")
    with psycopg.connect(project.url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        customers = conn.execute("SELECT count(*) FROM customers").fetchone()[0]  # type: ignore[index]
    assert customers == CUSTOMERS
    shots.mkdir(parents=True, exist_ok=True)
    with running_server(app_for(config, token=TOKEN)) as base:
        page = browser.new_page(viewport={"width": 1360, "height": 820})
        refused = page.goto(base + "/")
        assert refused is not None and refused.status == 401 and "token is required" in page.inner_text("body")
        page.goto(f"{base}/?token={TOKEN}")  # sets the cookie, then the address loses the token
        assert page.url == base + "/"
        row = page.locator('tr[data-env="test"]')
        assert row.locator('[data-col="server"]').inner_text() == version
        assert row.locator('[data-col="version"]').inner_text() == "002"
        assert row.locator('[data-col="pending"]').inner_text().startswith("1")
        checked = Store.of_project(config.state_path).runs(task="check", limit=1)[0]
        drift = row.locator('[data-col="drift"]').inner_text()
        assert checked.details["drifted"] is False and drift.startswith("no"), drift  # maintain made: not drift
        assert "ok" in row.locator('[data-col="doctor"]').inner_text()
        assert "public.events: 2" in row.locator('[data-col="partitions"]').inner_text()
        staging = page.locator('tr[data-env="staging"]')
        assert staging.locator('[data-col="version"]').inner_text() == "003"
        assert staging.locator('[data-col="pending"]').inner_text() == "0"
        assert page.locator('tr[data-env="offline"] [data-col="reachable"]').inner_text() == "no"
        page.screenshot(path=str(shots / "serve-overview.png"), full_page=True)

        page.goto(f"{base}/env/test/migrations")
        assert page.inner_text("#pending-count") == "1"
        assert page.locator('tr[data-state="applied"]').count() == 2
        page.screenshot(path=str(shots / "serve-migrations.png"), full_page=True)

        page.goto(f"{base}/env/test/partitions")
        current = page.locator('tr[data-partition^="events_p"] [data-rows]').all_inner_texts()
        assert sorted(int(t.split()[0]) for t in current)[-1] == EVENTS_NOW
        assert page.locator("svg.timeline rect").count() >= 6
        page.screenshot(path=str(shots / "serve-partitions.png"), full_page=True)

        page.goto(f"{base}/env/test/backups")
        assert page.locator("tr[data-backup]").count() == 1
        assert "ok" in page.locator("tr[data-backup]").inner_text()
        assert page.locator(".calendar .day.has").count() == 1
        page.screenshot(path=str(shots / "serve-backups.png"), full_page=True)

        page.goto(f"{base}/env/test/health")
        page.wait_for_selector('.chart[data-drawn="1"]', timeout=10_000)
        assert page.locator(".chart canvas").count() == 5  # uPlot, served from the package itself
        assert page.locator("tr[data-check]").count() > 5
        page.screenshot(path=str(shots / "serve-health.png"), full_page=True)

        for slug in ("deploys", "tune", "locks"):
            response = page.goto(f"{base}/env/test/{slug}")
            assert response is not None and response.status == 200
        assert page.locator("#no-waits").count() == 1
        page.goto(f"{base}/env/test/deploys")
        assert page.locator('tr[data-task="doctor-snapshot"]').count() == 3
        with psycopg.connect(project.url) as conn:
            recorded = conn.execute("SELECT count(*) FROM pgwarden.events WHERE kind = 'agent.run'").fetchone()[0]  # type: ignore[index]
        assert page.locator('#events tr[data-kind="agent.run"]').count() == recorded == 4
        page.goto(f"{base}/env/test/tune")
        page.screenshot(path=str(shots / "serve-tune.png"), full_page=True)
    assert len(list(shots.glob("serve-*.png"))) == 6
