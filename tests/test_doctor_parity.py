"""Dev/prod parity (extensions) and doctor run by a role that is not a superuser."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgwarden.doctor.parity import compare_extensions, embedded_extensions, extension_parity
from pgwarden.doctor.registry import all_checks
from pgwarden.doctor.runner import run_checks
from pgwarden.doctor.thresholds import resolve
from pgwarden.server import EmbeddedServer, database_url


def test_embedded_extensions_are_read_from_the_wheel() -> None:
    have = embedded_extensions()
    assert {"pg_stat_statements", "amcheck", "pgstattuple", "pg_trgm"} <= have
    assert not {"uuid-ossp", "pgcrypto", "pg_cron", "postgis"} & have


def test_a_target_using_uuid_ossp_is_named() -> None:
    target = [("plpgsql", True), ("uuid-ossp", True), ("pgcrypto", False), ("pg_trgm", True)]
    parity = compare_extensions(target)
    assert parity.installed_missing == ["uuid-ossp"]
    assert parity.available_missing == ["pgcrypto"]
    assert not parity.ok


def test_the_embedded_server_matches_itself(db: Any, db_url: str) -> None:
    db.execute("CREATE EXTENSION pg_trgm")
    assert extension_parity(db).ok
    report = run_checks(db_url, [all_checks()["extension_parity"]], resolve({}))
    assert report.checks[0].status == "ok"


@pytest.fixture
def plain_role_url(pg_server: EmbeddedServer, db: Any, db_url: str) -> Iterator[str]:
    """``db_url`` as a new role without superuser (nor pg_read_all_settings), dropped afterwards."""
    role = f"r_{uuid.uuid4().hex[:10]}"
    db.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    url = psycopg.conninfo.make_conninfo(database_url(db_url, db.info.dbname), user=role)
    yield url
    db.execute(sql.SQL("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s"), [role])
    db.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
    db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_doctor_as_a_plain_role_warns_with_setup_steps_instead_of_failing(plain_role_url: str) -> None:
    checks = list(all_checks().values())
    report = run_checks(plain_role_url, checks, resolve({}))
    slow = report.by_name("slow_queries")
    assert slow.status == "warn", slow
    assert "cannot read shared_preload_libraries" in slow.summary
    assert any("GRANT pg_read_all_settings, pg_read_all_stats TO" in step for step in slow.fix)
    errors = [(r.name, r.summary) for r in report.checks if r.status == "error"]
    assert not errors
    assert report.exit_code == 0
