"""The backup part of ``pgwarden demo``: backup, verify, drop a table by mistake, restore it, show it back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pgwarden.backup import api
from pgwarden.config import Config
from pgwarden.db import Intent, connect, resolve_target
from pgwarden.units import human_size

Step = Callable[[str, Callable[[], Any], Callable[[Any], str]], Any]

_SEED = """
WITH s AS (INSERT INTO stores (store_name, admin_username, admin_password_hash)
           VALUES ('Demo Bistro', 'demo-admin', 'not-a-real-hash') RETURNING store_id),
     c AS (INSERT INTO categories (store_id, category_name) SELECT store_id, 'Mains' FROM s
           RETURNING store_id, category_id)
INSERT INTO menus (store_id, category_id, menu_name, price)
SELECT c.store_id, c.category_id, m.name, m.price FROM c,
       (VALUES ('Bibimbap', 9000), ('Kimchi stew', 8500), ('Bulgogi', 12000)) AS m (name, price)
"""


def _query(url: str, statement: str) -> Any:
    with connect(url) as conn:
        cur = conn.execute(statement)
        return cur.fetchone() if cur.description else None


def demo_steps(config: Config, env: str, step: Step) -> None:
    """Run the backup steps of the demo on ``env`` through ``step(title, action, describe)``.

    Needs the table-order schema (menus, referenced by order_items). Stops the
    scratch server that verification started (the demo's own project only).
    """
    from pgwarden.server import EmbeddedServer

    url = resolve_target(config, env, intent=Intent.READ).url
    step("add 3 menus to the demo store", lambda: _query(url, _SEED), lambda _: "1 store, 1 category, 3 menus")
    backup = step(
        "backup create",
        lambda: api.create(config, env),
        lambda r: (
            f"{r.id}: {human_size(r.manifest.size)}, {r.manifest.pg_dump['source']} pg_dump "
            f"{r.manifest.pg_dump['version']}, compression {r.compression}, "
            f"migration version {r.manifest.migration_version}, {len(r.manifest.tables)} tables"
        ),
    )
    try:
        step(
            "backup verify",
            lambda: api.verify(config, backup.id, env),
            lambda v: (
                ("ok" if v.ok else "FAILED: " + "; ".join(v.problems))
                + f": checksums and a restore into a scratch database, {len(v.tables)} row counts compared"
            ),
        )
    finally:
        if config.settings.scratch_url == "embedded":
            EmbeddedServer(config.state_path / "scratch").stop()
    step(
        "DROP TABLE menus CASCADE (by mistake)",
        lambda: _query(url, "DROP TABLE menus CASCADE"),
        lambda _: "menus is gone, and so is order_items' foreign key to it",
    )
    step(
        "backup restore --tables menus",
        lambda: api.restore(config, backup.id, env, tables=["menus"]),
        lambda r: f"restored with {r.pg_restore} in one transaction; migration version {r.migration_version}",
    )
    step(
        "menus is back",
        lambda: _query(
            url,
            """
            SELECT (SELECT count(*) FROM menus),
                   (SELECT count(*) FROM pg_constraint WHERE conrelid = 'order_items'::regclass
                      AND confrelid = 'menus'::regclass)""",
        ),
        lambda row: f"{row[0]} rows; order_items' foreign key to menus restored: {bool(row[1])}",
    )
