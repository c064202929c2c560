"""`pgwarden doctor` on a database with 5,000 tables (partitions included). Goal: at most 3 s wall time.

Builds, on a throw-away embedded server, 2,000 plain tables (bigserial key, one secondary index, a few
rows) and 50 partitioned tables with 60 monthly partitions each (3,000 partitions), then times the
whole `pgwarden doctor --json` process (Python start-up included) against a peer: the same check
queries run one after another by a single `psql -f` (what a team's copy-pasted PgHero-style
monitoring SQL does), on the same data, in the same run.

    python benchmarks/doctor_5000_tables.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import embedded_server  # noqa: E402

from pgwarden.doctor.registry import all_checks, load_sql  # noqa: E402
from pgwarden.doctor.thresholds import THRESHOLDS, resolve  # noqa: E402
from pgwarden.server import FAST_SETTINGS, bin_dir  # noqa: E402

PLAIN_TABLES = 2000
PARTITIONED = 50
PARTITIONS_EACH = 60
BATCH = 100

# Parameters of each SQL file, as the checks pass them with the default thresholds.
_DEFAULTS = resolve({})
PEER_PARAMS: dict[str, dict[str, object]] = {
    "long_running_queries": {"min_seconds": _DEFAULTS["long_query_warn"]},
    "idle_in_transaction": {"min_seconds": _DEFAULTS["idle_in_transaction_warn"]},
    "slow_queries": {"top": 10, "min_calls": int(_DEFAULTS["slow_query_calls"])},
    "unused_indexes": {"min_size": int(_DEFAULTS["unused_index_min_size"])},
    "missing_indexes": {
        "min_rows": int(_DEFAULTS["missing_index_min_rows"]),
        "min_seq_scans": int(_DEFAULTS["missing_index_min_seq_scans"]),
    },
    "bloat": {"min_size": int(_DEFAULTS["bloat_min_size"])},
    "dead_tuples": {"pct": _DEFAULTS["dead_tuples_warn_pct"], "min_dead": int(_DEFAULTS["dead_tuples_min"])},
    "vacuum_staleness": {"stale_seconds": _DEFAULTS["vacuum_stale"]},
    "largest_tables": {"top": int(_DEFAULTS["largest_tables_count"])},
}
PEER_FILES = [
    "connections",
    "connections_by_client",
    "long_running_queries",
    "idle_in_transaction",
    "blocked_queries",
    "statements_setup",
    "slow_queries",
    "cache_hit_ratio",
    "unused_indexes",
    "duplicate_indexes",
    "invalid_indexes",
    "missing_indexes",
    "bloat",
    "dead_tuples",
    "vacuum_staleness",
    "largest_tables",
    "wraparound_databases",
    "sequences",
]


def build(url: str) -> None:
    """Create the 5,000 tables in batches (one transaction per batch keeps the lock table small)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        for start in range(0, PLAIN_TABLES, BATCH):
            with conn.transaction():
                for i in range(start, start + BATCH):
                    conn.execute(
                        f"CREATE TABLE t{i} (id bigserial PRIMARY KEY, user_id int NOT NULL, "
                        f"created_at timestamptz NOT NULL DEFAULT now(), note text)"
                    )
                    conn.execute(f"CREATE INDEX t{i}_user ON t{i} (user_id)")
                    conn.execute(f"INSERT INTO t{i} (user_id, note) SELECT g, 'n' FROM generate_series(1, 5) g")
        for p in range(PARTITIONED):
            with conn.transaction():
                conn.execute(
                    f"CREATE TABLE events{p} (id bigint NOT NULL, at timestamptz NOT NULL, v int) "
                    "PARTITION BY RANGE (at)"
                )
                conn.execute(f"CREATE INDEX events{p}_at ON events{p} (at)")
                for m in range(PARTITIONS_EACH):
                    year, month = 2022 + m // 12, m % 12 + 1
                    nyear, nmonth = (year + 1, 1) if month == 12 else (year, month + 1)
                    conn.execute(
                        f"CREATE TABLE events{p}_{year}_{month:02d} PARTITION OF events{p} FOR VALUES "
                        f"FROM ('{year}-{month:02d}-01') TO ('{nyear}-{nmonth:02d}-01')"
                    )
        conn.execute("ANALYZE")
        count = conn.execute(
            "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
        ).fetchone()
        print(f"built {count[0] if count else '?'} tables ({PARTITIONED * PARTITIONS_EACH} of them partitions)")


def peer_script(folder: Path) -> Path:
    """The check queries as one psql script, parameters inlined, run sequentially on one connection."""
    parts = ["\\set QUIET on", "\\pset pager off"]
    for name in PEER_FILES:
        text = load_sql(name).replace("{schema}", "public")
        for key, value in PEER_PARAMS.get(name, {}).items():
            text = text.replace(f"%({key})s", repr(value))
        text = text.replace("%%", "%")
        assert not re.search(r"%\(\w+\)s", text), name
        parts.append(text.rstrip().rstrip(";") + ";")
    path = folder / "peer.sql"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path


def run_doctor(project: Path) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pgwarden.cli.main", "doctor", "--json"],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "PGWARDEN_CONFIG": str(project / "pgwarden.toml")},
    )
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        sys.exit(f"pgwarden doctor failed ({result.returncode}): {result.stderr[-2000:]}")
    return elapsed, json.loads(result.stdout)


def run_peer(url: str, script: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [str(bin_dir() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(script), "-o", os.devnull],
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"psql failed: {result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with embedded_server(FAST_SETTINGS) as server, tempfile.TemporaryDirectory(prefix="pgwarden-doctor-") as tmp:
        url = server.url("postgres")
        t0 = time.perf_counter()
        build(url)
        print(f"setup: {time.perf_counter() - t0:.1f}s")
        project = Path(tmp)
        (project / "pgwarden.toml").write_text(
            f'default_env = "bench"\n[environments.bench]\nurl = "{url}"\n', encoding="utf-8"
        )
        script = peer_script(project)
        run_doctor(project)  # warm the catalog caches for both
        run_peer(url, script)
        ours, inside, theirs = [], [], []
        last: dict[str, object] = {}
        for _ in range(args.runs):
            elapsed, last = run_doctor(project)
            ours.append(elapsed)
            inside.append(float(last["seconds"]))  # type: ignore[arg-type]
            theirs.append(run_peer(url, script))
        checks = last["checks"]
        assert isinstance(checks, list)
        slowest = sorted(checks, key=lambda c: -c["seconds"])[:4]
        print(
            f"checks: {len(checks)} ({len(all_checks())} registered, {len(THRESHOLDS)} thresholds); "
            f"counts {last['counts']}"
        )
        print("slowest checks: " + ", ".join(f"{c['name']} {c['seconds']:.2f}s" for c in slowest))
        med_ours, med_theirs = statistics.median(ours), statistics.median(theirs)
        print(
            f"pgwarden doctor (whole process, {len(checks)} checks, concurrent): median {med_ours:.2f}s "
            f"(min {min(ours):.2f}s) over {args.runs} runs; goal <= 3 s: {'met' if med_ours <= 3 else 'MISSED'}"
        )
        print(f"peer: same queries sequentially via one psql -f: median {med_theirs:.2f}s (min {min(theirs):.2f}s)")
        med_inside = statistics.median(inside)
        print(
            f"pgwarden doctor checks alone (in-process, without Python start-up and imports): median {med_inside:.2f}s"
        )
        print(
            f"ratio pgwarden / peer: {med_ours / med_theirs:.2f}x whole process, "
            f"{med_inside / med_theirs:.2f}x checks alone"
        )


if __name__ == "__main__":
    main()
