"""300 small migrations (a table and an index each) applied by pgwarden and by Alembic.

Same embedded server, fresh databases, one run. Alembic runs twice: with its default
(every migration in one transaction, holding every lock until the end) and with
``transaction_per_migration=True`` (pgwarden's guarantee: one transaction each). Also times the cold start of
`pgwarden --help` against `alembic --help`. Goals (issue 2): pgwarden at most
0.5x Alembic's wall time; `pgwarden --help` at most 0.25 s.

    pip install -e '.[bench]' && python benchmarks/migrate_vs_alembic.py [--count 300]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).parent))
from _common import bin_path, embedded_server, timed  # noqa: E402


def _pgwarden_project(root: Path, url: str, count: int) -> None:
    (root / "migrations").mkdir(parents=True)
    (root / "pgwarden.toml").write_text(f'default_env = "bench"\n[environments.bench]\nurl = "{url}"\n')
    for i in range(1, count + 1):
        (root / "migrations" / f"{i:04d}_table_{i}.sql").write_text(
            f"-- migrate:up\nCREATE TABLE t_{i} (id bigint PRIMARY KEY, v text);\n"
            f"CREATE INDEX t_{i}_v_idx ON t_{i} (v);\n-- migrate:down\nDROP TABLE t_{i};\n"
        )


def _alembic_project(root: Path, url: str, count: int, *, per_migration: bool) -> None:
    versions = root / "alembic" / "versions"
    versions.mkdir(parents=True)
    sa_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    (root / "alembic.ini").write_text(
        textwrap.dedent(f"""\
        [alembic]
        script_location = alembic
        sqlalchemy.url = {sa_url.replace("%", "%%")}
        """)
    )
    (root / "alembic" / "env.py").write_text(
        textwrap.dedent("""\
        from alembic import context
        from sqlalchemy import engine_from_config, pool

        config = context.config
        connectable = engine_from_config(config.get_section(config.config_ini_section), prefix="sqlalchemy.",
                                         poolclass=pool.NullPool)
        with connectable.connect() as connection:
            context.configure(connection=connection, target_metadata=None,
                              transaction_per_migration=PER_MIGRATION)
            with context.begin_transaction():
                context.run_migrations()
        """).replace("PER_MIGRATION", str(per_migration))
    )
    (root / "alembic" / "script.py.mako").write_text("")
    previous = None
    for i in range(1, count + 1):
        (versions / f"r{i:04d}.py").write_text(
            textwrap.dedent(f"""\
            from alembic import op

            revision = "r{i:04d}"
            down_revision = {previous!r}
            branch_labels = None
            depends_on = None


            def upgrade():
                op.execute("CREATE TABLE t_{i} (id bigint PRIMARY KEY, v text)")
                op.execute("CREATE INDEX t_{i}_v_idx ON t_{i} (v)")


            def downgrade():
                op.execute("DROP TABLE t_{i}")
            """)
        )
        previous = f"r{i:04d}"


def _table_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE 't\\_%'").fetchone()
        return int(row[0]) if row else 0


def _one_round(server, folder: Path, count: int, round_no: int) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    names = [f"r{round_no}_pgwarden", f"r{round_no}_alembic", f"r{round_no}_alembic_tpm"]
    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        for name in names:
            conn.execute(f"CREATE DATABASE {name}")
    pg_root = folder / f"r{round_no}_pgwarden"
    al_root, tpm_root = folder / f"r{round_no}_alembic", folder / f"r{round_no}_alembic_tpm"
    _pgwarden_project(pg_root, server.url(names[0]), count)
    _alembic_project(al_root, server.url(names[1]), count, per_migration=False)
    _alembic_project(tpm_root, server.url(names[2]), count, per_migration=True)
    pgwarden_s = timed(
        [bin_path("pgwarden"), "migrate", "up", "--json"],
        cwd=pg_root,
        env={"PGWARDEN_CONFIG": str(pg_root / "pgwarden.toml")},
    )
    alembic_s = timed([bin_path("alembic"), "upgrade", "head"], cwd=al_root)
    alembic_tpm_s = timed([bin_path("alembic"), "upgrade", "head"], cwd=tpm_root)
    for name in names:
        assert _table_count(server.url(name)) == count
    return pgwarden_s, alembic_s, alembic_tpm_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with embedded_server() as server, tempfile.TemporaryDirectory() as folder:
        rounds = [_one_round(server, Path(folder), args.count, i) for i in range(args.rounds)]
        help_pgwarden = statistics.median(timed([bin_path("pgwarden"), "--help"]) for _ in range(7))
        help_alembic = statistics.median(timed([bin_path("alembic"), "--help"]) for _ in range(7))
    pgwarden_s, alembic_s, alembic_tpm_s = (statistics.median(r[i] for r in rounds) for i in range(3))
    runs = "; ".join(f"{p:.2f}/{a:.2f}/{t:.2f}" for p, a, t in rounds)

    print(f"migrations applied:        {args.count} (a table and an index each), {args.rounds} rounds")
    print(f"runs pgwarden/alembic/alembic-per-migration (s): {runs}")
    print(f"pgwarden migrate up:       {pgwarden_s:.2f} s (median)")
    print(f"alembic upgrade head:      {alembic_s:.2f} s  (its default: all migrations in ONE transaction)")
    print(f"alembic, per migration:    {alembic_tpm_s:.2f} s  (transaction_per_migration=True, pgwarden's guarantee)")
    print(f"ratio pgwarden/alembic:    {pgwarden_s / alembic_s:.2f}x  (goal <= 0.50x)")
    print(f"ratio pgwarden/alembic per-migration: {pgwarden_s / alembic_tpm_s:.2f}x")
    print(f"pgwarden --help (median):  {help_pgwarden:.3f} s  (goal <= 0.250 s)")
    print(f"alembic --help (median):   {help_alembic:.3f} s  (ratio {help_pgwarden / help_alembic:.2f}x)")


if __name__ == "__main__":
    main()
