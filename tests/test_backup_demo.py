"""The backup steps of ``pgwarden demo`` on the table-order schema: a dropped table comes back."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

import psycopg

from pgwarden.backup.demo import demo_steps
from pgwarden.demo import example_path
from pgwarden.migrations import api as commands


def test_demo_steps_bring_a_dropped_table_back(project) -> None:  # type: ignore[no-untyped-def]
    for migration in (example_path() / "migrations").glob("*.sql"):
        shutil.copy(migration, project.migrations / migration.name)
    config = project.config()
    commands.up(config, "test")
    outcomes: list[tuple[str, str]] = []

    def step(title: str, action: Callable[[], Any], describe: Callable[[Any], str]) -> Any:
        value = action()
        outcomes.append((title, describe(value)))
        return value

    demo_steps(config, "test", step)
    titles = [t for t, _ in outcomes]
    assert titles[1:] == [
        "backup create",
        "backup verify",
        "DROP TABLE menus CASCADE (by mistake)",
        "backup restore --tables menus",
        "menus is back",
    ]
    assert outcomes[2][1].startswith("ok")
    assert outcomes[-1][1] == "3 rows; order_items' foreign key to menus restored: True"
    with psycopg.connect(project.url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM menus").fetchone() == (3,)
        kinds = [r[0] for r in conn.execute("SELECT kind FROM pgwarden.events ORDER BY id").fetchall()]
    assert "restore" in kinds
