"""`pgwarden backup create` against a bare `pg_dump -Fc` with the same compression, on ~1 GB of pgbench data.

One embedded server, one pgbench database (scale 70 is about 1 GB), one run:
the two are timed alternately (``--rounds`` times each, best kept). Goal (issue 4):
pgwarden at most 1.05x pg_dump's wall time. Also times the directory format
with ``--jobs 2`` against the custom format (both through pgwarden) and prints
the speed-up.

    python benchmarks/backup_vs_pg_dump.py [--scale 70] [--rounds 2]
"""

from __future__ import annotations

import argparse
import shutil
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
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    compression = probe_compressions(bin_dir() / "pg_dump")[0]
    with embedded_server(FAST_SETTINGS) as server, tempfile.TemporaryDirectory(prefix="pgwarden-bb-") as work:
        root = Path(work)
        url = server.url("postgres")
        load = timed([str(bin_dir() / "pgbench"), "-i", "-q", "-s", str(args.scale), "--dbname", url])
        query = "SELECT pg_size_pretty(pg_database_size('postgres'))"
        size = subprocess.run([str(bin_dir() / "psql"), "-XAtc", query, url], capture_output=True, text=True,
                              check=True).stdout.strip()
        (root / "pgwarden.toml").write_text(f'default_env = "bench"\n[environments.bench]\nurl = "{url}"\n'
                                            f'[backup]\ndir = "{root / "backups"}"\n')
        config = str(root / "pgwarden.toml")
        pgwarden = [bin_path("pgwarden"), "--config", config, "backup", "create", "--json"]
        bare_file = root / "bare.pgdump"
        bare = [str(bin_dir() / "pg_dump"), "-Fc", "-Z", compression, "-f", str(bare_file), "--dbname", url]
        print(f"data: pgbench scale {args.scale}, database {size}, loaded in {load:.1f}s; "
              f"compression {compression}")

        def reset() -> None:
            shutil.rmtree(root / "backups", ignore_errors=True)
            bare_file.unlink(missing_ok=True)

        names = ("pg_dump -Fc", "pgwarden custom", "pgwarden directory -j2")
        times: dict[str, list[float]] = {name: [] for name in names}
        for _ in range(args.rounds):
            reset()
            times["pg_dump -Fc"].append(timed(bare))
            reset()
            times["pgwarden custom"].append(timed(pgwarden))
            reset()
            times["pgwarden directory -j2"].append(timed([*pgwarden, "--format", "directory", "--jobs", "2"]))
        reset()
        best = {name: min(values) for name, values in times.items()}
        for name, values in times.items():
            print(f"{name:<24} best {best[name]:7.2f}s  (runs: {', '.join(f'{v:.2f}' for v in values)})")
        print(f"pgwarden backup create / pg_dump -Fc: {best['pgwarden custom'] / best['pg_dump -Fc']:.3f}x "
              f"(goal <= 1.05x)")
        print(f"directory --jobs 2 speed-up over custom: "
              f"{best['pgwarden custom'] / best['pgwarden directory -j2']:.2f}x")


if __name__ == "__main__":
    main()
