"""The seed guides' SQL blocks, linted as files: the real errors in them are found."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from pgwarden.lint.api import lint_paths

FIXTURES = Path(__file__).parent / "fixtures" / "seeds"
# The guides the fixtures were extracted from are not part of this repository: the tests use the
# committed fixtures; a maintainer re-checks the extraction with PGWARDEN_SEEDS_DIR=<folder of the guides>.
SEEDS = Path(os.environ.get("PGWARDEN_SEEDS_DIR") or "/nonexistent")
BLOCK = re.compile(r"```sql\n(.*?)```", re.S)


def seed_sql(pattern: str) -> str:
    """The parseable ```sql blocks of a seed guide, in order (what tests/fixtures/seeds holds)."""
    import pglast

    source = next(SEEDS.glob(pattern))
    text = source.read_bytes().decode("utf-8", errors="replace")
    kept = []
    for index, block in enumerate(BLOCK.findall(text)):
        try:
            pglast.parse_sql(block)
        except pglast.parser.ParseError:
            continue  # prose-like fragments ("CREATE TABLE users (...)") are not SQL
        kept.append(f"-- block {index} of {source.name}\n{block.strip()}\n")
    return "\n".join(kept)


def sources(tmp_path: Path) -> list[tuple[str, Path]]:
    out = [("fixture-000", FIXTURES / "000_schema.sql"), ("fixture-004", FIXTURES / "004_partitioning.sql")]
    if os.environ.get("PGWARDEN_SEEDS_DIR") and SEEDS.is_dir():
        for pattern, name in (("000_*.txt", "seed-000.sql"), ("004_*.txt", "seed-004.sql")):
            path = tmp_path / name
            path.write_text(seed_sql(pattern), encoding="utf-8")
            out.append((name, path))
    return out


def test_fixtures_match_the_seeds() -> None:
    if not SEEDS.is_dir():
        pytest.skip(
            "maintainers only: compares tests/fixtures/seeds with the guides they were extracted from; "
            "set PGWARDEN_SEEDS_DIR to that folder to run it"
        )
    assert (FIXTURES / "000_schema.sql").read_text(encoding="utf-8") == seed_sql("000_*.txt")
    assert (FIXTURES / "004_partitioning.sql").read_text(encoding="utf-8") == seed_sql("004_*.txt")


def test_seed_schema_errors_are_found(tmp_path: Path) -> None:
    for label, path in sources(tmp_path):
        if "004" in label:
            continue
        report = lint_paths([path])
        errors = {(f.rule, f.statement.split("(")[0].split()[2]) for f in report.errors}
        assert ("partition-key-not-in-unique", "audit_logs") in errors, (label, errors)
        assert ("partition-of-non-partitioned", "sessions_2025_q1") in errors, (label, errors)
        pk = next(f for f in report.errors if f.rule == "partition-key-not-in-unique")
        assert "created_at" in pk.message and "PRIMARY KEY (id, created_at)" in pk.safe_rewrite
        assert report.exit_code == 1


def test_seed_partitioning_guide_is_clean_where_it_is_right(tmp_path: Path) -> None:
    for label, path in sources(tmp_path):
        if "004" not in label:
            continue
        report = lint_paths([path])
        # its partitioned tables include the key in the primary key: no partition errors
        assert not [f for f in report.errors if f.family == "partitions"], label


def test_seed_blocks_one_file_each_find_destructive_steps(tmp_path: Path) -> None:
    """Linted block by block (each block a migration on an existing database), the DROP TABLE is caught."""
    text = (FIXTURES / "004_partitioning.sql").read_text(encoding="utf-8")
    blocks = [b for b in text.split("-- block ") if b.strip()]
    drop = next(b for b in blocks if "DROP TABLE chat_messages" in b)
    path = tmp_path / "step2.sql"
    path.write_text("-- block " + drop, encoding="utf-8")
    report = lint_paths([path])
    assert [f.rule for f in report.errors] == ["drop-table"]
