"""Archived partitions: detached first, dumped standalone, verified, recorded, dropped; brought back and re-attached."""

from __future__ import annotations

import json

import psycopg

from pgwarden.backup import api

METRICS = """
CREATE FUNCTION clamp_value() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.v := greatest(NEW.v, 0); RETURN NEW; END $$;
CREATE TABLE metrics_raw (at timestamptz NOT NULL, v int NOT NULL, tag text DEFAULT 'x') PARTITION BY RANGE (at);
CREATE INDEX metrics_raw_at ON metrics_raw (at);
CREATE TRIGGER metrics_clamp BEFORE INSERT ON metrics_raw FOR EACH ROW EXECUTE FUNCTION clamp_value();
"""


def partitions_config(**entry: object) -> str:
    body = "\n".join(f"{k} = {v!r}" if not isinstance(v, bool) else f"{k} = {str(v).lower()}" for k, v in entry.items())
    return f"\n[[partitions]]\n{body}\n".replace("'", '"')


def digest(db: psycopg.Connection, table: str) -> tuple[int, str]:
    row = db.execute(f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t").fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def test_archive_then_restore_archive_reattaches(project, db) -> None:  # type: ignore[no-untyped-def]
    db.execute(METRICS)
    db.execute(
        "CREATE TABLE metrics_raw_p2026_09 PARTITION OF metrics_raw "
        "FOR VALUES FROM ('2026-09-01 00:00+00') TO ('2026-10-01 00:00+00')"
    )
    db.execute(
        "CREATE TABLE metrics_raw_p2026_10 PARTITION OF metrics_raw "
        "FOR VALUES FROM ('2026-10-01 00:00+00') TO ('2026-11-01 00:00+00')"
    )
    config = project.config()
    db.execute(
        "INSERT INTO metrics_raw (at, v) SELECT '2026-09-03'::timestamptz + g * interval '1 minute', g - 5 "
        "FROM generate_series(1, 700) g"
    )
    before = digest(db, "metrics_raw_p2026_09")
    result = api.archive_partition(config, "test", "public", "metrics_raw_p2026_09")
    assert result.detached_concurrently and result.dropped and result.rows == 700
    assert db.execute("SELECT to_regclass('metrics_raw_p2026_09')").fetchone() == (None,)

    backups = api.list_backups(config, "test")
    archive = next(b for b in backups if b.kind == "archive")
    assert archive.verified == "ok"  # verified before the drop
    manifest = json.loads((project.root / "backups" / "test" / archive.id / "manifest.json").read_text())
    assert manifest["kind"] == "archive"
    assert manifest["archive"]["table"] == "metrics_raw_p2026_09" and manifest["archive"]["parent"] == "metrics_raw"
    assert manifest["archive"]["rows"] == 700
    assert manifest["archive"]["bounds"].startswith("FOR VALUES FROM ('2026-09-01")
    assert manifest["archive"]["parent_schema"] == "public"
    assert [t["name"] for t in manifest["tables"]] == ["metrics_raw_p2026_09"]

    pruned = api.prune(config, "test", dry_run=True)
    assert archive.id in {d.id for d in pruned.kept}

    # the archive comes back, attached with its bounds, rows identical
    done = project.cli("backup", "restore", "metrics_raw_p2026_09", "--archive", check_exit=0)
    assert "attached it to public.metrics_raw" in done.stdout
    assert digest(db, "metrics_raw_p2026_09") == before
    parent = db.execute(
        "SELECT inhparent::regclass::text FROM pg_inherits WHERE inhrelid = 'metrics_raw_p2026_09'::regclass"
    ).fetchone()
    assert parent == ("metrics_raw",)
    assert db.execute("SELECT count(*) FROM metrics_raw WHERE at < '2026-10-01'").fetchone() == (700,)
    again = project.cli("backup", "restore", "metrics_raw_p2026_09", "--archive")
    assert again.returncode == 2 and "already exists" in again.stderr


def test_archive_with_a_default_partition_detaches_plainly(project, db) -> None:  # type: ignore[no-untyped-def]
    db.execute("""
        CREATE TABLE events (id int NOT NULL, region text NOT NULL) PARTITION BY LIST (region);
        CREATE TABLE events_eu PARTITION OF events FOR VALUES IN ('eu');
        CREATE TABLE events_other PARTITION OF events DEFAULT;
        INSERT INTO events SELECT g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END FROM generate_series(1, 100) g;
    """)
    config = project.config()
    result = api.archive_partition(config, "test", "public", "events_eu")
    assert (result.rows, result.detached_concurrently, result.bounds) == (50, False, "FOR VALUES IN ('eu')")
    assert db.execute("SELECT count(*) FROM events").fetchone() == (50,)
    restored = api.restore_archive(config, "test", result.backup_id)
    assert restored.rows == 50 and restored.attached
    assert db.execute("SELECT count(*) FROM events").fetchone() == (100,)


def test_archiving_a_plain_table_is_refused(project, db) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from pgwarden.errors import BadInput

    db.execute("CREATE TABLE plain (id int)")
    with pytest.raises(BadInput, match="not an attached partition"):
        api.archive_partition(project.config(), "test", "public", "plain")
    assert db.execute("SELECT to_regclass('plain')").fetchone() == ("plain",)
