"""Migration sources: file formats read into one in-memory form.

The layer below both ``lint`` and ``migrations``: it imports nothing of pgwarden
but ``errors``. :mod:`~pgwarden.sources.model` is the in-memory form,
:mod:`~pgwarden.sources.statements` splits SQL text, :mod:`~pgwarden.sources.native`
reads pgwarden's own ``-- migrate:up`` files. Readers of other tools' formats
(Alembic, Prisma, Flyway, ...) belong here beside ``native``.
"""

from pgwarden.sources.model import (
    MigrationFile,
    Section,
    Statement,
    checksum_of,
    normalize,
    statement_checksum,
    version_key,
)
from pgwarden.sources.native import FILE_PATTERN, MARKER, discover, parse_migration_file, parse_migration_text
from pgwarden.sources.statements import LineIndex, parse_statements

__all__ = [
    "FILE_PATTERN",
    "MARKER",
    "LineIndex",
    "MigrationFile",
    "Section",
    "Statement",
    "checksum_of",
    "discover",
    "normalize",
    "parse_migration_file",
    "parse_migration_text",
    "parse_statements",
    "statement_checksum",
    "version_key",
]
