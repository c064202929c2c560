"""Benchmark: `pgwarden partition convert` vs the floor (INSERT INTO ... SELECT) vs the hand-written recipe.

One run, same data, same concurrent writers (4 threads inserting, updating -
sometimes moving a row to another month - and deleting their own rows, with a
2 ms pause between statements):

1. floor: ``INSERT INTO <partitioned copy> SELECT * FROM chat_messages`` into an
   identical partitioned table (same partitions and indexes), writers running;
2. pgwarden: ``partition convert`` of the live table;
3. the migration path: the same conversion written as a migration
   (``-- pgwarden:partition-convert`` directive, what ``partition convert`` writes by
   default) and carried out by ``migrate up``, on its own copy of the data;
4. the hand-written backup, re-create and copy-back recipe on a fresh copy of the data, in one transaction (its best
   case: backup table, DROP, re-create partitioned, copy back, re-index).

Prints wall times, the ratio to the floor, the writers' longest statement while
each ran, and rows lost or wrong (writers' own model vs the table afterwards).

    python benchmarks/partition_convert.py --rows 5000000
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "seed004_chat_messages.sql"
NOW = datetime(2026, 11, 22, tzinfo=UTC)

RECIPE = """
CREATE TABLE chat_messages_backup AS SELECT * FROM chat_messages;
DROP TABLE chat_messages CASCADE;
CREATE TABLE chat_messages (
    id BIGSERIAL,
    session_id BIGINT NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at TIMESTAMPTZ DEFAULT now(),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
{partitions}
INSERT INTO chat_messages SELECT * FROM chat_messages_backup;
CREATE INDEX ON chat_messages (session_id, role, created_at);
"""


def load(url: str, rows: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(FIXTURE.read_text(encoding="utf-8"))
    insert_rows(url, rows)


def insert_rows(url: str, rows: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO chat_messages (session_id, role, content, created_at)
            SELECT g %% 997, CASE WHEN g %% 2 = 0 THEN 'user' ELSE 'assistant' END, md5(g::text),
                   timestamptz '2026-01-01 00:00+00' + g * (interval '320 days' / %s)
            FROM generate_series(1, %s) g""",
            [rows, rows],
        )
        conn.execute("VACUUM ANALYZE chat_messages")


class Writer(threading.Thread):
    def __init__(self, url: str, n: int, owned: dict[int, int], pause: float):
        super().__init__(daemon=True)
        self.url, self.n, self.model, self.pause = url, n, owned, pause
        self.stop = threading.Event()
        self.window = threading.Event()  # set while the measured operation runs
        self.longest = 0.0
        self.slow: list[tuple[float, float]] = []  # (started, seconds) of statements over 200 ms
        self.errors = 0
        self.last_error = ""
        self.rng = random.Random(n)
        self.ids: list[int] = list(owned)
        self.pos = {row_id: i for i, row_id in enumerate(self.ids)}

    # O(1) random pick / removal: a list of ids plus each id's position (list(model) per statement would
    # hold the GIL for milliseconds on millions of rows and starve the converter running in this process)
    def remember(self, row_id: int) -> None:
        self.pos[row_id] = len(self.ids)
        self.ids.append(row_id)

    def forget(self, row_id: int) -> None:
        index = self.pos.pop(row_id)
        last = self.ids.pop()
        if last != row_id:
            self.ids[index] = last
            self.pos[last] = index

    def pick(self) -> int:
        return self.ids[self.rng.randrange(len(self.ids))]

    def run(self) -> None:
        base = datetime(2026, 1, 1, tzinfo=UTC)
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                op = self.rng.random()
                v = self.rng.randrange(1_000_000)
                started = time.monotonic()
                try:
                    if op < 0.4 or not self.model:
                        at = base + timedelta(minutes=self.rng.randrange(0, 330 * 24 * 60))
                        row = conn.execute(
                            "INSERT INTO chat_messages (session_id, role, content, created_at) "
                            "VALUES (%s, 'user', 'w', %s) RETURNING id",
                            [v, at],
                        ).fetchone()
                        self.model[row[0]] = v  # type: ignore[index]
                        self.remember(row[0])  # type: ignore[index]
                    elif op < 0.8:
                        row_id = self.pick()
                        conn.execute("UPDATE chat_messages SET session_id = %s WHERE id = %s", [v, row_id])
                        self.model[row_id] = v
                    else:
                        row_id = self.pick()
                        conn.execute("DELETE FROM chat_messages WHERE id = %s", [row_id])
                        del self.model[row_id]
                        self.forget(row_id)
                except Exception as exc:  # noqa: BLE001 - counted and printed
                    self.errors += 1
                    self.last_error = str(exc).splitlines()[0][:100]
                if self.window.is_set():
                    spent = time.monotonic() - started
                    self.longest = max(self.longest, spent)
                    if spent > 0.2:
                        self.slow.append((started, spent))
                time.sleep(self.pause)


def start_writers(url: str, pause: float) -> list[Writer]:
    with psycopg.connect(url) as conn:
        existing = conn.execute("SELECT id, session_id FROM chat_messages").fetchall()
    models: list[dict[int, int]] = [{} for _ in range(4)]
    for row_id, session in existing:
        models[row_id % 4][row_id] = session
    writers = [Writer(url, n, models[n], pause) for n in range(4)]
    for w in writers:
        w.start()
    return writers


def measure(writers: list[Writer], action) -> float:  # type: ignore[no-untyped-def]
    for w in writers:
        w.longest = 0.0
        w.window.set()
    started = time.monotonic()
    action()
    seconds = time.monotonic() - started
    for w in writers:
        w.window.clear()
    return seconds


def stop_and_check(url: str, writers: list[Writer]) -> tuple[int, int]:
    """Stop the writers; returns (rows lost or wrong, extra rows) against their models."""
    for w in writers:
        w.stop.set()
    for w in writers:
        w.join()
    expected: dict[int, int] = {}
    for w in writers:
        expected.update(w.model)
    with psycopg.connect(url) as conn:
        got: dict[int, list[int]] = {}
        for row_id, session in conn.execute("SELECT id, session_id FROM chat_messages").fetchall():
            got.setdefault(row_id, []).append(session)
    wrong = sum(1 for k, v in expected.items() if got.get(k) != [v])
    extra = sum(len(v) for k, v in got.items() if k not in expected)
    extra += sum(len(v) - 1 for v in got.values() if len(v) > 1)
    return wrong, extra


def load_through_migration(root: Path, url: str, rows: int) -> None:
    """A project whose migration 001 creates the table (applied by `migrate up`), then the rows."""
    from pgwarden.migrations.api import up
    from pgwarden.settings import load as load_settings

    project = root / "migrate"
    (project / "migrations").mkdir(parents=True)
    (project / "migrations" / "001_chat_messages.sql").write_text(
        "-- migrate:up\n" + FIXTURE.read_text(encoding="utf-8") + "\n-- migrate:down\nDROP TABLE chat_messages;\n",
        encoding="utf-8",
    )
    up(load_settings(write_config(project, url)))
    insert_rows(url, rows)


def write_config(root: Path, url: str) -> Path:
    path = root / "pgwarden.toml"
    path.write_text(
        f'default_env = "bench"\n[environments.bench]\nurl = "{url}"\n'
        '[migrate]\nlock_timeout = "2s"\nretries = 20\nretry_backoff = "100ms"\n'
        'retry_backoff_max = "1s"\n',
        encoding="utf-8",
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--pause", type=float, default=0.002, help="seconds between a writer's statements")
    args = parser.parse_args()

    from pgwarden.config import load_config
    from pgwarden.partition import api, ddl
    from pgwarden.partition.create import partition_statements
    from pgwarden.partition.inspect import open_session, table_info
    from pgwarden.partition.naming import as_utc
    from pgwarden.server import FAST_SETTINGS, EmbeddedServer

    tmp = Path(tempfile.mkdtemp(prefix="pgw-bench-"))
    server = EmbeddedServer(tmp / "data", settings=FAST_SETTINGS)
    server.start()
    try:
        with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
            admin.execute("CREATE DATABASE bench_pgw")
            admin.execute("CREATE DATABASE bench_recipe")
            admin.execute("CREATE DATABASE bench_migrate")
        url, recipe_url, migrate_url = server.url("bench_pgw"), server.url("bench_recipe"), server.url("bench_migrate")
        t0 = time.monotonic()
        load(url, args.rows)
        load(recipe_url, args.rows)
        load_through_migration(tmp, migrate_url, args.rows)
        print(
            f"loaded {args.rows:,} rows three times in {time.monotonic() - t0:.1f}s "
            f"(embedded PostgreSQL, fsync off, {args.batch:,}-row batches)"
        )
        config = load_config(write_config(tmp, url))
        layout = api.layout(config, "chat_messages", api.LayoutOptions(key="created_at", interval="1 month", premake=3))

        # 1. the floor: one INSERT ... SELECT into an identical partitioned table
        conn = open_session(url)
        info = table_info(conn, api.parse_name("chat_messages"))
        twin = ddl.partitioned_twin(conn, info, "chat_floor", "range", ["created_at"], suffix="_floor")
        first, last = conn.execute("SELECT min(created_at), max(created_at) FROM chat_messages").fetchone()
        parts, _names, _d = partition_statements(
            layout, "timestamp with time zone", "chat_floor", NOW, as_utc(first), as_utc(last)
        )
        for statement in [*twin.create, *parts]:
            conn.execute(statement)
        writers = start_writers(url, args.pause)
        time.sleep(1)
        floor = measure(writers, lambda: conn.execute("INSERT INTO chat_floor SELECT * FROM chat_messages"))
        floor_stall = max(w.longest for w in writers)
        conn.execute("DROP TABLE chat_floor")
        conn.close()

        # 2. pgwarden partition convert, same writers still running
        result = {}
        phases: list[tuple[float, str]] = []

        def progress(phase: str, done: int, total: int) -> None:
            if not phases or phases[-1][1] != phase:
                phases.append((time.monotonic(), phase))

        for w in writers:
            w.slow.clear()
        pgw_started = time.monotonic()
        phases.append((pgw_started, "prepare"))
        pgw = measure(
            writers,
            lambda: result.update(
                r=api.convert(config, None, layout, api.Tuning(batch=args.batch), now=NOW, progress=progress)
            ),
        )
        pgw_stall = max(w.longest for w in writers)
        stalls: dict[str, float] = {}
        for w in writers:
            for began, spent in w.slow:
                phase = [name for at, name in phases if at <= began][-1] if began >= pgw_started else "prepare"
                stalls[phase] = max(stalls.get(phase, 0.0), spent)
        time.sleep(1)
        pgw_errors = sum(w.errors for w in writers)
        pgw_wrong, pgw_extra = stop_and_check(url, writers)

        # 3. the migration path: `partition convert` writes the migration, `migrate up` carries it out
        from pgwarden.migrations.api import up
        from pgwarden.settings import load as load_settings

        migrate_config = load_settings(tmp / "migrate" / "pgwarden.toml")
        api.write_migration(migrate_config, None, layout, verb="convert", batch=args.batch)
        writers = start_writers(migrate_url, args.pause)
        time.sleep(1)
        mig = measure(writers, lambda: up(migrate_config))
        mig_stall = max(w.longest for w in writers)
        time.sleep(1)
        mig_errors = sum(w.errors for w in writers)
        mig_wrong, mig_extra = stop_and_check(migrate_url, writers)

        # 4. the hand-written backup, re-create and copy-back recipe, in one transaction, with writers on the other copy
        writers = start_writers(recipe_url, args.pause)
        time.sleep(1)
        partitions_sql = "\n".join(
            s.as_string(None) + ";"
            for s in partition_statements(
                layout, "timestamp with time zone", "chat_messages", NOW, as_utc(first), as_utc(last)
            )[0]
        )
        recipe_sql = RECIPE.format(partitions=partitions_sql.replace("public.chat_messages_", "public.cm_"))

        def recipe() -> None:
            with psycopg.connect(recipe_url) as rc, rc.transaction():
                for statement in recipe_sql.split(";\n"):
                    if statement.strip():
                        rc.execute(sql.SQL(statement))  # type: ignore[arg-type]

        seed = measure(writers, recipe)
        seed_stall = max(w.longest for w in writers)
        time.sleep(1)
        seed_errors = sum(w.errors for w in writers)
        seed_err = next((w.last_error for w in writers if w.last_error), "")
        seed_wrong, seed_extra = stop_and_check(recipe_url, writers)

        r = result["r"]
        print(f"floor   INSERT INTO ... SELECT        {floor:8.1f}s  longest writer stall {floor_stall * 1000:7.0f} ms")
        print(
            f"pgwarden partition convert          {pgw:8.1f}s  longest writer stall {pgw_stall * 1000:7.0f} ms  "
            f"ratio to floor {pgw / floor:.2f}x  swap lock held {r.swap_seconds * 1000:.0f} ms  "
            f"changes replayed {r.rows_replayed:,}  writer errors {pgw_errors}  "
            f"rows lost/wrong {pgw_wrong}  extra {pgw_extra}"
        )
        print(f"         pgwarden phases (s): {r.phase_seconds}")
        print(
            "         longest writer statement (> 200 ms) by pgwarden phase: "
            + (", ".join(f"{k} {v * 1000:.0f} ms" for k, v in stalls.items()) or "none")
        )
        print(
            f"pgwarden via migrate up (directive) {mig:8.1f}s  longest writer stall {mig_stall * 1000:7.0f} ms  "
            f"ratio to floor {mig / floor:.2f}x  writer errors {mig_errors}  "
            f"rows lost/wrong {mig_wrong}  extra {mig_extra}"
        )
        print(
            f"hand-written recipe (one transaction) {seed:8.1f}s  longest writer stall {seed_stall * 1000:7.0f} ms  "
            f"ratio to floor {seed / floor:.2f}x  writer errors {seed_errors}"
            + (f" ({seed_err})" if seed_err else "")
            + f"  rows lost/wrong {seed_wrong}  extra {seed_extra}"
        )
    finally:
        server.stop(mode="immediate")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
