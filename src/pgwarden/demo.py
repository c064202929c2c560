"""``pgwarden demo``: the table-order example project, end to end on the embedded server.

The demo works on a copy of ``examples/tableorder`` so it never touches the
user's project; each step's outcome is recorded in the result.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgwarden.errors import BadInput


@dataclass
class DemoStep:
    title: str
    outcome: str
    seconds: float


@dataclass
class DemoResult:
    project: Path
    steps: list[DemoStep] = field(default_factory=list)
    kept: bool = False


def example_path(name: str = "tableorder") -> Path:
    """The folder of a bundled example project (installed wheel or source checkout)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_examples" / name, here.parents[1] / "examples" / name):
        if (candidate / "pgwarden.toml").is_file():
            return candidate
    raise BadInput(f"example project {name!r} not found (looked in {here / '_examples'})")


def run_demo(workdir: Path, *, keep: bool = False, on_step: Callable[[DemoStep], None] | None = None) -> DemoResult:
    """Copy the table-order example into ``workdir`` and drive it through pgwarden's commands.

    Unless ``keep``, at the end (also after a failure) every embedded server of the demo
    project (dev, prod, scratch) is stopped and the project folder, its clusters and backups
    are deleted; with ``keep`` everything stays and the servers keep running.
    """
    from pgwarden.config import load_config
    from pgwarden.devserver import destroy_all
    from pgwarden.migrations import api as migrate
    from pgwarden.server import EmbeddedServer

    project = workdir / "tableorder"
    if project.exists():
        raise BadInput(f"{project} already exists; pass another --dir or remove it")
    shutil.copytree(example_path(), project)
    config = load_config(project / "pgwarden.toml")
    result = DemoResult(project)

    def step(title: str, action: Callable[[], Any], describe: Callable[[Any], str]) -> Any:
        started = time.monotonic()
        value = action()
        done = DemoStep(title, describe(value), round(time.monotonic() - started, 3))
        result.steps.append(done)
        if on_step:
            on_step(done)
        return value

    def versions(r: migrate.MigrateResult) -> str:
        return (
            f"{len(r.steps)} migration(s): {', '.join(s.version for s in r.steps) or 'none'}; now at {r.version_after}"
        )

    try:
        step(
            "start the embedded PostgreSQL 18 server (dev)",
            lambda: EmbeddedServer(config.state_path / "dev").start(),
            lambda s: f"running, pid {s.pid}, data in {s.pgdata}",
        )
        step(
            "migrate up --dry-run",
            lambda: migrate.up(config, "dev", dry_run=True),
            lambda r: f"would apply {len(r.steps)} migration(s); nothing changed",
        )
        step("migrate up", lambda: migrate.up(config, "dev"), versions)
        step(
            "migrate status",
            lambda: migrate.status(config, "dev"),
            lambda r: ", ".join(f"{n} {s}" for s, n in sorted(r.counts.items())),
        )
        step("migrate down (one step)", lambda: migrate.down(config, "dev"), versions)
        step("migrate up again", lambda: migrate.up(config, "dev"), versions)
        step(
            "migrate history",
            lambda: migrate.history_of(config, "dev"),
            lambda h: "; ".join(f"{e.version} {e.status} in {e.duration_ms} ms" for e in h),
        )
        from pgwarden.deploy.demo import deploy_demo

        deploy_demo(config, step, keep=keep)
        from pgwarden.backup.demo import demo_steps

        demo_steps(config, "dev", step)
        _prisma_steps(workdir, step, keep=keep)
    finally:
        if not keep:
            destroy_all(config)
            shutil.rmtree(project, ignore_errors=True)
    result.kept = keep
    return result


def _prisma_steps(
    workdir: Path, step: Callable[[str, Callable[[], Any], Callable[[Any], str]], Any], *, keep: bool
) -> None:
    """A Prisma project as it is: status from its files, lint, a guarded deploy that keeps _prisma_migrations."""
    from pgwarden.config import load_config
    from pgwarden.db import Intent, connect, resolve_target
    from pgwarden.deploy.pipeline import deploy
    from pgwarden.devserver import destroy_all
    from pgwarden.lint.api import lint_migrations
    from pgwarden.migrations.api import migration_files, status

    project = workdir / "prisma_env_guide"
    shutil.copytree(example_path("prisma_env_guide"), project)
    config = load_config(project / "pgwarden.toml")
    try:
        step(
            "a Prisma project as it is: migrate status",
            lambda: status(config, "dev"),
            lambda r: (
                f"{len(r.migrations)} migration(s) read from prisma/migrations: "
                + ", ".join(f"{n} {s}" for s, n in sorted(r.counts.items()))
            ),
        )
        step(
            "lint its migration.sql files",
            lambda: lint_migrations(config, migration_files(config), "dev"),
            lambda r: ", ".join(f"{n} {k}" for k, n in r.summary().items()),
        )
        step(
            "deploy it (preflight, apply, post-checks)",
            lambda: deploy(config, "dev", yes=True),
            lambda r: f"{r.outcome}: applied {', '.join(r.applied) or 'nothing'}",
        )

        def prisma_rows() -> list[tuple[Any, ...]]:
            with connect(resolve_target(config, "dev", intent=Intent.READ).url) as conn:
                return conn.execute(
                    "SELECT migration_name, finished_at IS NOT NULL FROM _prisma_migrations ORDER BY migration_name"
                ).fetchall()

        step(
            "Prisma's own history table, written as Prisma writes it",
            prisma_rows,
            lambda rows: "; ".join(f"{name} finished={done}" for name, done in rows),
        )
    finally:
        if not keep:
            destroy_all(config)
            shutil.rmtree(project, ignore_errors=True)
