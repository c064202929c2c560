"""Archive a detached partition: a verified pgwarden backup of that one table (``pgwarden.backup``).

Guarantees: the partition is dropped by the caller only after this returns,
i.e. after pg_dump finished and the backup (with its manifest and row count)
was published in the backup directory; a failed dump raises and nothing is dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pgwarden.config import Config


def archive_table(config: Config, env: str | None, schema: str, name: str) -> tuple[str, Path]:
    """Back up ``schema.name`` alone with ``pgwarden.backup.create``; returns (backup id, path)."""
    from pgwarden.backup.api import create

    result = create(config, env, tables=[f"{schema}.{name}"], reason=f"partition archive {schema}.{name}")
    return result.id, Path(result.location)
