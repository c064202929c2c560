"""partition create / maintain / list on a real server: calendar boundaries, idempotence, retention, default rows."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import psycopg
import pytest

from pgwarden.errors import ConfigError
from pgwarden.partition import api

AUDIT = """
CREATE TABLE audit_logs (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL,
    action text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_audit_logs_user ON audit_logs (user_id);
"""


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def names(db: psycopg.Connection, table: str) -> list[str]:
    rows = db.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass ORDER BY 1",
        [table],
    ).fetchall()
    return [r[0] for r in rows]


def partitions_config(**entry: object) -> str:
    body = "\n".join(f"{k} = {v!r}" if not isinstance(v, bool) else f"{k} = {str(v).lower()}" for k, v in entry.items())
    return f"\n[[partitions]]\n{body}\n".replace("'", '"')


def test_create_then_maintain_across_month_and_year_boundaries(project, db) -> None:

    db.execute(AUDIT)
    project.write_config(
        partitions_config(
            table="audit_logs",
            key="created_at",
            interval="1 month",
            premake=2,
            retention="3 months",
            retention_mode="drop",
        )
    )
    config = project.config()
    result = api.create(config, None, api.layout(config, "audit_logs"), now=utc(2026, 11, 15))
    assert result.partitions == ["audit_logs_p2026_11", "audit_logs_p2026_12", "audit_logs_p2027_01"]
    assert [(c.before, c.after) for c in result.key_changes] == [(["id"], ["id", "created_at"])]
    assert names(db, "audit_logs") == result.partitions
    pk = db.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'audit_logs'::regclass AND contype = 'p'"
    ).fetchone()[0]
    assert pk == "PRIMARY KEY (id, created_at)"
    # the index is declared on the parent and the sequence still feeds the id
    assert (
        db.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'audit_logs' AND indexname = 'idx_audit_logs_user'"
        ).fetchone()[0]
        == 1
    )
    db.execute("INSERT INTO audit_logs (user_id, action, created_at) VALUES (1, 'x', '2026-11-20')")
    assert db.execute("SELECT id FROM audit_logs").fetchone()[0] == 1

    first = api.maintain(config, None, api.MaintainOptions(now=utc(2026, 12, 31, 23)))
    assert first.tables[0].created == ["audit_logs_p2027_02"]
    crossed = api.maintain(config, None, api.MaintainOptions(now=utc(2027, 1, 1, 0, 30)))
    assert crossed.tables[0].created == ["audit_logs_p2027_03"]
    again = api.maintain(config, None, api.MaintainOptions(now=utc(2027, 1, 1, 0, 30)))
    assert not again.tables[0].changed
    # retention 3 months at 2027-03-05: cutoff 2026-12-05, only November (upper bound Dec 1) has expired;
    # maintain last ran on Jan 1 (premake 2: up to March), so nothing is missing in between
    retained = api.maintain(config, None, api.MaintainOptions(now=utc(2027, 3, 5)))
    assert retained.tables[0].created == ["audit_logs_p2027_04", "audit_logs_p2027_05"]
    assert retained.tables[0].detached == ["audit_logs_p2026_11"]
    assert retained.tables[0].dropped == ["audit_logs_p2026_11"]
    assert db.execute("SELECT to_regclass('audit_logs_p2026_11')").fetchone()[0] is None
    assert "audit_logs_p2026_12" in names(db, "audit_logs")
    kinds = db.execute("SELECT kind, outcome FROM pgwarden.events WHERE kind LIKE 'partition.%'").fetchall()
    assert ("partition.create", "ok") in kinds and ("partition.maintain", "ok") in kinds


@pytest.mark.parametrize(
    ("interval", "now", "expected"),
    [
        ("1 week", utc(2026, 12, 30), ["events_p2026w53", "events_p2027w01"]),
        ("1 day", utc(2026, 12, 31, 23, 59), ["events_p2026_12_31", "events_p2027_01_01"]),
        ("1 year", utc(2026, 12, 31), ["events_p2026", "events_p2027"]),
    ],
)
def test_naming_for_each_interval_at_the_year_boundary(project, db, interval, now, expected) -> None:

    db.execute("CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at date NOT NULL)")
    config = project.config()
    layout = api.layout(config, "events", api.LayoutOptions(key="at", interval=interval, premake=1))
    result = api.create(config, None, layout, now=now)
    assert result.partitions == expected == names(db, "events")
    db.execute("INSERT INTO events (at) VALUES (%s)", [now.date()])
    assert db.execute("SELECT id FROM events").fetchone()[0] == 1


def test_rows_in_default_partition_move_to_their_partitions(project, db) -> None:

    db.execute("""
        CREATE TABLE metrics (id bigint NOT NULL, at timestamptz NOT NULL, v int, PRIMARY KEY (id, at))
            PARTITION BY RANGE (at);
        CREATE TABLE metrics_p2026_11 PARTITION OF metrics
            FOR VALUES FROM ('2026-11-01 00:00+00') TO ('2026-12-01 00:00+00');
        CREATE TABLE metrics_default PARTITION OF metrics DEFAULT;
        INSERT INTO metrics SELECT g, timestamptz '2026-09-10 00:00+00' + g * interval '1 minute', g
            FROM generate_series(1, 3000) g;                  -- September and into the 12th
        INSERT INTO metrics SELECT 10000 + g, timestamptz '2027-01-05 00:00+00', g FROM generate_series(1, 500) g;
    """)
    before = db.execute("SELECT count(*), sum(v) FROM metrics").fetchone()
    project.write_config(
        partitions_config(table="metrics", key="at", interval="1 month", premake=1, default_partition=True)
    )
    result = api.maintain(project.config(), None, api.MaintainOptions(now=utc(2026, 11, 22), batch=700))
    done = result.tables[0]
    assert not done.problems
    assert done.moved_rows == {"metrics_p2026_09": 3000, "metrics_p2027_01": 500}
    assert sorted(done.created) == ["metrics_p2026_09", "metrics_p2026_12", "metrics_p2027_01"]
    assert db.execute("SELECT count(*) FROM metrics_default").fetchone()[0] == 0
    assert db.execute("SELECT count(*), sum(v) FROM metrics").fetchone() == before
    assert db.execute("SELECT count(*) FROM metrics_p2026_09").fetchone()[0] == 3000
    # the bound-check helper is gone and the partitions are real ones
    assert db.execute("SELECT count(*) FROM pg_constraint WHERE conname LIKE '%\\_bounds'").fetchone()[0] == 0
    assert not api.maintain(project.config(), None, api.MaintainOptions(now=utc(2026, 11, 22))).tables[0].changed


def test_maintain_fills_the_holes_of_missed_runs(project, db) -> None:

    db.execute("CREATE TABLE h (at timestamptz NOT NULL) PARTITION BY RANGE (at)")
    project.write_config(partitions_config(table="h", key="at", interval="1 month", premake=0))
    config = project.config()
    api.maintain(config, None, api.MaintainOptions(now=utc(2026, 9, 10)))
    # cron was down since September
    result = api.maintain(config, None, api.MaintainOptions(now=utc(2027, 1, 3))).tables[0]
    assert result.created == ["h_p2026_10", "h_p2026_11", "h_p2026_12", "h_p2027_01"]
    assert api.list_partitions(config, None, "h").ok


def test_retention_with_default_partition_detaches_exactly_the_expired(project, db) -> None:

    db.execute("""
        CREATE TABLE logs (at timestamptz NOT NULL, msg text) PARTITION BY RANGE (at);
        CREATE TABLE logs_default PARTITION OF logs DEFAULT;
    """)
    project.write_config(
        partitions_config(
            table="logs", key="at", interval="1 month", premake=0, retention="2 months", default_partition=True
        )
    )
    config = project.config()
    for month in (6, 7, 8, 9, 10, 11):
        api.maintain(config, None, api.MaintainOptions(now=utc(2026, month, 3)))
    db.execute("INSERT INTO logs VALUES ('2026-08-15', 'kept?')")
    result = api.maintain(config, None, api.MaintainOptions(now=utc(2026, 11, 22))).tables[0]
    # cutoff 2026-09-22: June, July and August end before it
    assert result.detached == []  # already detached by the earlier monthly runs
    left = names(db, "logs")
    assert left == ["logs_default", "logs_p2026_09", "logs_p2026_10", "logs_p2026_11"]
    for gone in ("logs_p2026_06", "logs_p2026_07", "logs_p2026_08"):  # detach mode keeps the table, detached
        assert db.execute("SELECT to_regclass(%s) IS NOT NULL", [gone]).fetchone()[0]
    # the late August row went to the default partition (August is gone) and stays there, not lost
    assert db.execute("SELECT count(*) FROM logs_default").fetchone()[0] == 1


def test_retention_without_default_uses_detach_concurrently_and_finalizes_pending(project, db) -> None:

    db.execute("CREATE TABLE t (at date NOT NULL) PARTITION BY RANGE (at)")
    project.write_config(partitions_config(table="t", key="at", interval="1 day", premake=3, retention="2 days"))
    config = project.config()
    api.maintain(config, None, api.MaintainOptions(now=utc(2026, 11, 20)))
    assert names(db, "t") == ["t_p2026_11_20", "t_p2026_11_21", "t_p2026_11_22", "t_p2026_11_23"]
    result = api.maintain(config, None, api.MaintainOptions(now=utc(2026, 11, 23, 12))).tables[0]
    assert result.detached == ["t_p2026_11_20"]  # cutoff 11-21 12:00: only the 20th ends before it
    assert result.created == ["t_p2026_11_24", "t_p2026_11_25", "t_p2026_11_26"]
    detached = db.execute("SELECT relispartition FROM pg_class WHERE relname = 't_p2026_11_20'").fetchone()[0]
    assert detached is False


def test_two_maintain_runs_at_once_are_serialised(project, db) -> None:

    db.execute("CREATE TABLE t (at timestamptz NOT NULL) PARTITION BY RANGE (at)")
    project.write_config(partitions_config(table="t", key="at", interval="1 week", premake=6))
    config = project.config()
    results, errors = [], []

    def run() -> None:
        try:
            results.append(api.maintain(config, None, api.MaintainOptions(now=utc(2026, 11, 22))))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    created = sorted(len(r.tables[0].created) for r in results)
    assert created == [0, 7]
    assert len(names(db, "t")) == 7


def test_list_flags_gaps_and_cli_exit_code(project, db) -> None:
    db.execute("""
        CREATE TABLE g (at timestamptz NOT NULL) PARTITION BY RANGE (at);
        CREATE TABLE g_p2026_01 PARTITION OF g FOR VALUES FROM ('2026-01-01 00:00+00') TO ('2026-02-01 00:00+00');
        CREATE TABLE g_p2026_03 PARTITION OF g FOR VALUES FROM ('2026-03-01 00:00+00') TO ('2026-04-01 00:00+00');
        INSERT INTO g VALUES ('2026-01-05'), ('2026-03-05'), ('2026-03-06');
    """)

    result = api.list_partitions(project.config(), None, "g")
    assert result.gaps == [(utc(2026, 2, 1), utc(2026, 3, 1))]
    assert [p.rows for p in result.partitions] == [1, 2]
    out = project.cli("partition", "list", "g", check_exit=1)
    assert "gap after" in out.stdout and "g_p2026_03" in out.stdout
    js = project.cli("partition", "list", "g", "--json", check_exit=1)
    assert '"gaps"' in js.stdout


def test_bad_interval_names_the_key(project) -> None:
    project.write_config(partitions_config(table="x", key="at", interval="2 months"))
    with pytest.raises(ConfigError, match=r"partitions\[0\]\.interval"):
        project.config()


def test_archive_mode_backs_up_then_drops(project, db) -> None:
    """Archive retention goes through backup's archive_partition: detached first, dumped, verified, dropped."""
    from pgwarden.backup.api import find_archive

    db.execute("CREATE TABLE a (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at)")
    project.write_config(
        partitions_config(
            table="a", key="at", interval="1 month", premake=0, retention="1 month", retention_mode="archive"
        )
    )
    config = project.config()
    api.maintain(config, None, api.MaintainOptions(now=utc(2026, 9, 2)))
    db.execute("INSERT INTO a SELECT '2026-09-03', g FROM generate_series(1, 100) g")
    result = api.maintain(config, None, api.MaintainOptions(now=utc(2026, 11, 22))).tables[0]
    assert result.dropped == ["a_p2026_09"] and set(result.archived) == {"a_p2026_09"}
    assert db.execute("SELECT to_regclass('a_p2026_09')").fetchone()[0] is None
    dumps = list((project.root / "backups").rglob("*.pgdump"))
    assert dumps, "the archive must be a backup file in the backup dir"
    manifest = find_archive(config, None, "public.a_p2026_09")
    assert manifest.kind == "archive" and manifest.id == result.archived["a_p2026_09"]


def test_create_hash_and_refuse_a_table_with_rows(project, db) -> None:
    db.execute("""
        CREATE TABLE chat_sessions (id bigserial PRIMARY KEY, client_id uuid NOT NULL, title text,
                                    created_at timestamptz DEFAULT now());
        CREATE TABLE full_table (id int PRIMARY KEY, at timestamptz NOT NULL);
        INSERT INTO full_table VALUES (1, now());
    """)
    out = project.cli(
        "partition", "create", "chat_sessions", "--apply", "--key", "client_id", "--modulus", "4", check_exit=0
    )
    assert "id, client_id" in out.stderr  # the primary key was extended and the user told
    assert names(db, "chat_sessions") == [f"chat_sessions_h{i}" for i in range(4)]
    db.execute("INSERT INTO chat_sessions (client_id) SELECT gen_random_uuid() FROM generate_series(1, 100)")
    assert db.execute("SELECT count(DISTINCT tableoid) FROM chat_sessions").fetchone()[0] == 4
    refused = project.cli(
        "partition", "create", "full_table", "--apply", "--key", "at", "--interval", "1 month", check_exit=5
    )
    assert "partition convert" in refused.stderr
    assert db.execute("SELECT relkind FROM pg_class WHERE relname = 'full_table'").fetchone()[0] == "r"


def test_first_run_with_a_start_far_in_the_past_and_retention_is_final(project, db) -> None:
    """Newest partition in January 2025, now November 2026, 6 months retention: one run, final state."""
    db.execute("""
        CREATE TABLE r (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at);
        CREATE TABLE r_p2025_01 PARTITION OF r FOR VALUES FROM ('2025-01-01 00:00+00') TO ('2025-02-01 00:00+00');
    """)
    project.write_config(
        partitions_config(
            table="r", key="at", interval="1 month", premake=2, past=1, retention="6 months", retention_mode="drop"
        )
    )
    config = project.config()
    first = api.maintain(config, None, api.MaintainOptions(now=utc(2026, 11, 22))).tables[0]
    # nothing created that retention removes: May 2026 (cutoff) .. January 2027 (premake 2)
    assert first.created == [f"r_p2026_{m:02d}" for m in range(5, 13)] + ["r_p2027_01"]
    assert first.dropped == ["r_p2025_01"] and not first.problems
    assert names(db, "r") == first.created
    assert db.execute("SELECT count(*) FROM pg_class WHERE relname ~ '^r_p' AND NOT relispartition").fetchone()[0] == 0
    second = api.maintain(config, None, api.MaintainOptions(now=utc(2026, 11, 22))).tables[0]
    assert not second.changed and not second.problems


def test_past_premake_and_quarters(project, db) -> None:
    db.execute("CREATE TABLE q (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at date NOT NULL)")
    project.write_config(partitions_config(table="q", key="at", interval="1 quarter", premake=1, past=2))
    config = project.config()
    result = api.create(config, None, api.layout(config, "q"), now=utc(2026, 11, 22))
    assert result.partitions == ["q_p2026q2", "q_p2026q3", "q_p2026q4", "q_p2027q1"]
    db.execute("INSERT INTO q (at) VALUES ('2026-04-01'), ('2027-03-31')")  # back-dated and ahead both land
    assert not api.maintain(config, None, api.MaintainOptions(now=utc(2026, 11, 22))).tables[0].changed
    later = api.maintain(config, None, api.MaintainOptions(now=utc(2027, 2, 1))).tables[0]
    assert later.created == ["q_p2027q2"]


def test_maintain_without_entries_says_so(project, db) -> None:
    out = project.cli("partition", "maintain", check_exit=0)
    assert "no [[partitions]] entries" in out.stdout
    assert api.maintain(project.config(), None).tables == []
