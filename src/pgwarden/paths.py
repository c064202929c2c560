"""Where pgwarden may write: inside the project or the configured backup folder, nowhere else.

Guarantees: :func:`inside` resolves ``..`` and symbolic links before it compares,
so no name from a config file or a command line (environment names, backup ids,
file names) can lead a write outside its allowed roots; a path outside raises
BadInput (exit 2) naming it.
"""

from __future__ import annotations

import re
from pathlib import Path

from pgwarden.errors import BadInput

SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def safe_name(name: str, *, what: str) -> str:
    """``name`` when it can be one path component (letters, digits, ``_``, ``-``); BadInput otherwise."""
    if not SAFE_NAME.match(name):
        raise BadInput(f"{what} {name!r}: use only letters, digits, '_' and '-'")
    return name


def inside(path: Path, *roots: Path) -> Path:
    """``path`` resolved, when it lies in one of ``roots`` (resolved too); BadInput otherwise."""
    resolved = path.resolve()
    for root in roots:
        if resolved.is_relative_to(root.resolve()):
            return resolved
    allowed = " or ".join(str(root) for root in roots)
    raise BadInput(f"{path}: outside {allowed}; pgwarden writes only there")


def writable_roots(project_root: Path, backup_dir: Path) -> tuple[Path, Path]:
    """The two folders a project's files may be written in: the project and its backup folder."""
    return project_root, backup_dir
