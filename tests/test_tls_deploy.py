"""TLS for real: Debian's PostgreSQL 15 with ``ssl = on`` and a certificate made by the test.

A protected environment is deployed end to end with ``sslmode=require`` (the
verified backup runs a pg_dump with SSL support, chosen by ``pgwarden.clients``),
and ``sslmode=disable`` is refused with nothing changed.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from conftest import Project

PG15 = Path("/usr/lib/postgresql/15/bin")
SERVER_USER_WHEN_ROOT = "embedded_postgres"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _identity() -> dict[str, object]:
    """Run the server as an unprivileged user when the tests run as root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam(SERVER_USER_WHEN_ROOT)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER_WHEN_ROOT],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(SERVER_USER_WHEN_ROOT)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "server.crt", folder / "server.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    key.chmod(0o600)
    return cert, key


@pytest.fixture(scope="module")
def tls_server() -> Iterator[str]:
    """Admin URL (sslmode=require) of a PostgreSQL 15 with ssl = on on a TCP port of 127.0.0.1."""
    if not (PG15 / "initdb").is_file():
        pytest.skip(
            "Debian's postgresql-15 is not installed (apt-get install postgresql-15): "
            "the TLS tests need a real server with ssl = on"
        )
    if shutil.which("openssl") is None:
        pytest.skip("the openssl program is not installed (apt-get install openssl): it makes the test certificate")
    folder = Path(tempfile.mkdtemp(prefix="pgwarden-tls-"))
    folder.chmod(0o755)
    data = folder / "data"
    identity = _identity()
    cert, key = _self_signed(folder)
    if identity:
        for path in (folder, cert, key):
            os.chown(path, int(identity["user"]), int(identity["group"]))  # type: ignore[call-overload]
    port = _free_port()

    def run(*args: str) -> None:
        subprocess.run(list(args), check=True, capture_output=True, text=True, timeout=120, cwd="/", **identity)  # type: ignore[call-overload]

    run(
        str(PG15 / "initdb"),
        "-D",
        str(data),
        "--auth=trust",
        "-U",
        "postgres",
        "--no-instructions",
        "--encoding=UTF8",
        "--locale=C",
    )
    (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n", encoding="utf-8")
    with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write(
            f"\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{folder}'\n"
            f"ssl = on\nssl_cert_file = '{cert}'\nssl_key_file = '{key}'\nfsync = off\n"
        )
    run(str(PG15 / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "60", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=require"
    finally:
        run(str(PG15 / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def _database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.replace("/postgres?", f"/{name}?")


def _prod(tmp_path: Path, url: str, scratch: str) -> Project:
    root = tmp_path / "project"
    (root / "migrations").mkdir(parents=True)
    project = Project(root, url, scratch)
    project.write_config(env_extra="protected = true")
    project.write_migration(
        "001_orders.sql", "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric);", "DROP TABLE orders;"
    )
    return project


def test_deploy_over_tls_end_to_end(tls_server: str, tmp_path: Path) -> None:
    url = _database(tls_server, "app_tls")
    project = _prod(tmp_path, url, tls_server)
    doc = json.loads(project.cli("deploy", "--yes", "--json", check_exit=0).stdout)
    assert doc["outcome"] == "deployed" and doc["applied"] == ["001"] and doc["backup_id"]
    tls = next(s for s in doc["steps"] if s["name"] == "preflight: connect and tls")
    assert "TLS encrypted (TLSv1." in tls["detail"] and "sslmode require" in tls["detail"]
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('public.orders') IS NOT NULL").fetchone() == (True,)
        assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (True,)
        kinds = [r[0] for r in conn.execute("SELECT kind FROM pgwarden.events ORDER BY id").fetchall()]
    assert kinds[0] == "backup" and kinds[-1] == "deploy", kinds
    manifest = next((project.root / "backups").rglob("manifest.json"))
    dump = json.loads(manifest.read_text())["pg_dump"]
    assert str(dump["version"]).startswith("15."), dump  # the wheel's pg_dump has no SSL: Debian's was chosen


def test_sslmode_disable_is_refused_and_nothing_changes(tls_server: str, tmp_path: Path) -> None:
    url = _database(tls_server, "app_plain")
    plain = url.replace("sslmode=require", "sslmode=disable")
    project = _prod(tmp_path, plain, tls_server)
    for args in (
        ["deploy", "--yes"],
        ["migrate", "down", "--yes"],
        ["backup", "create"],
        ["partition", "maintain", "--yes"],
    ):
        result = project.cli(*args, check_exit=5)
        assert "not encrypted" in result.stderr and "next: add sslmode=verify-full" in result.stderr, args
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'pgwarden'").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
    assert not (project.root / "backups").exists()


def test_no_client_fits_names_the_missing_version_and_feature() -> None:
    from pgwarden import clients

    with pytest.raises(clients.ClientMissing) as info:
        clients.resolve(clients.Needs(99, ssl=True))
    assert "needs PostgreSQL 99 or newer, SSL" in info.value.message and info.value.exit_code == 3
    assert "pgwarden[tls]" in (info.value.hint or "")
    if (PG15 / "pg_dump").is_file():
        debian = clients.inspect(PG15, "system")
        assert debian.ssl and debian.major == 15
