"""The agent's timing rules without a database: missed-run policy, next run, history and snapshot bounds,
and the validation of ``[agent]`` / ``[[schedule]]``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pgwarden.agent.cron import due_slots, interval, next_slot
from pgwarden.agent.store import Store
from pgwarden.errors import ConfigError

UTCZ = ZoneInfo("UTC")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_skip_policy_runs_once_after_a_long_gap_and_catch_up_is_bounded() -> None:
    assert due_slots("0 * * * *", UTCZ, T0, None) == [T0]  # never ran: the newest slot, once
    assert due_slots("0 * * * *", UTCZ, T0 + timedelta(minutes=59), T0) == []
    later = T0 + timedelta(days=14, minutes=5)
    assert due_slots("0 * * * *", UTCZ, later, T0) == [T0 + timedelta(days=14)]
    caught = due_slots("0 * * * *", UTCZ, later, T0, catch_up=3)
    assert caught == [T0 + timedelta(days=14, hours=-2), T0 + timedelta(days=14, hours=-1), T0 + timedelta(days=14)]


def test_cron_is_read_in_the_configured_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert next_slot("0 3 * * *", berlin, T0) == datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # 03:00 CET
    assert next_slot("0 3 * * *", berlin, datetime(2026, 7, 1, tzinfo=UTC)) == datetime(2026, 7, 1, 1, 0, tzinfo=UTC)
    assert interval("*/15 * * * *", UTCZ, T0) == timedelta(minutes=15)


def test_history_and_snapshots_stay_bounded(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store(tmp_path / "agent.sqlite3")
    for hour in range(30):
        slot = T0 + timedelta(hours=hour)
        run_id = store.claim("s", "prune", "prod", slot, slot, "me")
        assert run_id is not None and store.claim("s", "prune", "prod", slot, slot, "other") is None
        store.finish(run_id, "ok", slot, "done", {})
        store.add_snapshot("prod", slot, {"counts": {"ok": hour}})
    yearly = store.claim("yearly", "backup", "prod", T0 - timedelta(days=300), T0 - timedelta(days=300), "me")
    assert yearly is not None
    store.finish(yearly, "ok", T0 - timedelta(days=300), "done", {})
    deleted = store.prune(T0 + timedelta(hours=30), history_days=1, history_runs=10, snapshots_days=1, snapshots_max=12)
    runs = store.runs(limit=1000)
    assert len([r for r in runs if r.schedule == "s"]) == 10
    assert [r.schedule for r in runs].count("yearly") == 1  # the newest run of a schedule always stays
    assert store.last_slot("s") == T0 + timedelta(hours=29)
    assert len(store.snapshots("prod")) == 12 and deleted == 20 + 18


def test_schedule_errors_name_the_key(project) -> None:  # type: ignore[no-untyped-def]
    from pgwarden.agent.settings import load

    cases = {
        '[[schedule]]\ntask = "backup"\nenv = "nope"\ncron = "0 3 * * *"\n': "schedule[0].env",
        '[[schedule]]\ntask = "backup"\nenv = "test"\ncron = "61 3 * * *"\n': "schedule[0].cron",
        '[[schedule]]\ntask = "vacuum"\nenv = "test"\ncron = "0 3 * * *"\n': "schedule[0].task",
        '[agent]\ntimezone = "Mars/Olympus"\n': "agent.timezone",
        '[[schedule]]\ntask = "backup"\nenv = "test"\ncron = "0 3 * * *"\ncatch-up = -1\n': "schedule[0].catch-up",
    }
    for text, key in cases.items():
        project.write_config(text)
        with pytest.raises(ConfigError) as caught:
            load(project.config())
        assert key in caught.value.message, caught.value.message
    result = project.cli("agent", "--once")
    assert result.returncode == 2 and "schedule[0].catch-up" in result.stderr and "Traceback" not in result.stderr


def test_notification_never_carries_a_password() -> None:
    from pgwarden.agent.notify import Notification

    note = Notification(
        "failure",
        "backup@prod 0 3 * * *",
        "backup",
        "prod",
        "cannot connect to postgresql://app:hunter2-secret@db.internal/app",
        T0,
    )
    body = note.payload()
    assert "hunter2-secret" not in str(body) and body["text"].startswith(":red_circle: pgwarden agent: backup on prod")
    assert body["kind"] == "failure" and body["at"] == T0.isoformat()
