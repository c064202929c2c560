"""Backup kinds: a partial backup never stands in for a full one; partial backups restore on their own."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from pgwarden.backup import api
from pgwarden.backup.retention import Candidate, Policy
from pgwarden.backup.settings import Keep, ShortKeep
from pgwarden.doctor.registry import CheckContext
from pgwarden.errors import BadInput
from pgwarden.server import database_url

APP = """
CREATE TABLE app_settings (key text PRIMARY KEY, value text);
CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, updated_at timestamptz);
CREATE TABLE permissions (user_id int REFERENCES users (id), perm text NOT NULL, updated_at timestamptz);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TRIGGER permissions_touch BEFORE UPDATE ON permissions FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TYPE mood AS ENUM ('ok', 'sad');
CREATE SEQUENCE codes;
CREATE FUNCTION next_code() RETURNS text LANGUAGE sql AS $$ SELECT 'c' || nextval('codes') $$;
CREATE TABLE tickets (id serial PRIMARY KEY, user_id int REFERENCES users (id), code text DEFAULT next_code(),
                      mood mood NOT NULL DEFAULT 'ok');
INSERT INTO users (name) SELECT 'u' || g FROM generate_series(1, 40) g;
INSERT INTO permissions SELECT 1 + g % 40, 'p' || g FROM generate_series(1, 120) g;
INSERT INTO tickets (user_id) SELECT 1 + g % 40 FROM generate_series(1, 30) g;
"""


def fill(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(APP)


def manifest_of(project, backup_id: str) -> dict:  # type: ignore[no-untyped-def]
    return json.loads((project.root / "backups" / "test" / backup_id / "manifest.json").read_text())


def test_partial_backup_never_replaces_the_full_one(project) -> None:  # type: ignore[no-untyped-def]
    fill(project.url)
    project.write_config("[backup]\nkeep = { daily = 1, weekly = 0, monthly = 0 }\n")
    config = project.config()
    full = api.create(config, "test")
    assert api.verify(config, full.id, "test").ok
    partial = api.create(config, "test", tables=["app_settings"])
    assert partial.manifest.kind == "tables" and full.manifest.kind == "full"
    assert api.verify(config, partial.id, "test").ok
    assert manifest_of(project, partial.id)["kind"] == "tables"

    # prune keeps the full backup: the partial one fills no daily slot
    result = api.prune(config, "test", dry_run=True)
    kept = {d.id: d.reasons for d in result.kept}
    assert full.id in kept and "daily" in " ".join(kept[full.id])
    assert partial.id in kept and all(r.startswith("tables:") for r in kept[partial.id])
    assert result.deleted == []

    # doctor's backup age and the API agree: the full one counts
    newest = api.newest_verified_full(config, "test")
    assert newest is not None and newest.id == full.id
    from pgwarden.doctor.checks.project import backup_age
    from pgwarden.doctor.thresholds import resolve

    with psycopg.connect(project.url, autocommit=True) as conn:
        ctx = CheckContext(
            conn=conn, config=config, env_name="test", protected=False, thresholds=resolve({}, source="test")
        )
        outcome = backup_age(ctx)
    assert outcome.status == "ok" and full.id in outcome.summary and "full" in outcome.summary

    # `backup list` shows the kind
    listed = project.cli("backup", "list", "--json", check_exit=0)
    kinds = {b["id"]: b["kind"] for b in json.loads(listed.stdout)}
    assert kinds == {full.id: "full", partial.id: "tables"}
    shown = project.cli("backup", "list", check_exit=0).stdout
    assert "tables (app_settings)" in shown


def test_doctor_ignores_partial_backups(project) -> None:  # type: ignore[no-untyped-def]
    fill(project.url)
    config = project.config()
    partial = api.create(config, "test", tables=["users"])
    assert api.verify(config, partial.id, "test").ok
    assert api.newest_verified_full(config, "test") is None
    doctor = project.cli("doctor", "--check", "backup_age", "--json")
    assert "no backup (and 1 partial, archive or safety backup, which do not count)" in doctor.stdout, doctor.stdout


def test_partial_backup_carries_the_functions_types_and_sequences_it_needs(project, pg_server) -> None:  # type: ignore[no-untyped-def]
    fill(project.url)
    config = project.config()
    backup = api.create(config, "test", tables=["users", "permissions", "tickets"])
    assert backup.outside_references == []
    checked = api.verify(config, backup.id, "test")
    assert checked.ok, checked.problems
    assert {(t.name, t.actual) for t in checked.tables} == {("users", 40), ("permissions", 120), ("tickets", 30)}
    assert checked.migration_version is None

    # into a new database: the trigger function, enum, sequence and default function come along
    result = api.restore(config, backup.id, "test", target_db=f"{pg_server_db(project)}_copy")
    copy_url = database_url(project.url, result.target_db or "")
    with psycopg.connect(copy_url, autocommit=True) as conn:
        conn.execute("UPDATE users SET name = 'x' WHERE id = 1")
        assert conn.execute("SELECT updated_at IS NOT NULL FROM users WHERE id = 1").fetchone() == (True,)
        conn.execute("INSERT INTO tickets (user_id) VALUES (1)")
        assert conn.execute("SELECT code, mood::text FROM tickets ORDER BY id DESC LIMIT 1").fetchone() == ("c31", "ok")
        assert conn.execute("SELECT count(*) FROM app_settings").fetchone() == (0,)  # table there, rows not
    with psycopg.connect(database_url(project.url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{result.target_db}" WITH (FORCE)')

    # in place: only the partial backup's tables are replaced; others keep their rows
    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute("INSERT INTO app_settings VALUES ('theme', 'dark')")
        conn.execute("DELETE FROM permissions")
    api.restore(config, backup.id, "test")
    with psycopg.connect(project.url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM permissions").fetchone() == (120,)
        assert conn.execute("SELECT count(*) FROM app_settings").fetchone() == (1,)


def pg_server_db(project) -> str:  # type: ignore[no-untyped-def]
    with psycopg.connect(project.url) as conn:
        return str(conn.info.dbname)


def test_partial_backup_says_which_foreign_keys_point_outside(project) -> None:  # type: ignore[no-untyped-def]
    fill(project.url)
    config = project.config()
    done = project.cli("backup", "create", "--tables", "permissions", check_exit=0)
    assert "note: foreign key public.permissions.permissions_user_id_fkey -> public.users" in done.stderr
    backup_id = api.list_backups(config, "test")[0].id
    checked = api.verify(config, backup_id, "test")
    assert checked.ok, checked.problems
    assert checked.skipped and "permissions_user_id_fkey" in checked.skipped[0]
    assert manifest_of(project, backup_id)["outside_references"] == [
        "public.permissions.permissions_user_id_fkey -> public.users"
    ]


NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def test_each_kind_has_its_own_rule() -> None:
    def ago(days: float) -> datetime:
        return NOW - timedelta(days=days)

    backups = [
        Candidate("full-new", ago(0.1), "ok", "full"),
        Candidate("full-old", ago(40), "ok", "full"),
        Candidate("full-never", ago(30), "never", "full"),
        Candidate("archive-ancient", ago(900), "ok", "archive"),
        *(Candidate(f"safety-{i}", ago(20 + i), "ok", "safety") for i in range(5)),
        Candidate("safety-recent", ago(1), "never", "safety"),
        Candidate("tables-old", ago(100), "ok", "tables"),
    ]
    policy = Policy(Keep(daily=1, weekly=0, monthly=0), None, ShortKeep(last=2, days=7))
    kept = {d.id for d in api.plan(backups, policy, now=NOW) if d.keep}
    assert kept == {"full-new", "archive-ancient", "safety-recent", "safety-0", "tables-old"}
    # archive_keep as a duration prunes archives older than it, and only those
    short = Policy(Keep(daily=1, weekly=0, monthly=0), 365 * 86400.0, ShortKeep(last=2, days=7))
    assert "archive-ancient" not in {d.id for d in api.plan(backups, short, now=NOW) if d.keep}


def test_bad_backup_settings_name_the_key(project) -> None:  # type: ignore[no-untyped-def]
    project.write_config("[backup]\nkeep = { daily = -1 }\n")
    done = project.cli("backup", "list")
    assert done.returncode == 2 and "backup.keep.daily" in done.stderr + done.stdout
    project.write_config('[backup]\nstore = "ftp://x"\n')
    done = project.cli("backup", "list")
    assert done.returncode == 2 and "backup.store" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("tables", [["nope"], []])
def test_tables_naming_nothing_is_bad_input(project, tables: list[str]) -> None:  # type: ignore[no-untyped-def]
    fill(project.url)
    with pytest.raises(BadInput):
        api.create(project.config(), "test", tables=tables)
    assert not list(Path(project.root / "backups" / "test").glob("2*"))


def test_manifests_written_before_kinds_get_one() -> None:
    base = {
        "id": "x",
        "env": "e",
        "database": "d",
        "server_version": "18",
        "pg_dump": {"version": "18.0"},
        "format": "custom",
        "compression": "gzip",
        "started_at": "2026-01-01T00:00:00+00:00",
        "finished_at": "2026-01-01T00:00:01+00:00",
        "size": 1,
        "files": {},
        "migration_version": None,
        "tables": [],
    }
    assert api.Manifest.from_dict(base).kind == "full"
    assert api.Manifest.from_dict({**base, "only_tables": ["t"]}).kind == "tables"
    archived = {**base, "only_tables": ["p"], "reason": "partition archive public.p"}
    assert api.Manifest.from_dict(archived).kind == "archive"
    assert api.Manifest.from_dict({**base, "reason": "safety backup before restoring y"}).kind == "safety"
