"""Other tools' projects as they are: detection, reading, their history table read and written as the tool does."""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path
from typing import Any

import psycopg
import pytest

from conftest import Project
from pgwarden.sources.formats import detect, read
from pgwarden.sources.formats.flyway import checksum as flyway_checksum


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


PRISMA = {
    "prisma/schema.prisma": 'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n',
    "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
    "prisma/migrations/20240101000000_init/migration.sql": (
        '-- CreateTable\nCREATE TABLE "User" ("id" SERIAL NOT NULL, "email" TEXT NOT NULL,\n'
        '    CONSTRAINT "User_pkey" PRIMARY KEY ("id"));\n'
    ),
    "prisma/migrations/20240202000000_add_name/migration.sql": 'ALTER TABLE "User" ADD COLUMN "name" TEXT;\n',
}
DRIZZLE = {
    "drizzle.config.ts": "export default { dialect: 'postgresql', out: './drizzle', schema: './src/schema.ts' };\n",
    "drizzle/0000_brave_thor.sql": 'CREATE TABLE "users" ("id" serial PRIMARY KEY NOT NULL);\n'
    '--> statement-breakpoint\nCREATE TABLE "posts" ("id" serial PRIMARY KEY);\n',
    "drizzle/0001_calm_loki.sql": 'ALTER TABLE "posts" ADD COLUMN "title" text;\n',
    "drizzle/meta/_journal.json": json.dumps(
        {
            "version": "7",
            "dialect": "postgresql",
            "entries": [
                {"idx": 0, "version": "7", "when": 1700000000000, "tag": "0000_brave_thor", "breakpoints": True},
                {"idx": 1, "version": "7", "when": 1700000100000, "tag": "0001_calm_loki", "breakpoints": True},
            ],
        }
    ),
}
GOLANG = {
    "migrations/000001_create_users.up.sql": "CREATE TABLE users (id bigserial PRIMARY KEY);\n",
    "migrations/000001_create_users.down.sql": "DROP TABLE users;\n",
    "migrations/000002_add_email.up.sql": "ALTER TABLE users ADD COLUMN email text;\n",
    "migrations/000002_add_email.down.sql": "ALTER TABLE users DROP COLUMN email;\n",
}
FLYWAY = {
    "flyway.conf": "flyway.locations=filesystem:sql\n",
    "sql/V1__create_users.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\r\n",
    "sql/V1.1__add_email.sql": "ALTER TABLE users ADD COLUMN email text;\n",
    "sql/U1.1__add_email.sql": "ALTER TABLE users DROP COLUMN email;\n",
    "sql/V1.10__add_phone.sql": "ALTER TABLE users ADD COLUMN phone text;\n",
}
DBMATE = {
    "db/migrations/20240101000000_create_users.sql": (
        "-- migrate:up\nCREATE TABLE users (id bigint PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE users;\n"
    ),
}


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (PRISMA, ("prisma", "prisma/migrations")),
        (DRIZZLE, ("drizzle", "drizzle")),
        (GOLANG, ("golang-migrate", "migrations")),
        (FLYWAY, ("flyway", "sql")),
        (DBMATE, ("dbmate", "db/migrations")),
    ],
)
def test_detects_each_tool(tmp_path: Path, files: dict[str, str], expected: tuple[str, str]) -> None:
    _write(tmp_path, files)
    found = detect(tmp_path)
    assert found is not None and (found.format, found.migrations_dir) == expected


def test_reads_each_format_as_its_tool_does(tmp_path: Path) -> None:
    _write(tmp_path, {**PRISMA, **DRIZZLE, **FLYWAY})
    prisma = read("prisma", tmp_path / "prisma/migrations")
    assert [(m.version, m.name) for m in prisma] == [("20240101000000", "init"), ("20240202000000", "add_name")]
    raw = (tmp_path / "prisma/migrations/20240101000000_init/migration.sql").read_bytes()
    assert prisma[0].checksum == hashlib.sha256(raw).hexdigest() and not prisma[0].reversible
    drizzle = read("drizzle", tmp_path / "drizzle")
    assert [m.version for m in drizzle] == ["0000", "0001"] and len(drizzle[0].up.statements) == 2
    flyway = read("flyway", tmp_path / "sql")
    assert [m.version for m in flyway] == ["1", "1.1", "1.10"]  # 1.10 after 1.1: numeric parts
    assert flyway[1].reversible and not flyway[0].reversible
    # Flyway's CRC32 is over lines without their endings: CRLF and LF files have the same checksum.
    assert (
        flyway_checksum("a\r\nb\n") == flyway_checksum("a\nb") == zlib.crc32(b"b", zlib.crc32(b"a")) - (1 << 32)
        if zlib.crc32(b"b", zlib.crc32(b"a")) >= 1 << 31
        else zlib.crc32(b"b", zlib.crc32(b"a"))
    )


@pytest.mark.parametrize(
    ("fmt", "files", "folder", "message"),
    [
        ("prisma", {"p/20240101000000_init/README": "x"}, "p", "no migration.sql in this Prisma migration folder"),
        (
            "drizzle",
            {"d/meta/_journal.json": json.dumps({"entries": [{"idx": 0, "when": 1, "tag": "0000_x"}]})},
            "d",
            "names 0000_x.sql, which does not exist",
        ),
        ("drizzle", {"d/meta/_journal.json": "{not json"}, "d", "not a drizzle journal"),
        ("flyway", {"f/R__views.sql": "SELECT 1;"}, "f", "repeatable Flyway migrations (R__) are not supported"),
        ("golang-migrate", {"g/1_x.down.sql": "SELECT 1;"}, "g", "down migration without its up file"),
        ("golang-migrate", {"g/1_x.up.sql": "\udcff"}, "g", ""),
    ],
)
def test_unreadable_projects_name_the_file(
    tmp_path: Path, fmt: str, files: dict[str, str], folder: str, message: str
) -> None:
    from pgwarden.errors import MigrationFileError

    if fmt == "golang-migrate" and message == "":
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "1_x.up.sql").write_bytes(b"\xff\xfe SELECT")
        message = "not UTF-8 text"
    else:
        _write(tmp_path, files)
    with pytest.raises(MigrationFileError) as caught:
        read(fmt, tmp_path / folder)
    assert message in caught.value.message and str(tmp_path / folder) in caught.value.message


def _project(project: Project, fmt: str, folder: str, files: dict[str, str]) -> None:
    _write(project.root, files)
    text = project.config_path.read_text().replace(
        'migrations_dir = "migrations"', f'migrations_dir = "{folder}"\nmigrations_format = "{fmt}"'
    )
    project.config_path.write_text(text, encoding="utf-8")


def _status(project: Project, exit_code: int = 0) -> list[tuple[str, str]]:
    doc = json.loads(project.cli("migrate", "status", "--json", check_exit=exit_code).stdout)
    return [(m["version"], m["state"]) for m in doc["migrations"]]


def test_prisma_history_read_and_written_as_prisma_does(project: Project, db: psycopg.Connection[Any]) -> None:
    _project(project, "prisma", "prisma/migrations", PRISMA)
    # The state `prisma migrate deploy` leaves after the first migration (its own table, its own row).
    first = project.root / "prisma/migrations/20240101000000_init/migration.sql"
    db.execute(first.read_text())
    db.execute("""CREATE TABLE _prisma_migrations (id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL,
        finished_at TIMESTAMPTZ, migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ,
        started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0)""")
    db.execute(
        "INSERT INTO _prisma_migrations VALUES ('6d2e1c9a-0000-4000-8000-000000000001', %s, now(), "
        "'20240101000000_init', NULL, NULL, now(), 1)",
        (hashlib.sha256(first.read_bytes()).hexdigest(),),
    )
    assert _status(project) == [("20240101000000", "applied"), ("20240202000000", "pending")]
    project.cli("migrate", "up", check_exit=0)
    rows = db.execute(
        "SELECT migration_name, checksum, finished_at IS NOT NULL, applied_steps_count, "
        "rolled_back_at FROM _prisma_migrations ORDER BY started_at, migration_name"
    ).fetchall()
    second = project.root / "prisma/migrations/20240202000000_add_name/migration.sql"
    assert rows[-1] == ("20240202000000_add_name", hashlib.sha256(second.read_bytes()).hexdigest(), True, 1, None)
    assert len(rows) == 2
    assert db.execute(
        "SELECT count(*) FROM pg_attribute WHERE attrelid = '\"User\"'::regclass AND attname = 'name'"
    ).fetchone() == (1,)
    assert _status(project) == [("20240101000000", "applied"), ("20240202000000", "applied")]


def test_a_failed_prisma_migration_shows_as_failed(project: Project, db: psycopg.Connection[Any]) -> None:
    _project(project, "prisma", "prisma/migrations", PRISMA)
    project.cli("migrate", "up", "--to", "20240101000000", check_exit=0)
    db.execute(
        "INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at) "
        "VALUES ('x', 'y', '20240202000000_add_name', now())"
    )  # started, never finished
    assert dict(_status(project, exit_code=1))["20240202000000"] == "failed"


def test_golang_migrate_keeps_its_one_row(project: Project, db: psycopg.Connection[Any]) -> None:
    _project(project, "golang-migrate", "migrations", GOLANG)
    project.cli("migrate", "up", check_exit=0)
    assert db.execute("SELECT version, dirty FROM schema_migrations").fetchall() == [(2, False)]
    project.cli("migrate", "down", check_exit=0)
    assert db.execute("SELECT version, dirty FROM schema_migrations").fetchall() == [(1, False)]
    assert _status(project) == [("000001", "applied"), ("000002", "pending")]


def test_drizzle_journal_hashes(project: Project, db: psycopg.Connection[Any]) -> None:
    _project(project, "drizzle", "drizzle", DRIZZLE)
    project.cli("migrate", "up", check_exit=0)
    rows = db.execute("SELECT hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id").fetchall()
    texts = [(project.root / f"drizzle/{t}.sql").read_text() for t in ("0000_brave_thor", "0001_calm_loki")]
    assert rows == [
        (hashlib.sha256(texts[0].encode()).hexdigest(), 1700000000000),
        (hashlib.sha256(texts[1].encode()).hexdigest(), 1700000100000),
    ]


def test_flyway_history_rows(project: Project, db: psycopg.Connection[Any]) -> None:
    _project(project, "flyway", "sql", FLYWAY)
    project.cli("migrate", "up", check_exit=0)
    rows = db.execute(
        "SELECT installed_rank, version, description, type, script, checksum, success "
        "FROM flyway_schema_history ORDER BY installed_rank"
    ).fetchall()
    text = (project.root / "sql/V1__create_users.sql").read_text()
    assert rows[0] == (1, "1", "create users", "SQL", "V1__create_users.sql", flyway_checksum(text), True)
    assert [r[1] for r in rows] == ["1", "1.1", "1.10"]
    assert _status(project) == [("1", "applied"), ("1.1", "applied"), ("1.10", "applied")]


def test_dbmate_schema_migrations(project: Project, db: psycopg.Connection[Any]) -> None:
    _project(project, "dbmate", "db/migrations", DBMATE)
    project.cli("migrate", "up", check_exit=0)
    assert db.execute("SELECT version FROM schema_migrations").fetchall() == [("20240101000000",)]


def test_init_in_a_prisma_project_points_at_its_files(tmp_path: Path) -> None:
    from conftest import run_cli

    _write(tmp_path, PRISMA)
    result = run_cli("init", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "found prisma migrations in prisma/migrations" in result.stdout
    text = (tmp_path / "pgwarden.toml").read_text()
    assert 'migrations_dir = "prisma/migrations"' in text and 'migrations_format = "prisma"' in text
    assert not (tmp_path / "migrations").exists()


def test_prisma_deploy_end_to_end(project: Project, db: psycopg.Connection[Any]) -> None:
    _project(project, "prisma", "prisma/migrations", PRISMA)
    report = json.loads(project.cli("deploy", "--yes", "--backup", "--json", check_exit=0, timeout=300).stdout)
    assert report["applied"] == ["20240101000000", "20240202000000"]
    assert db.execute("SELECT count(*) FROM _prisma_migrations WHERE finished_at IS NOT NULL").fetchone() == (2,)
    assert db.execute("SELECT count(*) FROM pgwarden.events WHERE kind = 'deploy'").fetchone() == (1,)
