"""`pgwarden seed` and `pgwarden migrate reset`, and their refusal on protected environments."""

from __future__ import annotations

import json

import psycopg

from conftest import Project


def _users(project: Project) -> None:
    project.write_migration(
        "001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text UNIQUE);", "DROP TABLE users;"
    )


def _seeds(project: Project, files: dict[str, str]) -> None:
    folder = project.root / "seeds"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def test_seed_runs_files_in_order_each_atomically(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    _users(project)
    project.cli("migrate", "up", check_exit=0)
    _seeds(
        project,
        {
            "002_more.sql": "INSERT INTO users VALUES (2, 'b@example.com');",
            "001_first.sql": "INSERT INTO users VALUES (1, 'a@example.com');\n"
            "UPDATE users SET email = upper(email) WHERE id = 1;",
        },
    )
    doc = json.loads(project.cli("seed", "--json", check_exit=0).stdout)
    assert [f["path"].rsplit("/", 1)[1] for f in doc["files"]] == ["001_first.sql", "002_more.sql"]
    assert db.execute("SELECT id, email FROM users ORDER BY id").fetchall() == [
        (1, "A@EXAMPLE.COM"),
        (2, "b@example.com"),
    ]
    _seeds(
        project,
        {"003_broken.sql": "INSERT INTO users VALUES (3, 'c@example.com');\nINSERT INTO users VALUES (1, 'dup');"},
    )
    db.execute("DELETE FROM users")
    result = project.cli("seed", check_exit=1)
    assert "003_broken.sql:2" in result.stderr and "rolled back" in result.stderr
    # 001 and 002 committed, 003 rolled back as a whole (row 3 is absent)
    assert db.execute("SELECT id FROM users ORDER BY id").fetchall() == [(1,), (2,)]


def test_seed_and_reset_refused_on_protected(project: Project, db) -> None:  # type: ignore[no-untyped-def]
    _users(project)
    project.cli("migrate", "up", check_exit=0)
    project.write_config(env_extra="protected = true\nallow_insecure = true")
    db.execute("INSERT INTO users VALUES (1, 'keep@example.com')")
    _seeds(project, {"001.sql": "INSERT INTO users VALUES (2, 'x');"})
    assert "protected" in project.cli("seed", check_exit=5).stderr
    assert "protected" in project.cli("migrate", "reset", "--yes", check_exit=5).stderr
    assert db.execute("SELECT id FROM users").fetchall() == [(1,)]


def test_reset_drops_recreates_and_migrates(project: Project) -> None:
    _users(project)
    project.cli("migrate", "up", check_exit=0)
    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute("INSERT INTO users VALUES (1, 'a@example.com')")
        conn.execute("CREATE TABLE stray (id int)")
    assert "--yes" in project.cli("migrate", "reset", check_exit=5).stderr  # no terminal, no --yes
    doc = json.loads(project.cli("migrate", "reset", "--yes", "--json", check_exit=0).stdout)
    assert [s["version"] for s in doc["migrate"]["steps"]] == ["001"]
    with psycopg.connect(project.url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
        assert conn.execute("SELECT to_regclass('public.stray')").fetchone() == (None,)
        assert conn.execute("SELECT version FROM pgwarden.migrations").fetchall() == [("001",)]


def test_reset_of_an_embedded_env(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pgwarden.config import load_config
    from pgwarden.deploy.reset import reset
    from pgwarden.migrations import api as commands
    from pgwarden.server import EmbeddedServer

    root = tmp_path / "emb"
    (root / "migrations").mkdir(parents=True)
    (root / "pgwarden.toml").write_text(
        'default_env = "dev"\n[environments.dev]\nurl = "embedded"\ndatabase = "appdb"\n', encoding="utf-8"
    )
    (root / "migrations" / "001_t.sql").write_text(
        "-- migrate:up\nCREATE TABLE t (id int);\n-- migrate:down\nDROP TABLE t;\n", encoding="utf-8"
    )
    config = load_config(root / "pgwarden.toml")
    server = EmbeddedServer(root / ".pgwarden" / "dev")
    try:
        commands.up(config, "dev")
        with psycopg.connect(server.url("appdb"), autocommit=True) as conn:
            conn.execute("INSERT INTO t VALUES (1)")
        result = reset(config, "dev", yes=True)
        assert (result.database, [s.version for s in result.migrate.steps]) == ("appdb", ["001"])
        with psycopg.connect(server.url("appdb"), autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
    finally:
        server.stop(mode="immediate")
