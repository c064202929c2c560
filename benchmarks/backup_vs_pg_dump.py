"""`pgwarden backup create` against a bare `pg_dump -Fc` with the same compression, on ~1 GB of pgbench data.

One embedded server, one pgbench database (scale 70 is about 1 GB, accounts
split in 4 partitions so that parallel dumps have something to share), one run:
the contenders are timed in turn, ``--rounds`` times each with the order rotated
every round; the best time of each and the median of the per-round ratios are
printed. Goal (issue 4): pgwarden at most 1.05x pg_dump's wall time. Also times
the directory format with ``--jobs 2`` against the custom format (both through
pgwarden) and prints the speed-up.

    python benchmarks/backup_vs_pg_dump.py [--scale 70] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import bin_path, embedded_server, timed  # noqa: E402

from pgwarden.backup.runner import probe_compressions  # noqa: E402
from pgwarden.server import FAST_SETTINGS, bin_dir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=70)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    compression = probe_compressions(bin_dir() / "pg_dump")[0]
    with embedded_server(FAST_SETTINGS) as server, tempfile.TemporaryDirectory(prefix="pgwarden-bb-") as work:
        root = Path(work)
        url = server.url("postgres")
        load = timed(
            [str(bin_dir() / "pgbench"), "-i", "-q", "-s", str(args.scale), "--partitions", "4", "--dbname", url]
        )
        query = "SELECT pg_size_pretty(pg_database_size('postgres'))"
        size = subprocess.run(
            [str(bin_dir() / "psql"), "-XAtc", query, url], capture_output=True, text=True, check=True
        ).stdout.strip()
        (root / "pgwarden.toml").write_text(
            f'default_env = "bench"\n[environments.bench]\nurl = "{url}"\n[backup]\ndir = "{root / "backups"}"\n'
        )
        config = str(root / "pgwarden.toml")
        pgwarden = [bin_path("pgwarden"), "--config", config, "backup", "create", "--json"]
        bare_file = root / "bare.pgdump"
        bare = [str(bin_dir() / "pg_dump"), "-Fc", "-Z", compression, "-f", str(bare_file), "--dbname", url]
        print(f"data: pgbench scale {args.scale}, database {size}, loaded in {load:.1f}s; compression {compression}")

        def reset() -> None:
            shutil.rmtree(root / "backups", ignore_errors=True)
            bare_file.unlink(missing_ok=True)

        names = ("pg_dump -Fc", "pgwarden custom", "pgwarden directory -j2")
        times: dict[str, list[float]] = {name: [] for name in names}
        commands = {names[0]: bare, names[1]: pgwarden, names[2]: [*pgwarden, "--format", "directory", "--jobs", "2"]}
        for round_ in range(args.rounds):
            for name in names[round_ % 3 :] + names[: round_ % 3]:
                reset()
                times[name].append(timed(commands[name]))
        reset()
        print(f"machine: {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f} at the end")
        best = {name: min(values) for name, values in times.items()}
        for name, values in times.items():
            print(f"{name:<24} best {best[name]:7.2f}s  (runs: {', '.join(f'{v:.2f}' for v in values)})")
        paired = statistics.median(w / d for w, d in zip(times[names[1]], times[names[0]], strict=True))
        print(
            f"pgwarden backup create / pg_dump -Fc: best {best[names[1]] / best[names[0]]:.3f}x, "
            f"median of rounds {paired:.3f}x (goal <= 1.05x)"
        )
        print(
            f"directory --jobs 2 speed-up over custom: {best['pgwarden custom'] / best['pgwarden directory -j2']:.2f}x"
        )


if __name__ == "__main__":
    main()
