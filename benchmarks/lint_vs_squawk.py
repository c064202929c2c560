"""pgwarden lint vs squawk (PyPI squawk-cli) on 1,000 generated migration files, in one run.

Prints the wall time of each tool (median of 7 interleaved runs, both as the CLI a user
runs: the `pgwarden` and `squawk` console scripts, one process for all files), the ratio,
and per rule family how often the two agree on whether a file has a problem of that family.
Then the time `pgwarden lint --execute` adds on each example project (examples/*): the
latest migration executed on a scratch database after the earlier ones are replayed, as
deploy's preflight would, against plain `pgwarden lint` of the same file.

    python benchmarks/lint_vs_squawk.py [--files 1000] [--seed 7] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TABLES = ["orders", "users", "invoices", "events", "payments", "accounts", "sessions", "line_items"]

# (family, template); {t} a table, {c} a column, {n} a unique number
TEMPLATES: list[tuple[str, str]] = [
    ("index", "CREATE INDEX {t}_{c}_idx_{n} ON {t} ({c});"),
    ("index", "CREATE INDEX CONCURRENTLY IF NOT EXISTS {t}_{c}_cidx_{n} ON {t} ({c});"),
    ("index", "DROP INDEX IF EXISTS {t}_old_idx_{n};"),
    ("index", "DROP INDEX CONCURRENTLY IF EXISTS {t}_old_cidx_{n};"),
    ("index", "BEGIN;\nCREATE INDEX CONCURRENTLY {t}_{c}_bidx_{n} ON {t} ({c});\nCOMMIT;"),
    ("columns", "ALTER TABLE {t} ADD COLUMN {c}_{n} text;"),
    ("columns", "ALTER TABLE {t} ADD COLUMN {c}_{n} text NOT NULL;"),
    ("columns", "ALTER TABLE {t} ADD COLUMN {c}_{n} boolean NOT NULL DEFAULT false;"),
    ("columns", "ALTER TABLE {t} ADD COLUMN {c}_{n} uuid DEFAULT gen_random_uuid();"),
    ("columns", "ALTER TABLE {t} ADD COLUMN {c}_{n} timestamptz DEFAULT now();"),
    ("columns", "ALTER TABLE {t} ALTER COLUMN {c} TYPE bigint;"),
    ("columns", "ALTER TABLE {t} ALTER COLUMN {c} TYPE varchar(320);"),
    ("columns", "ALTER TABLE {t} ALTER COLUMN {c} TYPE text;"),
    ("columns", "ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL;"),
    ("constraints", "ALTER TABLE {t} ADD CONSTRAINT {t}_fk_{n} FOREIGN KEY ({c}) REFERENCES accounts (id);"),
    ("constraints", "ALTER TABLE {t} ADD CONSTRAINT {t}_fk_{n} FOREIGN KEY ({c}) REFERENCES accounts (id) NOT VALID;"),
    ("constraints", "ALTER TABLE {t} ADD CONSTRAINT {t}_ck_{n} CHECK ({c} > 0);"),
    ("constraints", "ALTER TABLE {t} ADD CONSTRAINT {t}_ck_{n} CHECK ({c} > 0) NOT VALID;"),
    ("constraints", "ALTER TABLE {t} VALIDATE CONSTRAINT {t}_ck_{n};"),
    ("constraints", "ALTER TABLE {t} ADD CONSTRAINT {t}_uq_{n} UNIQUE ({c});"),
    ("destructive", "DROP TABLE IF EXISTS {t}_legacy_{n};"),
    ("destructive", "ALTER TABLE {t} DROP COLUMN {c}_old;"),
    ("destructive", "ALTER TABLE {t} RENAME COLUMN {c} TO {c}_{n};"),
    ("destructive", "ALTER TABLE {t}_tmp_{n} RENAME TO {t}_new_{n};"),
    ("destructive", "TRUNCATE {t}_staging;"),
    ("destructive", "DELETE FROM {t}_staging;"),
    ("destructive", "UPDATE {t} SET {c} = 0;"),
    ("heavy", "VACUUM FULL {t};"),
    ("heavy", "CLUSTER {t} USING {t}_pkey;"),
    ("heavy", "REFRESH MATERIALIZED VIEW {t}_summary;"),
    ("heavy", "REFRESH MATERIALIZED VIEW CONCURRENTLY {t}_summary;"),
    ("hygiene", "CREATE TABLE {t}_{n} (id serial PRIMARY KEY, code char(2), seen_at timestamp);"),
    (
        "hygiene",
        "CREATE TABLE {t}_{n} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        "seen_at timestamptz NOT NULL DEFAULT now());",
    ),
    ("locking", "SET lock_timeout = '2s';"),
    ("other", "UPDATE {t} SET {c} = 0 WHERE id BETWEEN {n} AND {n} + 1000;"),
    ("other", "CREATE OR REPLACE VIEW {t}_v_{n} AS SELECT id FROM {t};"),
    ("other", "COMMENT ON TABLE {t} IS 'generated {n}';"),
]
COLUMNS = ["customer_id", "amount", "status", "email", "plan_id", "score"]

# squawk rule -> pgwarden family (style-only rules such as prefer-robust-stmts map to None)
SQUAWK_FAMILY = {
    "require-concurrent-index-creation": "index",
    "require-concurrent-index-deletion": "index",
    "ban-concurrent-index-creation-in-transaction": "index",
    "adding-required-field": "columns",
    "adding-field-with-default": "columns",
    "changing-column-type": "columns",
    "adding-not-nullable-field": "columns",
    "adding-serial-primary-key-field": "constraints",
    "adding-foreign-key-constraint": "constraints",
    "constraint-missing-not-valid": "constraints",
    "disallowed-unique-constraint": "constraints",
    "ban-alter-domain-with-add-constraint": "constraints",
    "ban-drop-table": "destructive",
    "ban-drop-column": "destructive",
    "ban-drop-database": "destructive",
    "renaming-table": "destructive",
    "renaming-column": "destructive",
    "ban-truncate-cascade": "destructive",
    "prefer-bigint-over-int": "hygiene",
    "prefer-bigint-over-smallint": "hygiene",
    "prefer-big-int": "hygiene",
    "prefer-identity": "hygiene",
    "prefer-timestamptz": "hygiene",
    "prefer-timestamp-tz": "hygiene",
    "ban-char-field": "hygiene",
    "require-lock-timeout": "locking",
    "require-timeout-settings": "locking",
}
FAMILIES = ["index", "columns", "constraints", "destructive", "heavy", "partitions", "hygiene", "locking"]


def generate(folder: Path, count: int, seed: int) -> list[Path]:
    """``count`` plain .sql migration files of 1 to 6 statements each."""
    rng = random.Random(seed)
    paths = []
    for i in range(count):
        body = []
        for j in range(rng.randint(1, 6)):
            _family, template = rng.choice(TEMPLATES)
            body.append(template.format(t=rng.choice(TABLES), c=rng.choice(COLUMNS), n=i * 10 + j))
        path = folder / f"{i:04d}_generated.sql"
        path.write_text("\n".join(body) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def timed(argv: list[str], cwd: Path | None = None) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall time, CPU time (user + system of the child) and the result of one run."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, cwd=cwd)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, result


def interleaved(
    runs: int, commands: dict[str, list[str]], cwd: Path | None = None
) -> dict[str, tuple[list[float], list[float], Any]]:
    """Run the commands alternately ``runs`` times (both tools see the same machine load)."""
    out: dict[str, tuple[list[float], list[float], Any]] = {name: ([], [], None) for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            wall, cpu, result = timed(argv, cwd)
            walls, cpus, _ = out[name]
            walls.append(wall)
            cpus.append(cpu)
            out[name] = (walls, cpus, result)
    return out


IN_PROCESS = """
import sys, time
from pathlib import Path
from pgwarden.lint.api import lint_paths
from pgwarden.lint.reporters import render
best = float("inf")
for _ in range(int(sys.argv[2])):
    started = time.perf_counter()
    render(lint_paths([Path(sys.argv[1])]), "json")
    best = min(best, time.perf_counter() - started)
print(best)
"""


def execute_cost(runs: int) -> None:
    """Time `pgwarden lint --latest 1` with and without --execute on every example project (median of ``runs``)."""
    from _common import embedded_server

    from pgwarden.server import FAST_SETTINGS

    examples = sorted(
        p for p in (Path(__file__).parent.parent / "examples").iterdir() if (p / "pgwarden.toml").is_file()
    )
    pgwarden = str(Path(sys.executable).parent / "pgwarden")
    with embedded_server(FAST_SETTINGS) as server, tempfile.TemporaryDirectory() as tmp:
        for example in examples:
            project = Path(tmp) / example.name
            shutil.copytree(example, project)
            config = project / "pgwarden.toml"
            config.write_text(f'scratch_url = "{server.url("postgres")}"\n' + config.read_text())
            files = len(list((project / "migrations").glob("*.sql")))
            plain = [pgwarden, "lint", "--latest", "1"]
            measured = interleaved(runs, {"plain": plain, "execute": [*plain, "--execute"]}, cwd=project)
            walls_plain, _, _ = measured["plain"]
            walls_exec, _, result = measured["execute"]
            if result.returncode not in (0, 1):
                sys.exit(f"pgwarden lint --execute failed on {example.name}: {result.stderr}")
            doc = subprocess.run(
                [*plain, "--execute", "--json"],
                cwd=project,
                capture_output=True,
                text=True,
                env={**os.environ, "PGWARDEN_CONFIG": str(config)},
            )
            inner = json.loads(doc.stdout)["execution"]["seconds"]
            med = statistics.median
            print(
                f"example {example.name} ({files} migrations, latest executed after replaying {files - 1}): "
                f"lint {med(walls_plain):.3f} s, lint --execute {med(walls_exec):.3f} s: --execute adds "
                f"{med(walls_exec) - med(walls_plain):.3f} s (execution itself, as reported: {inner:.3f} s)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--skip-execute", action="store_true", help="skip the --execute timing on examples/")
    args = parser.parse_args()
    squawk = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    if not Path(squawk).exists():
        sys.exit("squawk not found: pip install squawk-cli (the `bench` extra)")
    version = subprocess.run([squawk, "--version"], capture_output=True, text=True).stdout.strip()
    # an installed package has its bytecode compiled (pip does it at install time); an editable checkout run with
    # PYTHONDONTWRITEBYTECODE would recompile every module on every start: compile it once, as an install would
    import compileall

    import pgwarden

    compileall.compile_dir(str(Path(pgwarden.__file__).parent), quiet=1)
    pgwarden = str(Path(sys.executable).parent / "pgwarden")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = generate(folder, args.files, args.seed)
        statements = sum(p.read_text().count(";") for p in paths)
        measured = interleaved(
            args.runs,
            {
                "pgwarden": [pgwarden, "lint", "--json", str(folder)],
                "squawk": [squawk, "--reporter", "json", *map(str, paths)],
                "startup": [pgwarden, "lint", "--explain", "all"],
            },
        )
        ours_walls, ours_cpus, ours = measured["pgwarden"]
        theirs_walls, theirs_cpus, theirs = measured["squawk"]
        startup_walls, _cpus, _ = measured["startup"]
        if ours.returncode not in (0, 1):
            sys.exit(f"pgwarden lint failed: {ours.stderr}")
        library = subprocess.run(
            [sys.executable, "-c", IN_PROCESS, str(folder), str(args.runs)], capture_output=True, text=True, check=True
        )
        library_time = float(library.stdout)
        ours_doc = json.loads(ours.stdout)
        theirs_doc = json.loads(theirs.stdout or "[]")

    ours_flags: dict[str, set[str]] = {f: set() for f in FAMILIES}
    for finding in ours_doc["findings"]:
        if not finding["suppressed"]:
            ours_flags[finding["family"]].add(Path(finding["path"]).name)
    theirs_flags: dict[str, set[str]] = {f: set() for f in FAMILIES}
    unmapped: dict[str, int] = {}
    for violation in theirs_doc:
        family = SQUAWK_FAMILY.get(violation["rule_name"])
        if family is None:
            unmapped[violation["rule_name"]] = unmapped.get(violation["rule_name"], 0) + 1
            continue
        theirs_flags[family].add(Path(violation["file"]).name)

    names = {p.name for p in paths}
    print(f"{args.files} files, {statements} statements; pgwarden (the `pgwarden lint` console script) vs {version}")
    med = statistics.median
    print(
        f"CLI wall time, median of {args.runs} interleaved runs: pgwarden {med(ours_walls):.3f} s, "
        f"squawk {med(theirs_walls):.3f} s, ratio pgwarden/squawk = {med(ours_walls) / med(theirs_walls):.2f}x "
        f"(best: {min(ours_walls):.3f} s vs {min(theirs_walls):.3f} s = {min(ours_walls) / min(theirs_walls):.2f}x; "
        f"goal <= 3x)"
    )
    print(
        f"CLI CPU time, median: pgwarden {med(ours_cpus):.3f} s, squawk {med(theirs_cpus):.3f} s, "
        f"ratio {med(ours_cpus) / med(theirs_cpus):.2f}x"
    )
    print(f"pgwarden CLI start-up alone (`pgwarden lint --explain all`), median: {med(startup_walls):.3f} s")
    print(
        f"pgwarden library in-process (lint_paths + JSON render, no interpreter start-up), best of {args.runs}: "
        f"{library_time:.3f} s = {library_time / med(theirs_walls):.2f}x squawk's median CLI wall time"
    )
    print(
        f"findings: pgwarden {len(ours_doc['findings'])}, squawk {len(theirs_doc)} "
        f"(of which {sum(unmapped.values())} from rules with no pgwarden family)"
    )
    print(f"{'family':12} {'agree':>7} {'both':>6} {'only pgwarden':>14} {'only squawk':>12}")
    for family in FAMILIES:
        a, b = ours_flags[family], theirs_flags[family]
        both, only_a, only_b = len(a & b), len(a - b), len(b - a)
        agree = sum(1 for n in names if (n in a) == (n in b)) / len(names)
        print(f"{family:12} {agree:7.1%} {both:6} {only_a:14} {only_b:12}")
    if unmapped:
        print(
            "squawk rules without a pgwarden family: "
            + ", ".join(f"{k} ({v})" for k, v in sorted(unmapped.items(), key=lambda kv: -kv[1]))
        )
    if not args.skip_execute:
        execute_cost(max(3, args.runs // 2))


if __name__ == "__main__":
    main()
