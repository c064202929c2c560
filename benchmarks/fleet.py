"""Benchmark: `pgwarden fleet up` against a shell loop of `pgwarden migrate up` processes.

One embedded server, N databases, M migrations each (a table and an index per migration). Three rounds on
fresh databases: `fleet up --parallel 1`, `fleet up --parallel 4`, and N sequential `pgwarden migrate up`
processes (what a shell loop over the targets gives). Prints wall times and the ratio of the parallel
fleet run to the shell loop (goal: at most 0.3x).

    python benchmarks/fleet.py --databases 100 --migrations 20
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from pgwarden.server import FAST_SETTINGS, EmbeddedServer


def project(root: Path, migrations: int) -> None:
    folder = root / "migrations"
    folder.mkdir(parents=True)
    for i in range(1, migrations + 1):
        (folder / f"{i:03d}_t{i}.sql").write_text(
            f"-- migrate:up\nCREATE TABLE t{i} (id bigint PRIMARY KEY, v text);\nCREATE INDEX t{i}_v ON t{i} (v);\n"
            f"-- migrate:down\nDROP TABLE t{i};\n"
        )


def databases(server: EmbeddedServer, prefix: str, count: int) -> list[str]:
    names = [f"{prefix}_{n:03d}" for n in range(count)]
    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return names


def config(root: Path, server: EmbeddedServer, names: list[str]) -> Path:
    (root / "fleet.txt").write_text("".join(f"{n} {server.url(n)}\n" for n in names))
    path = root / "pgwarden.toml"
    path.write_text(
        f'migrations_dir = "migrations"\ndefault_env = "one"\n[environments.one]\n'
        f'url = "{server.url(names[0])}"\n[migrate]\nlint = false\n[fleet]\ntargets_file = "fleet.txt"\n'
    )
    return path


def pgwarden(*args: str, cwd: Path, cfg: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pgwarden.cli.main", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        env={**os.environ, "PGWARDEN_CONFIG": str(cfg)},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--databases", type=int, default=100)
    parser.add_argument("--migrations", type=int, default=20)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="pgwarden-bench-fleet-"))
    server = EmbeddedServer(base / "data", settings=FAST_SETTINGS)
    server.start()
    try:
        root = base / "project"
        project(root, args.migrations)
        times = {}
        for label, parallel in (("fleet --parallel 1", 1), ("fleet --parallel 4", 4)):
            cfg = config(root, server, databases(server, f"b{parallel}", args.databases))
            started = time.perf_counter()
            pgwarden("fleet", "up", "--parallel", str(parallel), cwd=root, cfg=cfg)
            times[label] = time.perf_counter() - started
            print(f"{label:>22}: {times[label]:7.2f} s", flush=True)
        names = databases(server, "bl", args.databases)
        started = time.perf_counter()
        for name in names:
            cfg = config(root, server, [name])
            pgwarden("migrate", "up", cwd=root, cfg=cfg)
        times["shell loop"] = time.perf_counter() - started
        print(f"{'shell loop of migrate up':>22}: {times['shell loop']:7.2f} s", flush=True)
        print(
            f"{args.databases} databases x {args.migrations} migrations: fleet --parallel 4 is "
            f"{times['fleet --parallel 4'] / times['shell loop']:.2f}x the shell loop, --parallel 1 "
            f"{times['fleet --parallel 1'] / times['shell loop']:.2f}x (goal: at most 0.3x)"
        )
    finally:
        server.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
