"""Encryption at rest with age (``[backup] encrypt = "age"``, PyPI ``pyrage``).

Guarantees: the dump is encrypted as pg_dump writes it (no plaintext dump touches the
disk); the manifest records the scheme and each recipient's fingerprint, never a key;
decryption streams into a private temporary file (0600, removed afterwards) and must
finish before anything is restored, so a wrong key or a damaged file restores nothing
and is one line (:class:`DecryptionFailed`, exit 2).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import IO, Any

from pgwarden.backup.manifest import Encryption
from pgwarden.errors import BadInput

SCHEME = "age"


class DecryptionFailed(BadInput):
    """The identity cannot decrypt this backup (wrong key, or a damaged file); nothing was restored."""


def _pyrage() -> Any:
    try:
        import pyrage
    except ModuleNotFoundError:
        raise BadInput(
            'backup.encrypt = "age": the pyrage package is not installed', hint="pip install 'pgwarden[encrypt]'"
        ) from None
    return pyrage


def fingerprint(recipient: str) -> str:
    """A short, stable name for a public key (sha256 of its text): what the manifest records."""
    return "sha256:" + hashlib.sha256(recipient.strip().encode()).hexdigest()[:16]


def parse_recipients(recipients: list[str]) -> list[Any]:
    """The age recipients (``age1...`` public keys); BadInput names a malformed one."""
    x25519 = _pyrage().x25519
    out = []
    for text in recipients:
        try:
            out.append(x25519.Recipient.from_str(text.strip()))
        except Exception:  # noqa: BLE001 - pyrage raises a bare error type for a bad key
            raise BadInput(f"backup.recipients: {text[:12]}...: not an age public key (age1...)") from None
    return out


def describe(recipients: list[str]) -> Encryption:
    """What the manifest records about an encrypted backup."""
    return Encryption(SCHEME, [fingerprint(r) for r in recipients])


def encrypt_stream(reader: IO[bytes], output: Path, recipients: list[str]) -> None:
    """Encrypt everything ``reader`` yields into ``output`` (created 0600) for ``recipients``."""
    parsed = parse_recipients(recipients)
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        _pyrage().encrypt_io(reader, handle, parsed)


def _identities(identity_file: str | None, backup_id: str) -> list[Any]:
    if not identity_file:
        raise DecryptionFailed(
            f"backup {backup_id} is encrypted (age): no identity file to decrypt it",
            hint="set [backup] identity to the path of your age identity file",
        )
    path = Path(identity_file).expanduser()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DecryptionFailed(f"backup.identity {path}: cannot read it ({exc.strerror})") from None
    keys = [ln.strip() for ln in lines if ln.strip().startswith("AGE-SECRET-KEY-")]
    x25519 = _pyrage().x25519
    try:
        return [x25519.Identity.from_str(k) for k in keys] or _no_keys(path)
    except DecryptionFailed:
        raise
    except Exception:  # noqa: BLE001 - never echo the key text
        raise DecryptionFailed(f"backup.identity {path}: not a valid age identity file") from None


def _no_keys(path: Path) -> list[Any]:
    raise DecryptionFailed(f"backup.identity {path}: no AGE-SECRET-KEY line")


def decrypt_file(source: Path, output: Path, identity_file: str | None, backup_id: str, encryption: Encryption) -> None:
    """Decrypt ``source`` into ``output`` (0600) streaming; DecryptionFailed (exit 2) on a wrong key."""
    pyrage = _pyrage()
    identities = _identities(identity_file, backup_id)
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with open(source, "rb") as reader, os.fdopen(fd, "wb") as writer:
            pyrage.decrypt_io(reader, writer, identities)
    except pyrage.DecryptError as exc:
        output.unlink(missing_ok=True)
        raise DecryptionFailed(
            f"backup {backup_id}: cannot decrypt with {identity_file}: {exc} "
            f"(encrypted for {', '.join(encryption.recipients)}); nothing was restored"
        ) from None
