"""Compatibility re-export: the migration file format now lives in :mod:`pgwarden.sources`.

Import from ``pgwarden.sources`` in new code; this module goes away once no caller uses it.
"""

from pgwarden.sources import (
    FILE_PATTERN,
    MARKER,
    MigrationFile,
    Section,
    Statement,
    checksum_of,
    discover,
    normalize,
    parse_migration_file,
    parse_migration_text,
    parse_statements,
    version_key,
)

__all__ = [
    "FILE_PATTERN",
    "MARKER",
    "MigrationFile",
    "Section",
    "Statement",
    "checksum_of",
    "discover",
    "normalize",
    "parse_migration_file",
    "parse_migration_text",
    "parse_statements",
    "version_key",
]
