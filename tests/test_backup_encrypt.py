"""Encryption at rest with age: no plaintext dump on disk, no key in the manifest, a wrong key restores nothing."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from pgwarden.backup import api

pyrage = pytest.importorskip("pyrage", reason="encryption tests need pyrage: pip install 'pgwarden[encrypt]'")

SCHEMA = """
CREATE TABLE secrets (id serial PRIMARY KEY, note text NOT NULL);
INSERT INTO secrets (note) SELECT 'top-secret-' || g FROM generate_series(1, 500) g;
"""


def identity_file(folder: Path, name: str) -> tuple[Path, str]:
    identity = pyrage.x25519.Identity.generate()
    path = folder / f"{name}.key"
    path.write_text(f"# created for a test\n{identity}\n")
    return path, str(identity.to_public())


@pytest.fixture
def encrypted(project, tmp_path: Path):  # type: ignore[no-untyped-def]
    key, recipient = identity_file(tmp_path, "right")
    project.write_config(f'[backup]\nencrypt = "age"\nrecipients = ["{recipient}"]\nidentity = "{key}"\n')
    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    return project, key, recipient


def test_encrypted_backup_verifies_and_restores(encrypted) -> None:  # type: ignore[no-untyped-def]
    project, key, recipient = encrypted
    config = project.config()
    backup = api.create(config, "test")
    folder = Path(backup.location)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["dump.pgdump.age", "manifest.json"]
    data = (folder / "dump.pgdump.age").read_bytes()
    assert data.startswith(b"age-encryption.org/v1") and b"top-secret" not in data and b"PGDMP" not in data
    manifest_text = (folder / "manifest.json").read_text()
    manifest = json.loads(manifest_text)
    assert manifest["encryption"]["scheme"] == "age"
    assert manifest["encryption"]["recipients"] == [_fingerprint(recipient)]
    assert recipient not in manifest_text and "AGE-SECRET-KEY" not in manifest_text

    assert api.verify(config, backup.id, "test").ok
    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute("DELETE FROM secrets")
    api.restore(config, backup.id, "test")
    with psycopg.connect(project.url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM secrets").fetchone() == (500,)
    listed = project.cli("backup", "list", check_exit=0).stdout
    assert "encrypted" in listed


def _fingerprint(recipient: str) -> str:
    from pgwarden.backup.crypto import fingerprint

    return fingerprint(recipient)


def test_wrong_key_is_one_line_and_restores_nothing(encrypted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, _key, recipient = encrypted
    backup_id = api.create(project.config(), "test").id
    wrong, _ = identity_file(tmp_path, "wrong")
    project.write_config(f'[backup]\nencrypt = "age"\nrecipients = ["{recipient}"]\nidentity = "{wrong}"\n')
    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute("DELETE FROM secrets WHERE id > 100")
    for command in (["backup", "restore", backup_id], ["backup", "verify", backup_id]):
        done = project.cli(*command)
        assert done.returncode == 2, (done.stdout, done.stderr)
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        assert any("cannot decrypt" in ln and "nothing was restored" in ln for ln in lines), done.stderr
        assert "Traceback" not in done.stderr and "AGE-SECRET-KEY" not in done.stderr + done.stdout
    with psycopg.connect(project.url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM secrets").fetchone() == (100,)


def test_encryption_needs_a_recipient(project) -> None:  # type: ignore[no-untyped-def]
    project.write_config('[backup]\nencrypt = "age"\n')
    done = project.cli("backup", "create")
    assert done.returncode == 2 and "backup.recipients" in done.stderr + done.stdout
