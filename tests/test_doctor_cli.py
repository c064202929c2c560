"""`pgwarden doctor` and `pgwarden metrics` end to end: exit codes, JSON, config thresholds, project state."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from conftest import Project
from pgwarden.doctor.runner import run_doctor

Conn = psycopg.Connection[tuple[Any, ...]]


def _statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in doc["checks"]}


def test_doctor_exit_0_with_warnings_and_1_when_a_check_fails(project: Project, db: Conn) -> None:
    result = project.cli("doctor", "--json", check_exit=0)
    doc = json.loads(result.stdout)
    statuses = _statuses(doc)
    assert "fail" not in statuses.values() and "error" not in statuses.values()
    assert statuses["backup_age"] == "warn"  # no backup yet, not a protected environment
    assert doc["exit_code"] == 0 and doc["counts"]["ok"] >= 14
    assert {"name", "status", "summary", "why", "evidence", "fix"} <= set(doc["checks"][0])

    db.execute("CREATE TABLE t (v int)")
    db.execute("INSERT INTO t VALUES (1), (1)")
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("CREATE UNIQUE INDEX CONCURRENTLY t_v ON t (v)")
    result = project.cli("doctor", check_exit=1)
    assert "FAIL  invalid_indexes: 1 invalid index: public.t_v" in result.stdout
    assert 'fix: DROP INDEX CONCURRENTLY IF EXISTS "public"."t_v";' in result.stdout
    assert "0 error" in result.stdout


def test_check_option_runs_only_the_named_checks(project: Project) -> None:
    result = project.cli("doctor", "--check", "sequences", "--check", "wraparound", "--json", check_exit=0)
    assert [c["name"] for c in json.loads(result.stdout)["checks"]] == ["wraparound", "sequences"]
    bad = project.cli("doctor", "--check", "nope", check_exit=2)
    assert "--check nope: no such check" in bad.stderr
    listing = json.loads(project.cli("doctor", "--list", "--json", check_exit=0).stdout)
    assert len(listing["checks"]) == 20 and all(c["why"] for c in listing["checks"])
    assert {"name": "sequence_fail_pct", "unit": "percent", "default": 90, "check": "sequences"}.items() <= next(
        t for t in listing["thresholds"] if t["name"] == "sequence_fail_pct"
    ).items()


def test_thresholds_and_disabled_checks_come_from_config(project: Project) -> None:
    project.write_config(
        "[doctor]\nthresholds = { connections_warn_pct = 0, connections_fail_pct = 0 }\n"
        'checks_disabled = ["backup_age", "slow_queries"]\n'
    )
    result = project.cli("doctor", "--json", check_exit=1)
    statuses = _statuses(json.loads(result.stdout))
    assert statuses["connections"] == "fail"
    assert "backup_age" not in statuses and "slow_queries" not in statuses

    project.write_config('[doctor]\nthresholds = { idle_in_transaction = "1s" }\n')
    bad = project.cli("doctor", check_exit=2)
    assert "doctor.thresholds: idle_in_transaction: no such threshold" in bad.stderr
    project.write_config('[doctor]\nthresholds = { long_query_warn = "soon" }\n')
    assert "doctor.thresholds: long_query_warn: 'soon' is not a duration" in project.cli("doctor", check_exit=2).stderr
    project.write_config('[doctor]\nchecks_disabled = ["nope"]\n')
    assert "doctor.checks_disabled: no check named 'nope'" in project.cli("doctor", check_exit=2).stderr


def test_a_check_that_errors_is_reported_and_hides_nothing(project: Project, db: Conn, db_url: str) -> None:
    """The partitions check reads the default partition; behind an exclusive lock it errors after lock_timeout."""
    project.write_config(
        '[doctor]\nthresholds = { lock_timeout = "200ms" }\n'
        '[[partitions]]\ntable = "events"\nkey = "at"\ninterval = "1 month"\n'
    )
    db.execute("CREATE TABLE events (at timestamptz NOT NULL) PARTITION BY RANGE (at)")
    db.execute("CREATE TABLE events_default PARTITION OF events DEFAULT")
    with psycopg.connect(db_url, autocommit=False) as holder:
        holder.execute("LOCK TABLE events_default IN ACCESS EXCLUSIVE MODE")
        report = run_doctor(project.config())
        holder.rollback()
    partitions = report.by_name("partitions")
    assert partitions.status == "error"
    assert "could not get a lock within 0.2s" in partitions.summary
    assert report.exit_code == 1
    assert len(report.checks) == 20
    assert report.by_name("largest_tables").status == "ok"  # lock-free: never waits behind DDL
    assert report.by_name("sequences").status == "ok" and report.by_name("invalid_indexes").status == "ok"


def test_unreachable_database_exits_3(project: Project, tmp_path: Path) -> None:
    project.url = f"postgresql://postgres@/nowhere?host={tmp_path}&port=5432"
    project.write_config()
    result = project.cli("doctor", check_exit=3)
    assert "cannot connect" in result.stderr


def test_pending_migrations_warn_then_ok_after_up(project: Project) -> None:
    from pgwarden.migrations.api import up

    project.write_migration("001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY);", "DROP TABLE users;")
    pending = run_doctor(project.config(), checks=["pending_migrations"]).checks[0]
    assert pending.status == "warn" and pending.summary == "1 migration pending: 001"
    assert pending.fix == ["pgwarden migrate up --env test"]
    up(project.config())
    done = run_doctor(project.config(), checks=["pending_migrations"]).checks[0]
    assert (done.status, done.summary) == ("ok", "all 1 migration applied")
    project.write_migration("001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY, x int);", "DROP TABLE users;")
    changed = run_doctor(project.config(), checks=["pending_migrations"]).checks[0]
    assert changed.status == "fail" and "001 (changed)" in changed.summary


def _age_backup(project: Project, backup_id: str, days: float) -> None:
    """Make a real backup look ``days`` old by rewriting its manifest's timestamps."""
    path = project.root / "backups" / "test" / backup_id / "manifest.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    for key in ("started_at", "finished_at"):
        doc[key] = (datetime.fromisoformat(doc[key]) - timedelta(days=days)).isoformat()
    path.write_text(json.dumps(doc), encoding="utf-8")


def test_backup_age_against_policy_and_protection(project: Project, db: Conn) -> None:
    from pgwarden.backup.api import create, verify

    def backup_age() -> Any:
        return run_doctor(project.config(), checks=["backup_age"]).checks[0]

    none = backup_age()
    assert (none.status, none.summary) == ("warn", "no backup for environment test")
    assert none.fix[0] == "pgwarden backup create --env test"

    db.execute("CREATE TABLE kept (id int)")
    first = create(project.config(), None)
    unverified = backup_age()
    assert unverified.status == "warn" and "1 backup, none verified" in unverified.summary
    assert verify(project.config(), first.id).ok
    assert backup_age().status == "ok"

    _age_backup(project, first.id, 3)
    create(project.config(), None)  # newer but never verified: does not count
    old = backup_age()
    assert old.status == "warn"
    assert old.summary.startswith(f"newest verified backup {first.id} is 3.0d old (policy: at most 26.0h)")

    project.write_config(env_extra="protected = true\nallow_insecure = true")
    assert backup_age().status == "fail"

    project.write_config("[backup]\nkeep = { daily = 0, weekly = 4 }\n")
    weekly = backup_age()
    assert weekly.status == "ok" and "policy: at most 8.0d" in weekly.summary


def _month_start(moment: datetime, months_ahead: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months_ahead
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


# The doctor's clock, injected: the last second of a month, where a wall-clock test would flip periods.
CLOCK = datetime(2031, 1, 31, 23, 59, 59, tzinfo=UTC)


def _add_month(db: Conn, months_ahead: int) -> None:
    now = CLOCK
    lower, upper = _month_start(now, months_ahead), _month_start(now, months_ahead + 1)
    db.execute(
        f"CREATE TABLE events_m{months_ahead} PARTITION OF events "
        f"FOR VALUES FROM ('{lower:%Y-%m-%d}') TO ('{upper:%Y-%m-%d}')"
    )


def test_partitions_missing_for_current_and_next_period_and_default_rows(project: Project, db: Conn) -> None:
    project.write_config('[[partitions]]\ntable = "events"\nkey = "created_at"\ninterval = "1 month"\npremake = 1\n')
    db.execute("CREATE TABLE events (id bigint, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at)")

    def partitions() -> Any:
        return run_doctor(project.config(), checks=["partitions"], now=CLOCK).checks[0]

    none = partitions()
    assert none.status == "fail"
    assert "no partition for the current period" in none.summary
    assert none.fix[0] == "pgwarden partition maintain"
    assert any(f.startswith('CREATE TABLE "public"."events_p') and "PARTITION OF" in f for f in none.fix)

    _add_month(db, 0)
    current_only = partitions()
    assert current_only.status == "warn"
    assert "no partition for the +1 period" in current_only.summary

    _add_month(db, 1)
    assert partitions().status == "ok"

    db.execute("CREATE TABLE events_default PARTITION OF events DEFAULT")
    db.execute("INSERT INTO events VALUES (1, '2001-01-01')")
    stray = partitions()
    assert stray.status == "warn"
    assert "1 rows in the default partition events_default" in stray.summary


def test_metrics_prometheus_text(project: Project, db: Conn) -> None:
    db.execute("CREATE TABLE m (v int)")
    db.execute("INSERT INTO m VALUES (1), (1)")
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("CREATE UNIQUE INDEX CONCURRENTLY m_v ON m (v)")
    result = project.cli("metrics", "--with-checks", check_exit=0)
    lines = result.stdout.splitlines()
    database = db.info.dbname
    assert f'pgwarden_up{{database="{database}",env="test"}} 1' in lines
    assert f'pg_invalid_indexes{{database="{database}",env="test"}} 1' in lines
    assert "# TYPE pg_transactions_committed_total counter" in lines
    assert f'pgwarden_doctor_check_status{{database="{database}",env="test",check="invalid_indexes"}} 2' in lines
    samples = [line for line in lines if not line.startswith("#")]
    assert all(len(line.rsplit(" ", 1)) == 2 and float(line.rsplit(" ", 1)[1]) >= 0 for line in samples)


def test_metrics_and_lint_speak_json(project, db) -> None:  # type: ignore[no-untyped-def]
    import json

    metrics = json.loads(project.cli("metrics", "--json", check_exit=0).stdout)
    names = {m["name"] for m in metrics}
    assert any(name.startswith("pgwarden_") for name in names) and len(names) > 5
    project.write_migration("001_t.sql", "TRUNCATE orders;")  # a table the migrations did not create
    lint = project.cli("lint", "--json")
    doc = json.loads(lint.stdout)
    assert lint.returncode == 1 and doc["summary"]["errors"] >= 1
    assert any("truncate" in f["rule"] for f in doc["findings"])
