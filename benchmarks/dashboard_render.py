"""`pgwarden serve`: time to render the overview of 20 environments (goal: under 200 ms), and one
environment's pages, against a peer measured in the same run: the equivalent status queries run by
`psql` once per environment (what a team's shell status page does), on the same 20 databases.

Builds on a throw-away embedded server 20 databases, each with two applied migrations (one pending), a
monthly partitioned table with its partitions premade, and rows; serves the dashboard with uvicorn in
this process and times HTTP GETs (rendering included) from a client in this process.

Then times a `/metrics` scrape of one database holding 5,000 tables (goal: under 1 s) against `psql`
running the same two SQL files `pgwarden metrics` runs.

    python benchmarks/dashboard_render.py [--envs 20] [--runs 15] [--tables 5000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from _common import embedded_server  # noqa: E402

from pgwarden.config import load_config  # noqa: E402
from pgwarden.migrations.api import up  # noqa: E402
from pgwarden.partition.api import MaintainOptions, maintain  # noqa: E402
from pgwarden.serve.api import app_for  # noqa: E402
from pgwarden.server import FAST_SETTINGS, bin_dir  # noqa: E402
from serve_helpers import running_server  # noqa: E402

MIGRATIONS = {
    "001_shop.sql": "CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text);\n"
    "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    "customer_id bigint REFERENCES customers (id), total numeric);",
    "002_events.sql": "CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY, created_at timestamptz NOT NULL, "
    "PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at);",
    "003_note.sql": "ALTER TABLE orders ADD COLUMN note text;",
}
PEER_SQL = (
    "SHOW server_version; "
    "SELECT max(version) FROM pgwarden.migrations WHERE status IN ('applied', 'baseline'); "
    "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = 'public.events'::regclass AND c.relpartbound IS NOT NULL;"
)


def build(root: Path, server_url: str, envs: int) -> list[str]:
    (root / "migrations").mkdir(parents=True)
    for name, body in MIGRATIONS.items():
        (root / "migrations" / name).write_text(f"-- migrate:up\n{body}\n", encoding="utf-8")
    names = [f"env{i:02d}" for i in range(1, envs + 1)]
    urls = {}
    with psycopg.connect(server_url, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            urls[name] = server_url.replace("/postgres?", f"/{name}?")
    config_text = 'migrations_dir = "migrations"\ndefault_env = "env01"\n'
    for name in names:
        config_text += f'[environments.{name}]\nurl = "{urls[name]}"\n'
    config_text += textwrap.dedent("""
        [[partitions]]
        table = "events"
        key = "created_at"
        interval = "1 month"
        premake = 3
        """)
    (root / "pgwarden.toml").write_text(config_text, encoding="utf-8")
    config = load_config(root / "pgwarden.toml")
    for name in names:
        up(config, name, to="002")
        maintain(config, name, MaintainOptions(now=datetime.now(UTC)))
    return [urls[n] for n in names]


def get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
        assert response.status == 200
    return time.perf_counter() - started


def peer(urls: list[str]) -> float:
    psql = str(bin_dir() / "psql")
    started = time.perf_counter()
    for url in urls:
        subprocess.run([psql, "-X", "-A", "-t", "-q", "-d", url, "-c", PEER_SQL], check=True, capture_output=True)
    return time.perf_counter() - started


PLAIN_TABLES = """
DO $$
BEGIN
  FOR i IN %(first)s..%(last)s LOOP
    EXECUTE format('CREATE TABLE t%%s (id bigserial PRIMARY KEY, v int, note text)', i);
  END LOOP;
END $$;
"""
PARTITIONED = """
CREATE TABLE hits (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at);
DO $$
BEGIN
  FOR i IN 0..99 LOOP
    EXECUTE format('CREATE TABLE hits_%s PARTITION OF hits FOR VALUES FROM (%L) TO (%L)', i,
                   date '2020-01-01' + i, date '2020-01-01' + i + 1);
  END LOOP;
END $$;
"""


def metrics_scrape(server_url: str, root: Path, tables: int, runs: int) -> tuple[float, float]:
    """Median seconds of a fresh /metrics scrape of a database with ``tables`` tables, and of the psql peer."""
    from pgwarden.doctor.registry import load_sql

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE big")
    url = server_url.replace("/postgres?", "/big?")
    with psycopg.connect(url, autocommit=True) as conn:
        for first in range(1, tables - 100 + 1, 500):  # batches: one transaction's lock table is bounded
            conn.execute(PLAIN_TABLES % {"first": first, "last": min(first + 499, tables - 100)})
        conn.execute(PARTITIONED)
        conn.execute("ANALYZE")
    root.mkdir()
    (root / "pgwarden.toml").write_text(
        f'default_env = "big"\n[environments.big]\nurl = "{url}"\n'
        '[serve]\noverview_max_age = "0s"\nsection_timeout = "30s"\n'
        'statement_timeout = "30s"\n',
        encoding="utf-8",
    )
    with running_server(app_for(load_config(root / "pgwarden.toml"))) as base:
        get(base + "/metrics")
        ours = statistics.median(get(base + "/metrics") for _ in range(runs))
    peer_file = root / "metrics.sql"
    peer_file.write_text(load_sql("metrics") + ";\n" + load_sql("sequences") + ";\n", encoding="utf-8")
    psql = str(bin_dir() / "psql")

    def once() -> float:
        started = time.perf_counter()
        subprocess.run([psql, "-X", "-q", "-d", url, "-f", str(peer_file)], check=True, capture_output=True)
        return time.perf_counter() - started

    theirs = statistics.median(once() for _ in range(runs))
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=20)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--tables", type=int, default=5000, help="tables for the /metrics scrape (0: skip)")
    args = parser.parse_args()
    with embedded_server(FAST_SETTINGS) as server, tempfile.TemporaryDirectory() as folder:
        urls = build(Path(folder) / "project", server.url("postgres"), args.envs)
        config_file = Path(folder) / "project" / "pgwarden.toml"
        cold_file = config_file.with_name("pgwarden-cold.toml")
        cold_file.write_text(config_file.read_text() + '[serve]\noverview_max_age = "0s"\n', encoding="utf-8")
        with running_server(app_for(load_config(cold_file))) as base:
            for _ in range(2):
                get(base + "/")  # warm-up: templates compiled, read-only URLs resolved
            cold = [get(base + "/") for _ in range(args.runs)]
        config = load_config(config_file)
        with running_server(app_for(config)) as base:
            for _ in range(2):
                get(base + "/")
            ours = [get(base + "/") for _ in range(args.runs)]
            pages = {
                slug: statistics.median(get(f"{base}/env/env01/{slug}") for _ in range(5))
                for slug in ("migrations", "partitions", "backups", "deploys", "locks")
            }
            metrics = statistics.median(get(base + "/metrics") for _ in range(5))
        theirs = [peer(urls) for _ in range(max(3, args.runs // 3))]
        scrape = metrics_scrape(server.url("postgres"), Path(folder) / "big", args.tables, 5) if args.tables else None
    ours_ms, theirs_ms = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
    cold_ms = statistics.median(cold) * 1000
    print(
        f"overview of {args.envs} environments (median of {args.runs}), figures at most overview_max_age (10 s) "
        f"old: {ours_ms:.0f} ms (goal < 200 ms: {'met' if ours_ms < 200 else 'NOT met'})"
    )
    print(
        f"overview of {args.envs} environments, every figure read for the request (overview_max_age 0s): "
        f"{cold_ms:.0f} ms"
    )
    print(f"peer: psql once per environment, same questions (fewer: no pending count, no backups): {theirs_ms:.0f} ms")
    print(f"ratio fresh pgwarden / peer: {cold_ms / theirs_ms:.2f}; cached pgwarden / peer: {ours_ms / theirs_ms:.2f}")
    print(
        "one environment's pages (median of 5): "
        + ", ".join(f"{slug} {seconds * 1000:.0f} ms" for slug, seconds in pages.items())
    )
    print(f"/metrics for {args.envs} environments (median of 5): {metrics * 1000:.0f} ms")
    if scrape:
        print(
            f"/metrics of one database with {args.tables} tables, fresh (median of 5): {scrape[0] * 1000:.0f} ms "
            f"(goal < 1 s: {'met' if scrape[0] < 1 else 'NOT met'}); psql running the same SQL: "
            f"{scrape[1] * 1000:.0f} ms; ratio {scrape[0] / scrape[1]:.2f}"
        )


if __name__ == "__main__":
    main()
