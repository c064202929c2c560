"""`pgwarden migrate test`: up, down, up on a scratch database with catalog comparison."""

from __future__ import annotations

import json

import pytest

from conftest import Project


def _base(project: Project) -> None:
    project.write_migration(
        "001_users.sql",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, nickname text);",
        "DROP TABLE users;",
    )


def test_clean_migrations_pass(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    _base(project)
    project.write_migration(
        "002_orders.sql",
        """
        CREATE TYPE order_state AS ENUM ('new', 'paid');
        CREATE TABLE orders (id bigint PRIMARY KEY, state order_state NOT NULL DEFAULT 'new');
        CREATE INDEX orders_state_idx ON orders (state);
    """,
        "DROP TABLE orders;\nDROP TYPE order_state;",
    )
    project.write_migration(
        "003_irreversible.sql", "ALTER TABLE users DROP COLUMN nickname;", "", down_options="irreversible"
    )
    doc = json.loads(project.cli("migrate", "test", "--json", check_exit=0).stdout)
    assert doc["ok"] is True
    assert [(m["version"], m["outcome"]) for m in doc["migrations"]] == [
        ("001", "ok"),
        ("002", "ok"),
        ("003", "irreversible (down not tested)"),
    ]
    # the environment's own database was never touched
    assert db.execute("SELECT to_regclass('public.users')").fetchone() == (None,)


def test_catches_down_that_forgets_an_index(project: Project) -> None:
    _base(project)
    project.write_migration(
        "002_email_index.sql",
        "ALTER TABLE users ADD COLUMN login text;\nCREATE INDEX users_email_idx ON users (email);",
        "ALTER TABLE users DROP COLUMN login;",
    )
    project.write_migration("003_never_reached.sql", "CREATE TABLE t (id int);", "DROP TABLE t;")
    from pgwarden.check.api import round_trip

    result = round_trip(project.config())
    assert [m.version for m in result.migrations] == ["001", "002"]
    failed = result.failed
    assert failed is not None and failed.outcome == "down does not restore"
    assert [(d.kind, d.name, d.change) for d in failed.differences] == [
        ("indexes", "public.users_email_idx", "unexpected")
    ]
    human = project.cli("migrate", "test", check_exit=1)
    assert "002_email_index: down does not restore" in human.stdout
    assert "index public.users_email_idx: unexpected" in human.stdout


def test_catches_down_that_drops_a_column_the_up_did_not_add(project: Project) -> None:
    _base(project)
    project.write_migration(
        "002_phone.sql",
        "ALTER TABLE users ADD COLUMN phone text;",
        "ALTER TABLE users DROP COLUMN phone;\nALTER TABLE users DROP COLUMN nickname;",
    )
    doc = json.loads(project.cli("migrate", "test", "--json", check_exit=1).stdout)
    failed = doc["migrations"][-1]
    assert (failed["version"], failed["outcome"]) == ("002", "down does not restore")
    assert [(d["kind"], d["name"], d["change"]) for d in failed["differences"]] == [
        ("columns", "public.users.nickname", "missing")
    ]


def test_reports_a_down_that_fails(project: Project) -> None:
    _base(project)
    project.write_migration(
        "002_phone.sql", "ALTER TABLE users ADD COLUMN phone text;", "ALTER TABLE users DROP COLUMN mobile;"
    )
    doc = json.loads(project.cli("migrate", "test", "--json", check_exit=1).stdout)
    failed = doc["migrations"][-1]
    assert (failed["version"], failed["outcome"]) == ("002", "down failed")
    assert "mobile" in failed["error"]


def _history(project: Project, count: int, broken: dict[int, str], irreversible: set[int]) -> None:
    """``count`` small migrations over ten tables (the schema stays small, so the test stays fast):
    001 creates the tables, each later one adds a column (every tenth an index instead).
    ``broken`` maps a number to the down section to write instead of the right one."""
    project.write_migration(
        "001_tables.sql",
        "\n".join(f"CREATE TABLE t{k} (id bigint PRIMARY KEY);" for k in range(10)),
        "\n".join(f"DROP TABLE t{k};" for k in range(10)),
    )
    for i in range(2, count + 1):
        table = f"t{i % 10}"
        if i % 10 == 0:  # an index on the column the migration before added
            index = f"t{(i - 1) % 10}_c{i - 1}_idx"
            up, down = f"CREATE INDEX {index} ON t{(i - 1) % 10} (c{i - 1});", f"DROP INDEX {index};"
        else:
            up, down = (
                f"ALTER TABLE {table} ADD COLUMN c{i} text NOT NULL DEFAULT '{i}';",
                f"ALTER TABLE {table} DROP COLUMN c{i};",
            )
        if i in irreversible:
            project.write_migration(f"{i:03d}_step_{i}.sql", up, "", down_options="irreversible")
        else:
            project.write_migration(f"{i:03d}_step_{i}.sql", up, broken.get(i, down))


@pytest.mark.timeout(900)
def test_all_reports_every_broken_down_in_one_run(project: Project) -> None:
    broken = {
        40: "SELECT 1;",  # forgets its index
        121: "ALTER TABLE t1 DROP COLUMN c121;\nALTER TABLE t1 DROP COLUMN c111;",  # drops an older column
        171: "ALTER TABLE t1 DROP COLUMN c999;",
    }  # fails
    _history(project, 200, broken, irreversible={13, 99})
    doc = json.loads(project.cli("migrate", "test", "--all", "--json", check_exit=1, timeout=900).stdout)
    failures = [
        (m["version"], m["outcome"])
        for m in doc["migrations"]
        if m["outcome"] not in ("ok", "irreversible (down not tested)")
    ]
    assert failures == [("040", "down does not restore"), ("121", "down does not restore"), ("171", "down failed")]
    assert doc["summary"] == {"ok": 195, "failed": 3, "irreversible": 2, "skipped": 0}
    by_version = {m["version"]: m for m in doc["migrations"]}
    assert [(d["kind"], d["name"], d["change"]) for d in by_version["040"]["differences"]] == [
        ("indexes", "public.t9_c39_idx", "unexpected")
    ]
    assert [(d["kind"], d["name"], d["change"]) for d in by_version["121"]["differences"]] == [
        ("columns", "public.t1.c111", "missing")
    ]
    assert "c999" in by_version["171"]["error"] and "42703" in by_version["171"]["error"]


def test_without_all_stops_at_the_first_failure(project: Project) -> None:
    _history(project, 6, {2: "SELECT 1;", 4: "SELECT 1;"}, irreversible=set())
    doc = json.loads(project.cli("migrate", "test", "--json", check_exit=1).stdout)
    assert [(m["version"], m["outcome"]) for m in doc["migrations"]] == [
        ("001", "ok"),
        ("002", "down does not restore"),
    ]
    assert doc["summary"] == {"ok": 1, "failed": 1, "irreversible": 0, "skipped": 4}
    human = project.cli("migrate", "test", "--keep-going", check_exit=1).stdout
    assert "002_step_2: down does not restore" in human and "004_step_4: down does not restore" in human
    assert "column public.t2.c2: unexpected" in human
    assert "4 ok, 2 failed, 0 irreversible, 0 skipped" in human


def test_transaction_false_migrations_are_tested_outside_a_transaction(project: Project) -> None:
    _base(project)
    project.write_migration(
        "002_index.sql",
        "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
        "DROP INDEX CONCURRENTLY users_email_idx;",
        up_options="transaction:false",
        down_options="transaction:false",
    )
    project.write_migration(
        "003_more.sql", "ALTER TABLE users ADD COLUMN phone text;", "ALTER TABLE users DROP COLUMN phone;"
    )
    doc = json.loads(project.cli("migrate", "test", "--json", check_exit=0).stdout)
    assert [(m["version"], m["outcome"]) for m in doc["migrations"]] == [("001", "ok"), ("002", "ok"), ("003", "ok")]
