"""The dashboard's pure page helpers: the backup calendar, the lock tree, the trend series."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from pgwarden.agent.store import Snapshot
from pgwarden.backup.api import Candidate, Keep, plan
from pgwarden.serve.views import gfs_calendar, lock_tree, trends


def test_backup_calendar_starts_on_monday_and_marks_slots() -> None:
    taken = [
        Candidate("a", datetime(2026, 3, 2, 3, tzinfo=UTC), "ok"),
        Candidate("b", datetime(2026, 2, 20, 3, tzinfo=UTC), "ok"),
    ]
    days = gfs_calendar(plan(taken, Keep(daily=7, weekly=4, monthly=12)), date(2026, 3, 4))
    assert days[0].day == date(2026, 2, 2) and days[0].day.weekday() == 0 and days[-1].day == date(2026, 3, 4)
    marked = {d.day: (d.backups, d.slots) for d in days if d.backups}
    assert marked == {
        date(2026, 3, 2): (["a"], ["daily", "monthly", "weekly"]),
        date(2026, 2, 20): (["b"], ["daily", "monthly", "weekly"]),
    }


def test_lock_tree_puts_waiters_under_their_blockers() -> None:
    def blocker(pid: int, blocked: bool) -> dict[str, object]:
        return {"pid": pid, "state": "idle in transaction", "blocked": blocked, "query": f"q{pid}"}

    rows = [  # 30 holds the lock; 31 waits for 30; 32 waits for 31 and 30 (a lock queue)
        {
            "pid": 31,
            "query": "ALTER TABLE t ...",
            "waiting_seconds": 5.0,
            "blocked_by": [30],
            "blockers": [blocker(30, False)],
        },
        {
            "pid": 32,
            "query": "SELECT * FROM t",
            "waiting_seconds": 4.0,
            "blocked_by": [30, 31],
            "blockers": [blocker(30, False), blocker(31, True)],
        },
    ]
    tree = lock_tree(rows)
    assert [n.pid for n in tree] == [30] and tree[0].state == "idle in transaction"
    assert [c.pid for c in tree[0].children] == [31, 32]
    assert [c.pid for c in tree[0].children[0].children] == [32]
    assert lock_tree([]) == []
    cycle = lock_tree([{"pid": 1, "blocked_by": [2], "blockers": []}, {"pid": 2, "blocked_by": [1], "blockers": []}])
    assert [n.pid for n in cycle] == [1] and [c.pid for c in cycle[0].children] == [2]


def test_trend_series_follow_the_snapshots() -> None:
    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    snaps = [
        Snapshot(
            "prod",
            t0 + timedelta(hours=h),
            {
                "counts": {"ok": 10 - h, "warn": h},
                "metrics": {"pg_connections": 5 + h, "pg_heap_blocks_hit_total": 90, "pg_heap_blocks_read_total": 10},
                "tables": [{"table": "public.orders", "total_bytes": 1000 * (h + 1), "index_bytes": 100}],
            },
        )
        for h in range(3)
    ]
    series = trends(snaps)
    assert series["x"] == [int((t0 + timedelta(hours=h)).timestamp()) for h in range(3)]
    assert series["connections"] == [5, 6, 7] and series["cache_hit"] == [90.0, 90.0, 90.0]
    assert series["tables"] == {"public.orders": [1000, 2000, 3000]}
    assert series["indexes"] == {"public.orders": [100, 100, 100]}
    assert series["counts"]["warn"] == [0, 1, 2]
