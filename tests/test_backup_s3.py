"""Backups in a real S3 store (SeaweedFS started by the test session): the same commands as on local disk."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgwarden.backup import api
from pgwarden.backup.s3store import PART_SIZE, S3Storage
from pgwarden.backup.storage import MANIFEST, LocalStorage

SCHEMA = """
CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, blob text);
INSERT INTO items (name, blob) SELECT 'i' || g, md5(g::text) FROM generate_series(1, 3000) g;
"""


@pytest.fixture
def s3_project(project, s3_server, monkeypatch):  # type: ignore[no-untyped-def]
    """The project with ``[backup] store`` in a fresh prefix of the session's bucket."""
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    project.write_config(f'[backup]\nstore = "s3://{s3_server.bucket}/{prefix}"\n')
    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    project.prefix = prefix
    return project


def keys(s3_server, prefix: str) -> list[str]:  # type: ignore[no-untyped-def]
    page = s3_server.client().list_objects_v2(Bucket=s3_server.bucket, Prefix=prefix + "/")
    return sorted(o["Key"] for o in page.get("Contents", []))


def test_create_list_verify_restore_prune_against_the_store(s3_project, s3_server) -> None:  # type: ignore[no-untyped-def]
    project = s3_project
    created = project.cli("backup", "create", "--json", env=s3_server.env, check_exit=0)
    backup = json.loads(created.stdout)
    backup_id = backup["id"]
    assert backup["location"] == f"s3://{s3_server.bucket}/{project.prefix}/test/{backup_id}/"
    assert keys(s3_server, project.prefix) == [
        f"{project.prefix}/test/{backup_id}/dump.pgdump",
        f"{project.prefix}/test/{backup_id}/manifest.json",
    ]
    assert not list((project.root / "backups" / "test").glob("2*")), "keep_local is off: no local copy"
    assert s3_server.secret_key not in created.stdout + created.stderr

    listed = json.loads(project.cli("backup", "list", "--json", env=s3_server.env, check_exit=0).stdout)
    assert [b["id"] for b in listed] == [backup_id] and listed[0]["location"].startswith("s3://")

    verified = project.cli("backup", "verify", backup_id, "--json", env=s3_server.env, check_exit=0)
    assert json.loads(verified.stdout)["tables"][0]["actual"] == 3000
    manifest = json.loads(
        s3_server.client()
        .get_object(Bucket=s3_server.bucket, Key=f"{project.prefix}/test/{backup_id}/manifest.json")["Body"]
        .read()
    )
    assert manifest["verification"]["ok"] is True

    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute("DELETE FROM items WHERE id > 10")
    project.cli("backup", "restore", backup_id, env=s3_server.env, check_exit=0)
    with psycopg.connect(project.url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (3000,)

    second = json.loads(project.cli("backup", "create", "--json", env=s3_server.env, check_exit=0).stdout)["id"]
    project.write_config(
        f'[backup]\nstore = "s3://{s3_server.bucket}/{project.prefix}"\n'
        "keep = { daily = 0, weekly = 0, monthly = 0 }\n"
    )
    pruned = json.loads(project.cli("backup", "prune", "--json", env=s3_server.env, check_exit=0).stdout)
    # the newest verified full backup stays; the newer unverified one too; nothing else exists
    assert {d["id"] for d in pruned["kept"]} == {backup_id, second} and pruned["deleted"] == []


def test_keep_local_keeps_a_copy_and_prune_deletes_both(s3_project, s3_server) -> None:  # type: ignore[no-untyped-def]
    project = s3_project
    project.write_config(
        f'[backup]\nstore = "s3://{s3_server.bucket}/{project.prefix}"\nkeep_local = true\n'
        "keep = { daily = 0, weekly = 0, monthly = 0 }\nsafety_keep = { last = 0, days = 0 }\n"
    )
    config = project.config()
    safety = api.create(config, "test", kind="safety")
    assert (project.root / "backups" / "test" / safety.id / MANIFEST).is_file()
    assert api.verify(config, safety.id, "test").ok
    result = api.prune(config, "test")
    assert [d.id for d in result.deleted] == [safety.id]
    assert keys(s3_server, project.prefix) == []
    assert not (project.root / "backups" / "test" / safety.id).exists()


class FailingClient:
    """The real boto3 client, but the connection dies after the first part of an upload (a crash mid-upload)."""

    def __init__(self, real: Any):
        self.real = real
        self.parts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def upload_part(self, **kwargs: Any) -> Any:
        self.parts += 1
        if self.parts > 1:
            raise KeyboardInterrupt("killed mid-upload")
        return self.real.upload_part(**kwargs)


def test_a_crash_mid_upload_leaves_nothing_listed(s3_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prefix = f"crash-{uuid.uuid4().hex[:8]}"
    local = LocalStorage(tmp_path / "backups")
    client = FailingClient(s3_server.client())
    store = S3Storage(f"s3://{s3_server.bucket}/{prefix}", local, client=client)
    staging = store.stage("prod", "20260101T000000Z-abcd")
    (staging.path / "dump.pgdump").write_bytes(b"x" * (PART_SIZE + 1024))  # two parts
    (staging.path / MANIFEST).write_text("{}")
    with pytest.raises(KeyboardInterrupt):
        store.publish(staging)
    assert store.list("prod") == []
    assert client.real.list_multipart_uploads(Bucket=s3_server.bucket, Prefix=prefix).get("Uploads", []) == []
    assert keys(s3_server, prefix) == []
    # a writer killed between its data and its manifest: objects without a manifest are never listed
    client.real.put_object(Bucket=s3_server.bucket, Key=f"{prefix}/prod/20260101T000001Z-dead/dump.pgdump", Body=b"x")
    assert store.list("prod") == []


def test_upload_checks_the_stored_checksum(s3_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = f"s3://{s3_server.bucket}/sum-{uuid.uuid4().hex[:8]}"
    store = S3Storage(url, LocalStorage(tmp_path), client=s3_server.client())
    path = tmp_path / "big"
    path.write_bytes(b"abc" * (PART_SIZE // 2))  # 1.5 parts
    etag = store.upload_file(path, f"{store.prefix}/big")
    assert etag.endswith("-2")


def test_wrong_credentials_are_one_line(s3_project, s3_server) -> None:  # type: ignore[no-untyped-def]
    env = {**s3_server.env, "AWS_SECRET_ACCESS_KEY": "not-the-secret-123"}
    done = s3_project.cli("backup", "list", env=env)
    assert done.returncode == 1, done.stderr
    assert "SignatureDoesNotMatch" in done.stderr + done.stdout or "AccessDenied" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr and "not-the-secret-123" not in done.stderr + done.stdout


def test_encrypted_backup_in_the_store(s3_project, s3_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pyrage = pytest.importorskip("pyrage")
    identity = pyrage.x25519.Identity.generate()
    key = tmp_path / "age.key"
    key.write_text(f"{identity}\n")
    project = s3_project
    project.write_config(
        f'[backup]\nstore = "s3://{s3_server.bucket}/{project.prefix}"\nencrypt = "age"\n'
        f'recipients = ["{identity.to_public()}"]\nidentity = "{key}"\n'
    )
    config = project.config()
    backup = api.create(config, "test")
    stored = keys(s3_server, project.prefix)
    folder = f"{project.prefix}/test/{backup.id}"
    assert stored == [f"{folder}/dump.pgdump.age", f"{folder}/manifest.json"]
    body = s3_server.client().get_object(Bucket=s3_server.bucket, Key=stored[0])["Body"].read()
    assert body.startswith(b"age-encryption.org/v1") and b"PGDMP" not in body
    checked = api.verify(config, backup.id, "test")
    assert checked.ok and checked.tables[0].actual == 3000


def test_kill_9_mid_upload_lists_nothing(s3_project, s3_server) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal
    import subprocess
    import sys
    import time

    project = s3_project
    project.write_config(f'[backup]\nstore = "s3://{s3_server.bucket}/{project.prefix}"\ncompress = "none"\n')
    with psycopg.connect(project.url, autocommit=True) as conn:  # ~50 MB uncompressed: at least 3 parts
        conn.execute("CREATE TABLE bulk AS SELECT g, repeat(md5(g::text), 20) AS pad FROM generate_series(1, 75000) g")
    client = s3_server.client()
    env = {**os.environ, **s3_server.env, "PGWARDEN_CONFIG": str(project.config_path)}
    writer = subprocess.Popen(
        [sys.executable, "-m", "pgwarden.cli.main", "backup", "create"],
        cwd=project.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    try:
        while not client.list_multipart_uploads(Bucket=s3_server.bucket, Prefix=project.prefix).get("Uploads"):
            assert writer.poll() is None, "the backup finished before its upload could be interrupted"
            assert time.monotonic() < deadline, "no upload started"
            time.sleep(0.01)
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait()
    listed = json.loads(project.cli("backup", "list", "--json", env=s3_server.env, check_exit=0).stdout)
    assert listed == [], "a killed upload is never listed as a backup"
    assert not any(k.endswith(MANIFEST) for k in keys(s3_server, project.prefix))
