"""Partitioning as code: `partition convert` writes a migration whose directive `migrate up` carries out.

On a fresh database the directive is plain DDL; on a database with rows and concurrent writers it is the
online conversion (0 rows lost). The big run converts 100k rows by default (2 shared cores in CI);
``PGWARDEN_CONVERT_TEST_ROWS=1000000`` runs the 1M-row size of the issue.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta

from helpers import CHAT_MESSAGES as FIXTURE
from helpers import ChatWriter as Writer
from helpers import chat_fingerprint as fingerprint
from helpers import conversion_leftovers as leftovers
from helpers import is_partitioned

ENTRY = """
[[partitions]]
table = "public.chat_messages"
key = "created_at"
interval = "1 month"
premake = 3
"""


def _project_with_table(project) -> None:  # type: ignore[no-untyped-def]
    project.write_migration("001_chat_messages.sql", FIXTURE.read_text(encoding="utf-8"), "DROP TABLE chat_messages;")


def _history(db) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return db.execute("SELECT version, status FROM pgwarden.migrations ORDER BY version").fetchall()


def test_convert_writes_a_migration_that_migrate_up_applies_on_a_fresh_database(project, db) -> None:
    _project_with_table(project)
    written = project.cli(
        "partition",
        "convert",
        "chat_messages",
        "--key",
        "created_at",
        "--interval",
        "1 month",
        "--write-config",
        check_exit=0,
    )
    assert "wrote" in written.stdout and "migrate up" in written.stdout
    [migration] = [p for p in project.migrations.glob("*.sql") if "partition_chat_messages" in p.name]
    text = migration.read_text(encoding="utf-8")
    assert "-- migrate:up transaction:false" in text and "-- migrate:down irreversible" in text
    assert (
        "-- pgwarden:partition-convert table=public.chat_messages key=created_at interval='1 month' premake=3" in text
    )
    assert 'table = "public.chat_messages"' in project.config_path.read_text(encoding="utf-8")
    assert not is_partitioned(db) if db.execute("SELECT to_regclass('chat_messages')").fetchone()[0] else True
    project.cli("lint", str(migration), check_exit=0)
    project.cli("migrate", "up", check_exit=0)
    assert is_partitioned(db)
    assert [s for _v, s in _history(db)] == ["applied", "applied"]
    assert (
        db.execute("SELECT pg_get_serial_sequence('chat_messages', 'id')").fetchone()[0]
        == "public.chat_messages_id_seq"
    )
    db.execute("INSERT INTO chat_messages (session_id, role, content) VALUES (1, 'user', 'hi')")
    project.cli("migrate", "up", check_exit=0)  # nothing left to do
    later = (datetime.now(UTC) + timedelta(days=200)).strftime("%Y-%m-%d")
    maintained = project.cli("partition", "maintain", "--now", later, "--json", check_exit=0)
    assert '"created": [' in maintained.stdout and '"created": []' not in maintained.stdout
    assert assert_check_clean_but_managed(project)["managed_partitions"]  # reported apart, counted
    down = project.cli("migrate", "down")
    assert down.returncode != 0 and "irreversible" in (down.stdout + down.stderr)
    assert is_partitioned(db)


def test_migrate_up_converts_a_live_table_under_concurrent_writers(project, db) -> None:
    rows = int(os.environ.get("PGWARDEN_CONVERT_TEST_ROWS", "100000"))
    project.write_config(ENTRY)
    _project_with_table(project)
    project.cli("migrate", "up", check_exit=0)
    db.execute(
        """
        INSERT INTO chat_messages (session_id, role, content, created_at)
        SELECT g %% 997, 'user', md5(g::text), timestamptz '2026-06-01 00:00+00' + g * (interval '170 days' / %s)
        FROM generate_series(1, %s) g
    """,
        [rows, rows],
    )
    db.execute("ANALYZE chat_messages")
    project.cli(
        "partition",
        "convert",
        "chat_messages",
        "--key",
        "created_at",
        "--interval",
        "1 month",
        "--batch",
        "5000",
        check_exit=0,
    )  # the table exists with rows: checked, then written
    existing = db.execute("SELECT id, session_id, created_at FROM chat_messages").fetchall()
    models = [{r[0]: (r[1], r[2]) for r in existing if r[0] % 4 == n} for n in range(4)]
    writers = [Writer(project.url, n, models[n]) for n in range(4)]
    for w in writers:
        w.start()
    time.sleep(0.3)
    applied = project.cli("migrate", "up", timeout=600)
    time.sleep(0.3)
    for w in writers:
        w.stop.set()
    for w in writers:
        w.join()
    assert applied.returncode == 0, applied.stderr
    assert is_partitioned(db) and leftovers(db) == []
    assert [w.errors for w in writers] == [[], [], [], []]
    for n, model in enumerate(models):
        got = {
            r[0]: (r[1], r[2])
            for r in db.execute(
                "SELECT id, session_id, created_at FROM chat_messages WHERE id %% 4 = %s", [n]
            ).fetchall()
        }
        assert got == model, f"writer {n}: {len(set(got) ^ set(model))} ids differ"
    assert [s for _v, s in _history(db)] == ["applied", "applied"]
    kept = db.execute("SELECT count(*) FROM chat_messages_pgw_old").fetchone()[0]
    assert kept >= rows * 0.9
    assert fingerprint(db)[0] == sum(len(m) for m in models)
    assert_check_clean_but_managed(project)


def assert_check_clean_but_managed(project) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """`check` exits 0: the relations pgwarden manages for [[partitions]] tables are reported apart, not drift."""
    out = project.cli("check", "--json", check_exit=0)
    doc = json.loads(out.stdout)
    assert doc["differences"] == []
    return doc  # type: ignore[no-any-return]


def test_migrate_up_killed_during_the_conversion_resumes_it(project, db) -> None:
    from helpers import load_chat_messages

    load_chat_messages(db, 20_000)
    expected_rows = db.execute("SELECT count(*) FROM chat_messages").fetchone()[0]
    project.cli(
        "partition",
        "convert",
        "chat_messages",
        "--key",
        "created_at",
        "--interval",
        "1 month",
        "--batch",
        "3000",
        check_exit=0,
    )
    crashed = project.cli("migrate", "up", env={"PGWARDEN_FAILPOINT": "backfill:2"})
    assert crashed.returncode == -9, (crashed.returncode, crashed.stderr)
    db.execute(
        "INSERT INTO chat_messages (session_id, role, content, created_at) "
        "SELECT g, 'user', 'while down', '2026-11-21' FROM generate_series(1, 50) g"
    )
    expected = fingerprint(db)
    again = project.cli("migrate", "up", timeout=300)
    assert again.returncode == 0, (again.stdout, again.stderr)
    assert is_partitioned(db) and fingerprint(db) == expected and leftovers(db) == []
    assert fingerprint(db)[0] == expected_rows + 50
    assert [s for _v, s in _history(db)] == ["applied"]


def test_a_bad_directive_is_bad_input_naming_file_and_line(project, db) -> None:
    _project_with_table(project)
    path = project.write_migration(
        "002_partition.sql",
        "-- pgwarden:partition-convert table=chat_messages key=created_at interval='2 months'",
        up_options="transaction:false",
    )
    out = project.cli("migrate", "up", check_exit=2)
    assert f"{path}:2" in out.stderr and "interval" in out.stderr
    assert "partition-convert-arguments" in project.cli("lint", str(path), check_exit=1).stdout
