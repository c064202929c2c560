"""Opening a published backup for reading: local files, checksums, then decryption.

Guarantees: every file's sha256 is checked before anything reads the dump; an
encrypted dump is decrypted (streaming) into a private temporary folder that is removed
when the context ends, and decryption completes before the caller restores anything.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pgwarden.backup.crypto import decrypt_file
from pgwarden.backup.manifest import Manifest, check_files
from pgwarden.backup.runner import Tools
from pgwarden.backup.storage import Storage


@dataclass
class Opened:
    """A backup ready to restore: its local folder, the plain dump, and any checksum problems."""

    folder: Path
    dump: Path
    problems: list[str]


@contextmanager
def opened(storage: Storage, manifest: Manifest, identity: str | None) -> Iterator[Opened]:
    """The backup's files on local disk, checked; the dump decrypted when it is encrypted.

    With checksum problems the dump is not decrypted (``problems`` says why).
    """
    with storage.open_local(manifest.env, manifest.id) as folder:
        problems = check_files(folder, manifest.files)
        if problems or manifest.encryption is None:
            yield Opened(folder, folder / manifest.dump_path, problems)
            return
        with tempfile.TemporaryDirectory(prefix="pgwarden-decrypt-") as workdir:
            plain = Path(workdir) / "dump.pgdump"
            decrypt_file(folder / manifest.dump_path, plain, identity, manifest.id, manifest.encryption)
            yield Opened(folder, plain, [])


def toc(tools: Tools, dump: Path) -> str:
    """``pg_restore --list`` of a dump: one line per archive entry."""
    return subprocess.run(
        [str(tools.pg_restore), "--list", str(dump)], capture_output=True, text=True, check=True, timeout=600
    ).stdout


def without_constraints(listing: str, constraints: list[tuple[str, str, str]]) -> list[str]:
    """The TOC lines except the ``FK CONSTRAINT schema table name`` entries named in ``constraints``."""
    skip = {f"FK CONSTRAINT {s} {t} {c} " for s, t, c in constraints}
    return [ln for ln in listing.splitlines() if ln and not ln.startswith(";") and not any(k in ln + " " for k in skip)]
