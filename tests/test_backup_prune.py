"""Retention: the pure policy over a synthetic calendar, and ``backup prune`` on fake backups in storage."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg

from pgwarden.backup import api
from pgwarden.backup.manifest import Manifest, Verification
from pgwarden.backup.retention import Candidate
from pgwarden.backup.settings import Keep
from pgwarden.backup.storage import MANIFEST, LocalStorage, manifest_bytes, write_private

LAST_DAY = date(2026, 11, 21)  # a Saturday, ISO week 47


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def calendar() -> list[Candidate]:
    """120 verified daily backups at 02:00 ending LAST_DAY, plus a few unverified and one failed."""
    out = [
        Candidate(f"d-{LAST_DAY - timedelta(days=i)}", at(LAST_DAY - timedelta(days=i), 2), "ok") for i in range(120)
    ]
    out += [
        Candidate("u1-newest", at(LAST_DAY, 10), "never"),
        Candidate("u2-newest", at(LAST_DAY, 11), "never"),
        Candidate("u3-sunday-late", at(date(2026, 11, 15), 23), "never"),
        Candidate("u4-august", at(date(2026, 8, 10), 5), "never"),
        Candidate("f1-failed", at(date(2026, 11, 20), 12), "failed"),
    ]
    return out


EXPECTED = {
    # daily = 7: the last seven days (a day's verified backup beats a newer unverified one)
    *(f"d-{LAST_DAY - timedelta(days=i)}" for i in range(7)),
    # weekly = 4: ISO weeks 47 (2026-11-21, already daily), 46 (Sunday 11-15), 45, 44
    "d-2026-11-08",
    "d-2026-11-01",
    # monthly = 12: every month with a backup (Nov already daily), back to July
    "d-2026-10-31",
    "d-2026-09-30",
    "d-2026-08-31",
    "d-2026-07-31",
    # never delete anything newer than the newest verified backup
    "u1-newest",
    "u2-newest",
}


def test_policy_over_synthetic_calendar() -> None:
    decisions = api.plan(calendar(), Keep(daily=7, weekly=4, monthly=12))
    kept = {d.id for d in decisions if d.keep}
    assert kept == EXPECTED
    reasons = {d.id: d.reasons for d in decisions}
    assert reasons["d-2026-11-21"] == [
        "newest verified",
        "daily 2026-11-21",
        "weekly 2026-W47",
        "monthly 2026-11",
    ]
    assert reasons["u2-newest"] == ["newer than the newest verified"]
    assert reasons["d-2026-11-15"] == ["daily 2026-11-15", "weekly 2026-W46"]
    assert reasons["d-2026-07-31"] == ["monthly 2026-07"]
    assert reasons["f1-failed"] == [] and reasons["u3-sunday-late"] == []
    assert [d.created_at for d in decisions] == sorted((d.created_at for d in decisions), reverse=True)


def test_policy_guards() -> None:
    nothing = Keep(daily=0, weekly=0, monthly=0)
    # the newest verified backup and anything newer survive even a keep-nothing policy
    backups = [
        Candidate("old", at(LAST_DAY, 1), "ok"),
        Candidate("good", at(LAST_DAY, 2), "ok"),
        Candidate("bad", at(LAST_DAY, 3), "failed"),
        Candidate("new", at(LAST_DAY, 4)),
    ]
    assert {d.id for d in api.plan(backups, nothing) if d.keep} == {"good", "bad", "new"}
    # without any verified backup nothing is deleted
    unverified = [Candidate(f"u{i}", at(LAST_DAY - timedelta(days=i), 2)) for i in range(10)]
    assert all(d.keep and d.reasons == ["no verified full backup yet"] for d in api.plan(unverified, nothing))
    # periods without backups do not count: after a pause the last daily slots still hold backups
    paused = [Candidate(f"p{i}", at(date(2025, 1, 1) + timedelta(days=i), 2), "ok") for i in range(10)]
    kept = {d.id for d in api.plan(paused, Keep(daily=3, weekly=0, monthly=0)) if d.keep}
    assert kept == {"p9", "p8", "p7"}


def fake_backup(storage: LocalStorage, candidate: Candidate) -> None:
    """A manifest-only backup in storage, as ``create`` would publish it."""
    staging = storage.stage("test", candidate.id)
    verification = (
        None
        if candidate.verified == "never"
        else Verification(candidate.verified == "ok", candidate.created_at + timedelta(minutes=5), 1.0, [])
    )
    manifest = Manifest(
        id=candidate.id,
        env="test",
        database="app",
        server_version="18.0",
        pg_dump={"path": "pg_dump", "version": "18.0", "source": "embedded"},
        format="custom",
        compression="gzip",
        started_at=candidate.created_at,
        finished_at=candidate.created_at + timedelta(minutes=1),
        size=0,
        files={},
        migration_version=None,
        tables=[],
        verification=verification,
    )
    write_private(staging.path / MANIFEST, manifest_bytes(manifest.to_dict()))
    storage.put(staging)


def test_prune_command_on_stored_calendar(project) -> None:  # type: ignore[no-untyped-def]
    storage = LocalStorage(project.root / "backups")
    for candidate in calendar():
        fake_backup(storage, candidate)
    leftover = project.root / "backups" / "test" / ".incomplete-20260101T000000Z-dead"
    leftover.mkdir()
    (leftover / "dump.pgdump").write_bytes(b"partial")

    dry = project.cli("backup", "prune", "--dry-run", check_exit=0).stdout
    assert "dry run" in dry and "newer than the newest verified" in dry and "monthly 2026-07" in dry
    assert len(storage.list("test")) == 125 and leftover.exists()

    doc = json.loads(project.cli("backup", "prune", "--json", check_exit=0).stdout)
    assert {d["id"] for d in doc["kept"]} == EXPECTED
    assert len(doc["deleted"]) == 125 - len(EXPECTED)
    assert doc["cleaned_incomplete"] == [leftover.name]
    on_disk = {p.name for p in (project.root / "backups" / "test").iterdir()}
    assert on_disk == EXPECTED
    with psycopg.connect(project.url, autocommit=True) as conn:
        row = conn.execute("SELECT details FROM pgwarden.events WHERE kind = 'prune'").fetchone()
    assert row is not None and len(row[0]["deleted"]) == 125 - len(EXPECTED)
    # a second run deletes nothing
    again = json.loads(project.cli("backup", "prune", "--json", check_exit=0).stdout)
    assert again["deleted"] == [] and Path(project.root / "backups" / "test").is_dir()
