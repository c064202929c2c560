"""Backups end to end on the session server: create, list, verify, restore (new database and in place)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pgwarden.backup import api
from pgwarden.server import database_url

SCHEMA = """
CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                        name text NOT NULL,
                        email text UNIQUE);
CREATE TABLE orders (id serial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id),
                     total numeric(10, 2) NOT NULL, note text);
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE SCHEMA billing;
CREATE TABLE billing."Invoices" (id int PRIMARY KEY, amount int NOT NULL, data jsonb);
INSERT INTO customers (name, email)
  SELECT 'c' || g, 'c' || g || '@example.com' FROM generate_series(1, 300) g;
INSERT INTO orders (customer_id, total, note)
  SELECT 1 + g % 300, (g * 1.25)::numeric(10, 2), CASE WHEN g % 7 = 0 THEN NULL ELSE repeat('x', g % 50) END
  FROM generate_series(1, 2000) g;
INSERT INTO billing."Invoices" SELECT g, g * 10, jsonb_build_object('g', g) FROM generate_series(1, 50) g;
"""


def fill(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)


def table_digests(url: str) -> dict[str, tuple[int, str]]:
    """Row count and md5 of the ordered rows of every user table (pgwarden's own schema excluded)."""
    out: dict[str, tuple[int, str]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN "
            "('pg_catalog', 'information_schema', 'pgwarden') ORDER BY 1, 2"
        ).fetchall()
        for schema, name in tables:
            ident = sql.Identifier(schema, name)
            row = conn.execute(
                sql.SQL(
                    "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {} t"
                ).format(ident)
            ).fetchone()
            assert row is not None
            out[f"{schema}.{name}"] = (row[0], row[1])
    return out


def test_round_trip_create_verify_restore_into_new_database(project, pg_server) -> None:  # type: ignore[no-untyped-def]
    fill(project.url)
    before = table_digests(project.url)
    config = project.config()

    seen: list[api.DumpProgress] = []
    result = api.create(config, "test", progress=seen.append)
    assert Path(result.location).is_dir() and Path(result.location).name == result.id
    assert seen[-1].tables_done == seen[-1].tables_total == 3 and seen[-1].bytes_written == result.manifest.size
    manifest = json.loads((Path(result.location) / "manifest.json").read_text())
    assert manifest["env"] == "test" and manifest["format"] == "custom"
    assert manifest["compression"] == "gzip"  # the wheel's pg_dump has no zstd/lz4
    assert manifest["pg_dump"]["source"] in ("embedded", "system")
    assert manifest["server_version"].startswith("18")
    counts = {f"{t['schema']}.{t['name']}": (t["rows"], t["exact"]) for t in manifest["tables"]}
    assert counts["public.customers"] == (300, True)
    assert counts["public.orders"] == (2000, True)
    assert counts["billing.Invoices"] == (50, True)
    assert set(manifest["files"]) == {"dump.pgdump"}
    # owner-only permissions on the folder and every file
    assert stat.S_IMODE(Path(result.location).stat().st_mode) == 0o700
    for item in Path(result.location).iterdir():
        assert stat.S_IMODE(item.stat().st_mode) == 0o600, item

    listed = api.list_backups(config, "test")
    assert [b.id for b in listed] == [result.id] and listed[0].verified == "never"

    verified = api.verify(config, result.id)
    assert verified.ok, verified.problems
    assert {f"{t.schema}.{t.name}": t.actual for t in verified.tables}["public.orders"] == 2000
    saved = json.loads((Path(result.location) / "manifest.json").read_text())["verification"]
    assert saved["ok"] is True and saved["at"]
    assert api.list_backups(config, "test")[0].verified == "ok"

    restored = api.restore(config, result.id, "test", target_db=f"restored_{result.id[-4:]}")
    new_url = database_url(project.url, restored.target_db or "")
    try:
        assert table_digests(new_url) == before
        with psycopg.connect(new_url, autocommit=True) as conn:  # indexes and identity came back too
            assert conn.execute("SELECT to_regclass('orders_customer_idx') IS NOT NULL").fetchone() == (True,)
            conn.execute("INSERT INTO customers (name) VALUES ('new')")
            assert conn.execute("SELECT max(id) FROM customers").fetchone() == (301,)
            events = conn.execute("SELECT kind, outcome FROM pgwarden.events ORDER BY id").fetchall()
        assert ("restore", "ok") in events
    finally:
        with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(restored.target_db or ""))
            )
    with psycopg.connect(project.url, autocommit=True) as conn:
        assert ("backup", "ok") in conn.execute("SELECT kind, outcome FROM pgwarden.events").fetchall()


def test_restore_in_place_and_single_table(project) -> None:  # type: ignore[no-untyped-def]
    fill(project.url)
    before = table_digests(project.url)
    config = project.config()
    backup = api.create(config, "test")
    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute("DELETE FROM orders WHERE id > 100")
        conn.execute('DROP TABLE billing."Invoices"')
    api.restore(config, backup.id, "test")
    assert table_digests(project.url) == before

    # a table dropped by mistake comes back alone, with its index, while others stay as they are
    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute("DROP TABLE orders")
        conn.execute("INSERT INTO customers (name) VALUES ('after backup')")
    result = api.restore(config, backup.id, "test", tables=["orders"])
    assert result.tables == ["orders"]
    after = table_digests(project.url)
    assert after["public.orders"] == before["public.orders"]
    assert after["public.customers"][0] == 301
    with psycopg.connect(project.url, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('orders_customer_idx') IS NOT NULL").fetchone() == (True,)
        fk = conn.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'f'"
        ).fetchone()
        assert fk == (1,)


def test_directory_format_with_jobs_round_trips(project) -> None:  # type: ignore[no-untyped-def]
    fill(project.url)
    config = project.config()
    seen: list[api.DumpProgress] = []
    result = api.create(config, "test", format="directory", jobs=2, compress="none", progress=seen.append)
    assert seen[-1].tables_done == seen[-1].tables_total == 3
    assert (Path(result.location) / "dump" / "toc.dat").is_file()
    assert any(name.startswith("dump/") and name.endswith(".dat") for name in result.manifest.files)
    assert result.manifest.compression == "none"
    verified = api.verify(config, result.id, "test")
    assert verified.ok, verified.problems


def test_cli_create_list_verify_json(project) -> None:  # type: ignore[no-untyped-def]
    fill(project.url)
    created = json.loads(project.cli("backup", "create", "--json", check_exit=0).stdout)
    assert created["env"] == "test" and created["manifest"]["migration_version"] is None
    listed = json.loads(project.cli("backup", "list", "--json", check_exit=0).stdout)
    assert [b["id"] for b in listed] == [created["id"]]
    out = project.cli("backup", "verify", created["id"], check_exit=0)
    assert "verified" in out.stdout
    human = project.cli("backup", "list", check_exit=0).stdout
    assert created["id"] in human and "ok" in human


def test_unsupported_compression_is_exit_2(project) -> None:  # type: ignore[no-untyped-def]
    from pgwarden.backup.runner import probe_compressions
    from pgwarden.server import bin_dir

    if "zstd" in probe_compressions(bin_dir() / "pg_dump"):
        pytest.skip("this pg_dump supports zstd")
    result = project.cli("backup", "create", "--compress", "zstd", check_exit=2)
    assert "zstd" in result.stderr and "Traceback" not in result.stderr
    assert not (project.root / "backups" / "test").exists() or not any(
        p for p in (project.root / "backups" / "test").iterdir() if not p.name.startswith(".")
    )


def test_migration_version_recorded(project) -> None:  # type: ignore[no-untyped-def]
    project.write_migration("001_t.sql", "CREATE TABLE t (id int);", "DROP TABLE t;")
    project.cli("migrate", "up", check_exit=0)
    result = api.create(project.config(), "test")
    assert result.manifest.migration_version == "001"
    assert (Path(result.location) / "manifest.json").read_text().count('"migration_version": "001"') == 1


def test_large_tables_get_estimates_and_partitions_count_their_rows(project) -> None:  # type: ignore[no-untyped-def]
    project.write_config(extra='[backup]\nexact_count_max_size = "64kB"\n')
    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE big (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO big SELECT g, repeat('v', 100) FROM generate_series(1, 5000) g")
        conn.execute("ANALYZE big")
        conn.execute("CREATE TABLE ev (id int, at date NOT NULL) PARTITION BY RANGE (at)")
        conn.execute("CREATE TABLE ev_2025 PARTITION OF ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')")
        conn.execute("CREATE TABLE ev_2026 PARTITION OF ev FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')")
        conn.execute("INSERT INTO ev SELECT g, date '2025-06-01' + g * 10 FROM generate_series(1, 30) g")
    config = project.config()
    result = api.create(config, "test")
    tables = {t.qualified: t for t in result.manifest.tables}
    assert set(tables) == {"public.big", "public.ev"}  # partitions are counted through their parent
    assert tables["public.big"].exact is False and tables["public.big"].rows == 5000
    assert tables["public.ev"].exact is True and tables["public.ev"].rows == 30
    verified = api.verify(config, result.id)
    assert verified.ok, verified.problems
    assert {t.name: t.actual for t in verified.tables} == {"big": 5000, "ev": 30}
