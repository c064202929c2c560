"""Fuzzing config files, migration files and command-line arguments (fixed seed, bounded examples).

Whatever the input: no Python exception escapes (the CLI maps every expected error to its exit code and one
line), and a rejected input leaves the database exactly as it was.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from conftest import Project
from pgwarden.errors import MigrationFileError, PgwardenError

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FEW = settings(FUZZ, max_examples=12)

_TOML_PIECES = st.sampled_from(
    [
        'default_env = "test"\n',
        "[environments.test]\n",
        'url = "embedded"\n',
        'url = "${X}"\n',
        "url = 5\n",
        "protected = true\n",
        'protected = "yes"\n',
        "[migrate]\n",
        'lock_timeout = "0s"\n',
        'lock_timeout = "2s"\n',
        "retries = 99999999999999999999999\n",
        "[[partitions]]\n",
        'table = "a.b"\n',
        'interval = "1 fortnight"\n',
        "[doctor]\n",
        "thresholds = { nope = 1 }\n",
        "[",
        "]",
        '"',
        "\x00",
        "\ufeff",
        "= =\n",
        'x = """\n',
        '[environments."../x"]\n',
        "a = [" * 50,
        "[tool.pgwarden]\n",
    ]
)
_CONFIG_TEXT = st.one_of(
    st.binary(max_size=300),
    st.lists(_TOML_PIECES, max_size=12).map(lambda parts: "".join(parts).encode("utf-8")),
    st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")),
)

_SQL_PIECES = st.sampled_from(
    [
        "-- migrate:up\n",
        "-- migrate:down\n",
        "-- migrate:up transaction:false\n",
        "-- migrate:down irreversible\n",
        "-- migrate:sideways\n",
        "CREATE TABLE fz (id int);\n",
        "DROP TABLE fz;\n",
        "SELECT 1;\n",
        "BEGIN;\n",
        "CREATE INDEX CONCURRENTLY ON fz (id);\n",
        "\x00",
        "'",
        "$$",
        "/*",
        "*/",
        "--",
        ";",
        "\r\n",
        "é",
        "\ufeff",
        "CREATE TABLE (;\n",
        "INSERT INTO nowhere VALUES (1);\n",
    ]
)
_MIGRATION_TEXT = st.one_of(st.lists(_SQL_PIECES, max_size=14).map("".join), st.text(max_size=300))


def _catalog(db: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2"
    ).fetchall()


def _run(args: list[str], monkeypatch: pytest.MonkeyPatch, config: Path) -> int:
    """The real CLI entry point in this process; returns its exit code, fails on any escaping exception."""
    from pgwarden.cli import common
    from pgwarden.cli.main import main

    monkeypatch.setenv("PGWARDEN_CONFIG", str(config))
    monkeypatch.setattr(sys, "argv", ["pgwarden", *args])
    common.state.config_path = None
    try:
        main()
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    return 0


@seed(20261203)
@FUZZ
@given(content=_CONFIG_TEXT)
def test_config_fuzz_never_raises_anything_but_config_errors(
    tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    from pgwarden.settings import load

    path = tmp_path_factory.mktemp("cfg") / "pgwarden.toml"
    path.write_bytes(content)
    try:
        load(path)
    except PgwardenError as exc:
        assert exc.exit_code == 2 and str(path) in exc.message


@seed(20261203)
@FUZZ
@given(text=_MIGRATION_TEXT)
def test_migration_file_fuzz_parses_or_names_file_and_line(text: str) -> None:
    from pgwarden.sources import parse_migration_text

    try:
        parse_migration_text(text, path=Path("migrations/001_fuzz.sql"), version="001", name="fuzz")
    except MigrationFileError as exc:
        assert exc.message.startswith("migrations/001_fuzz.sql")
        assert "\n" not in exc.message


@seed(20261203)
@FEW
@given(text=_MIGRATION_TEXT.filter(lambda t: "\x00" in t or "CREATE TABLE (" in t or "BEGIN" in t or not t))
def test_rejected_migration_file_leaves_the_database_unchanged(project: Project, db, monkeypatch, text: str) -> None:  # type: ignore[no-untyped-def]
    for old in project.migrations.iterdir():
        old.unlink()
    (project.migrations / "001_fuzz.sql").write_text(text, encoding="utf-8", errors="surrogatepass")
    before = _catalog(db)
    code = _run(["migrate", "up"], monkeypatch, project.config_path)
    assert code in (1, 2), code
    assert _catalog(db) == before


_ARG = st.one_of(
    st.sampled_from(
        [
            "--json",
            "--to",
            "--steps",
            "--env",
            "-1",
            "0",
            "999",
            "abc",
            "",
            "..",
            "/",
            "--dry-run",
            "test",
            "nope",
            "../../x",
            "x" * 5000,
            "é",
            "[red]x[/]",
        ]
    ),
    st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=30),
)
_COMMANDS = st.sampled_from(
    [
        ["migrate", "status"],
        ["migrate", "up", "--dry-run"],
        ["migrate", "down", "--dry-run"],
        ["migrate", "history"],
        ["migrate", "up", "--dry-run", "--to"],
        ["lint"],
        ["migrate", "down", "--dry-run", "--steps"],
        ["migrate", "up", "--dry-run", "--env"],
    ]
)


@seed(20261203)
@FEW
@given(command=_COMMANDS, extra=st.lists(_ARG, max_size=3))
def test_cli_argument_fuzz_exits_with_a_documented_code(
    project: Project,
    db,
    monkeypatch,
    command: list[str],  # type: ignore[no-untyped-def]
    extra: list[str],
) -> None:
    project.write_migration("001_t.sql", "CREATE TABLE t (id int);", "DROP TABLE t;")
    before = _catalog(db)
    code = _run([*command, *extra], monkeypatch, project.config_path)
    assert code in (0, 1, 2, 3, 4, 5), code
    assert _catalog(db) == before
