"""The event log survives an in-place restore: events from before are kept with their ids, ids are never reused."""

from __future__ import annotations

import psycopg

from pgwarden import events
from pgwarden.backup import api


def test_in_place_restore_keeps_the_event_log(project) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 10)")
        events.record(conn, "deploy", "001", "ok", {"note": "before the backup"})
    config = project.config()
    backup = api.create(config, "test")
    with psycopg.connect(project.url, autocommit=True) as conn:
        events.record(conn, "deploy", "002", "failed", {"note": "after the backup"})
        conn.execute("DELETE FROM t")
        before = [(e.id, e.kind, e.what, e.outcome) for e in events.read(conn)]
    assert [k for _, k, _, _ in before] == ["deploy", "backup", "deploy"]

    api.restore(config, backup.id, "test")

    with psycopg.connect(project.url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (10,)
        after = [(e.id, e.kind, e.what, e.outcome) for e in events.read(conn)]
        assert after[: len(before)] == before, "every event from before the restore is still there, same id"
        restore_event = after[len(before)]
        assert restore_event[1:] == ("restore", backup.id, "ok")
        assert restore_event[0] > max(i for i, *_ in before)
        newest = events.record(conn, "deploy", "003", "ok")
    assert newest.id > restore_event[0], "no id is reused after the restore"
