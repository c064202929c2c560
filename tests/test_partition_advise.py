"""partition advise on real tables: thresholds, key choice, interval and projected partition sizes."""

from __future__ import annotations

import json


def test_advise_picks_large_time_table_with_key_and_interval(project, db) -> None:
    from pgwarden.partition.advise import Thresholds, advise

    db.execute("""
        CREATE TABLE events (id bigserial PRIMARY KEY, kind text, updated_at timestamptz,
                             created_at timestamptz NOT NULL);
        INSERT INTO events (kind, updated_at, created_at)
            SELECT 'k', now(), timestamptz '2026-01-01' + g * interval '4 minutes' FROM generate_series(1, 60000) g;
        CREATE TABLE small (id int PRIMARY KEY, at timestamptz);
        INSERT INTO small SELECT g, now() FROM generate_series(1, 100) g;
        CREATE TABLE blobs (id bigint PRIMARY KEY, body text);
        INSERT INTO blobs SELECT g, 'x' FROM generate_series(1, 60000) g;
        ANALYZE;
    """)
    result = advise(project.config(), None, thresholds=Thresholds(rows=50_000, monthly_rows=5_000,
                                                                  max_partition_rows=20_000))
    by_table = {a.table: a for a in result.advice}
    assert set(by_table) == {"public.events", "public.blobs"}
    events = by_table["public.events"]
    assert events.key == "created_at" and events.interval == "1 month"
    assert any("rows" in r for r in events.reasons)
    # 60k rows over ~5.5 months: ~10.9k a month, so a month is ~10.9k rows
    assert 9_000 < (events.partition_rows or 0) < 13_000 and (events.partition_bytes or 0) > 0
    assert events.command == "pgwarden partition convert public.events --key created_at --interval '1 month'"
    blobs = by_table["public.blobs"]
    assert blobs.key == "id" and blobs.modulus and blobs.modulus >= 4
    out = project.cli("partition", "advise", "--min-rows", "50000", "--json", check_exit=0)
    assert {a["table"] for a in json.loads(out.stdout)["advice"]} == {"public.events", "public.blobs"}
    human = project.cli("partition", "advise", check_exit=0)
    assert "no table needs partitioning" in human.stdout
