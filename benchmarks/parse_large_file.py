"""Parsing a 10 MB migration file of 150k statements: pgwarden's reader against libpg_query alone.

Goal (issue 11): under 5 s, linear in the file size. The peer is the floor: the same
text parsed by libpg_query (pglast's ``parse_sql_json``) with no locating of
statements, lines or checksums. The script also parses 1/4 and 1/2 of the file to
show the growth is linear (time per statement stays flat).

    python benchmarks/parse_large_file.py [--statements 150000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def make_text(statements: int) -> str:
    """A migration with ``statements`` statements of mixed kinds (~70 bytes each), some non-ASCII."""
    lines = ["-- migrate:up"]
    for i in range(statements):
        kind = i % 4
        if kind == 0:
            lines.append(f"CREATE TABLE t_{i} (id bigint PRIMARY KEY, note text DEFAULT 'n{i}');")
        elif kind == 1:
            lines.append(f"INSERT INTO t_{i - 1} (id, note) VALUES ({i}, 'ünïcode {i}'); -- a comment")
        elif kind == 2:
            lines.append(f"CREATE INDEX t_{i - 2}_note_idx ON t_{i - 2} (note) WHERE id > {i};")
        else:
            lines.append(f"/* step {i} */ ALTER TABLE t_{i - 3} ADD COLUMN c_{i} integer NOT NULL DEFAULT 0;")
    return "\n".join(lines) + "\n"


def time_ours(text: str) -> tuple[float, int]:
    from pgwarden.sources import parse_migration_text

    started = time.perf_counter()
    parsed = parse_migration_text(text, path=Path("migrations/001_big.sql"), version="001", name="big")
    return time.perf_counter() - started, len(parsed.up.statements)


def time_floor(text: str) -> float:
    from pglast.parser import parse_sql_json

    started = time.perf_counter()
    parse_sql_json(text)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=150_000)
    args = parser.parse_args()
    for share in (4, 2, 1):
        count = args.statements // share
        text = make_text(count)
        ours, found = time_ours(text)
        floor = time_floor(text)
        assert found == count, (found, count)
        print(
            f"{count:>7} statements, {len(text.encode()) / 1e6:5.1f} MB: pgwarden {ours:6.2f} s "
            f"({ours / count * 1e6:5.1f} us/statement), libpg_query alone {floor:6.2f} s, ratio {ours / floor:4.1f}x"
        )
    print(f"goal: 150k statements / 10 MB under 5 s -> {'met' if ours < 5 else 'NOT met'} ({ours:.2f} s)")


if __name__ == "__main__":
    main()
