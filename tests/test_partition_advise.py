"""partition advise on real tables: thresholds, key choice, interval within the thresholds, never a refused command."""

from __future__ import annotations

import json

from pgwarden.partition import api


def test_advise_picks_large_time_table_with_key_and_interval(project, db) -> None:
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
    result = api.advise(project.config(), None, thresholds=api.Thresholds(rows=20_000, monthly_rows=5_000))
    by_table = {a.table: a for a in result.advice}
    assert set(by_table) == {"public.events", "public.blobs"}
    events = by_table["public.events"]
    # 60k rows over ~5.5 months: ~10.9k a month; a quarter (~33k) would pass the 20k-row limit, a month fits
    assert events.key == "created_at" and events.interval == "1 month"
    assert any("rows" in r for r in events.reasons)
    assert 9_000 < (events.partition_rows or 0) < 13_000 and (events.partition_bytes or 0) > 0
    assert events.command == "pgwarden partition convert public.events --key created_at --interval '1 month'"
    blobs = by_table["public.blobs"]
    assert blobs.key == "id" and blobs.modulus == 4 and (blobs.partition_rows or 0) <= 20_000
    out = project.cli("partition", "advise", "--min-rows", "50000", "--json", check_exit=0)
    assert {a["table"] for a in json.loads(out.stdout)["advice"]} == {"public.events", "public.blobs"}
    human = project.cli("partition", "advise", check_exit=0)
    assert "no table needs partitioning" in human.stdout


def test_interval_keeps_each_partition_within_the_row_threshold(project, db) -> None:
    """~1.08k rows a month over a year past a 12k-row limit: a year (13k) is too big, a quarter fits."""
    db.execute("""
        CREATE TABLE logs (id bigint PRIMARY KEY, at timestamptz NOT NULL);
        INSERT INTO logs SELECT g, timestamptz '2025-01-01' + g * (interval '365 days' / 13000)
            FROM generate_series(1, 13000) g;
        ANALYZE logs;
    """)
    limits = api.Thresholds(rows=12_000, monthly_rows=1_000)
    logs = api.advise(project.config(), None, thresholds=limits).advice[0]
    assert logs.interval == "3 months" and (logs.partition_rows or 0) <= limits.rows
    assert logs.command and "--interval '3 months'" in logs.command


def test_never_recommends_a_refused_command(project, db) -> None:
    db.execute("""
        CREATE TABLE users (id bigint PRIMARY KEY, created_at timestamptz NOT NULL);
        INSERT INTO users SELECT g, timestamptz '2026-01-01' + g * interval '1 minute' FROM generate_series(1, 6000) g;
        CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));
        CREATE TABLE sessions (id bigint PRIMARY KEY, token text UNIQUE, expires_at timestamptz NOT NULL);
        INSERT INTO sessions SELECT g, md5(g::text), timestamptz '2026-01-01' + g * interval '1 minute'
            FROM generate_series(1, 6000) g;
        ANALYZE;
    """)
    result = api.advise(project.config(), None, thresholds=api.Thresholds(rows=5_000))
    by_table = {a.table: a for a in result.advice}
    users, sessions = by_table["public.users"], by_table["public.sessions"]
    assert users.command is None and any("foreign key orders_user_id_fkey" in b for b in users.blockers)
    assert sessions.command is None and any(
        "sessions_token_key (token)" in b and "--widen-unique" in b for b in sessions.blockers
    )
    out = project.cli("partition", "advise", "--min-rows", "5000", check_exit=0)
    assert "first:" in out.stdout and "orders_user_id_fkey" in out.stdout
    assert "pgwarden partition convert public.users" not in out.stdout


def test_thresholds_from_config_and_flags(project, db) -> None:
    project.write_config('[partition.thresholds]\nrows = 5000\nsize = "1GB"\n')
    limits = api.thresholds(project.config(), {"rows": None, "monthly_rows": 7})
    assert (limits.rows, limits.bytes, limits.monthly_rows) == (5000, 1024**3, 7)
    limits = api.thresholds(project.config(), {"rows": 9})
    assert limits.rows == 9
    project.write_config("[partition.thresholds]\nrowz = 5000\n")
    bad = project.cli("partition", "advise", check_exit=2)
    assert "partition.thresholds.rowz" in bad.stderr
    project.write_config("")
    assert "--size: 'lots'" in project.cli("partition", "advise", "--min-size", "lots", check_exit=2).stderr
