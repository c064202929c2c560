"""The deploy part of ``pgwarden demo``: a guarded deploy to the example's protected "prod" environment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pgwarden.config import Config
from pgwarden.deploy.report import DeployReport, DeployStopped

DemoStepFn = Callable[[str, Callable[[], Any], Callable[[Any], str]], Any]
PROD = "prod"
UNSAFE_MIGRATION = """-- migrate:up
-- Unsafe: the application still running during the deploy reads menus.description.
ALTER TABLE menus RENAME COLUMN description TO details;

-- migrate:down
ALTER TABLE menus RENAME COLUMN details TO description;
"""


def describe(report: DeployReport) -> str:
    """One line: the outcome, what was applied, the backup, or the step that stopped the deploy."""
    if report.error is not None:
        stopped = next((s for s in report.steps if s.outcome in ("failed", "refused")), None)
        where = f" at {stopped.name}" if stopped else ""
        return f"{report.outcome}{where} (exit {report.exit_code}): {report.error['error']}"
    applied = ", ".join(report.applied) or "nothing"
    backup = f"; verified backup {report.backup_id} first" if report.backup_id else ""
    return f"{report.outcome}: applied {applied}, now at {report.version_after}{backup}"


def _deploy(config: Config) -> DeployReport:
    from pgwarden.deploy.pipeline import deploy

    try:
        return deploy(config, PROD, yes=True)
    except DeployStopped as stopped:
        return stopped.report


def deploy_demo(config: Config, step: DemoStepFn, *, keep: bool = False) -> None:
    """Deploy the example to its protected ``prod`` environment, then show an unsafe migration refused.

    The unsafe migration file is removed afterwards so the demo project stays
    consistent. The prod and scratch embedded servers are stopped unless ``keep``.
    """
    from pgwarden.check.api import check
    from pgwarden.server import EmbeddedServer

    unsafe = config.migrations_path / "005_rename_menu_description.sql"
    try:
        step(
            "deploy --env prod --yes (protected: preflight, verified backup, apply, post-checks)",
            lambda: _deploy(config),
            describe,
        )
        unsafe.write_text(UNSAFE_MIGRATION, encoding="utf-8")
        step(
            "deploy an unsafe migration (RENAME COLUMN) to prod: refused by the preflight lint",
            lambda: _deploy(config),
            describe,
        )
        unsafe.unlink()
        step(
            "check --env prod (schema drift against the migrations)",
            lambda: check(config, PROD),
            lambda r: f"{len(r.differences)} difference(s) over {r.objects_compared} objects",
        )
    finally:
        unsafe.unlink(missing_ok=True)
        if not keep:
            EmbeddedServer(config.state_path / PROD).stop()
            EmbeddedServer(config.state_path / "scratch").stop()
