"""Which files are new: --latest, --git-base, the automatic choice, and context files that never make a table new."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import run_cli
from pgwarden.lint.api import lint_paths

BASE = (
    "-- migrate:up\nCREATE TABLE orders (id bigint PRIMARY KEY, total integer, note varchar(255));\n"
    "CREATE TABLE audit_logs (id bigint, user_id bigint, created_at timestamptz NOT NULL)\n"
    "  PARTITION BY RANGE (created_at);\n"
)
RISKY = (
    "-- migrate:up\nALTER TABLE orders ALTER COLUMN total TYPE bigint;\n"
    "ALTER TABLE orders ALTER COLUMN total SET NOT NULL;\n"
    "CREATE INDEX orders_total_idx ON orders (total);\n"
    "ALTER TABLE orders ADD COLUMN public_id uuid DEFAULT gen_random_uuid();\n"
    "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0);\n"
)


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_base.sql").write_text(BASE)
    (folder / "002_fk.sql").write_text(
        "-- migrate:up\nALTER TABLE audit_logs ADD CONSTRAINT audit_logs_order_fk "
        "FOREIGN KEY (user_id) REFERENCES orders (id) NOT VALID;\n"
    )
    (folder / "003_risky.sql").write_text(RISKY)
    (folder / "004_partition.sql").write_text(
        "-- migrate:up\nCREATE TABLE audit_logs_2026 PARTITION OF audit_logs "
        "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n"
    )
    return folder


def test_earlier_files_are_context_never_new(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    report = lint_paths([folder], latest=2)
    assert report.files == [str(folder / "003_risky.sql"), str(folder / "004_partition.sql")]
    assert report.context_files == [str(folder / "001_base.sql"), str(folder / "002_fk.sql")]
    assert report.selection and report.selection.startswith("linting 2 file(s) (--latest 2")
    found = [(f.rule, f.line) for f in report.errors]
    assert found == [
        ("alter-column-type", 2),
        ("set-not-null", 3),
        ("create-index-not-concurrently", 4),
        ("add-column-rewrites-table", 5),
        ("add-check-without-not-valid", 6),
    ]
    assert all("size unknown" in f.message for f in report.errors)
    # the FOREIGN KEY of 002 does not make the PARTITION OF in 004 an error (audit_logs is partitioned)
    assert not [f for f in report.findings if f.path.endswith("004_partition.sql")]
    # the same files linted as given: every table is created in the run, hence new and empty
    assert lint_paths([folder]).errors == []


def test_alter_type_is_exact_with_context_and_unknown_without(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "003_risky.sql").write_text("-- migrate:up\nALTER TABLE orders ALTER COLUMN note TYPE varchar(300);\n")
    (folder / "004_partition.sql").unlink()
    assert lint_paths([folder], latest=1).errors == []  # varchar(255) -> varchar(300): binary coercible
    [alone] = lint_paths([folder / "003_risky.sql"]).errors
    assert "old type of note is unknown" in alone.message and "graded as a rewrite" in alone.message


def test_cli_names_the_choice_on_its_first_line(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    out = run_cli("lint", "--latest", "1", str(folder), cwd=tmp_path)
    assert out.returncode == 0, out.stdout
    assert out.stdout.splitlines()[0] == (
        "linting 1 file(s) (--latest 1: the last 1 of 4 in migration order); "
        "3 earlier file(s) are context: their tables exist (size unknown, "
        "graded as large)"
    )
    (tmp_path / "pgwarden.toml").write_text('migrations_dir = "migrations"\n[environments.dev]\nurl = "embedded"\n')
    plain = run_cli("lint", cwd=tmp_path)  # no git here: the latest file
    assert plain.stdout.startswith("linting 1 file(s) (the latest file in migration order"), plain.stdout
    github = run_cli("lint", "--format", "github", "--latest", "2", cwd=tmp_path)
    assert github.returncode == 1 and github.stdout.startswith("linting 2 file(s)")
    assert "::error file=" in github.stdout and "title=set-not-null" in github.stdout
    assert run_cli("lint", "--latest", "0", cwd=tmp_path).returncode == 2


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_base_lints_what_changed(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "003_risky.sql").unlink()
    (folder / "004_partition.sql").unlink()

    def git(*args: str) -> None:
        subprocess.run(
            ["git", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            env={
                "GIT_AUTHOR_NAME": "t",
                "GIT_AUTHOR_EMAIL": "t@example.com",
                "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@example.com",
                "HOME": str(tmp_path),
                "PATH": "/usr/bin:/bin",
            },
        )

    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "base")
    git("checkout", "-q", "-b", "feature")
    (folder / "003_risky.sql").write_text(RISKY)
    git("add", ".")
    git("commit", "-q", "-m", "risky")
    (folder / "004_untracked.sql").write_text("-- migrate:up\nDROP TABLE orders;\n")
    report = lint_paths([folder], git_base="main")
    assert report.files == [str(folder / "003_risky.sql"), str(folder / "004_untracked.sql")]
    assert len(report.context_files) == 2 and {f.rule for f in report.errors} >= {"set-not-null", "drop-table"}
    (tmp_path / "pgwarden.toml").write_text('migrations_dir = "migrations"\n[environments.dev]\nurl = "embedded"\n')
    auto = json.loads(run_cli("lint", "--json", cwd=tmp_path).stdout)
    assert auto["selection"].startswith("linting 2 file(s) (changed since the merge base")
    bad = run_cli("lint", "--git-base", "no-such-ref", cwd=tmp_path)
    assert bad.returncode == 2 and "--git-base no-such-ref" in bad.stderr and "Traceback" not in bad.stderr


def test_fast_path_and_typer_print_the_same(tmp_path: Path) -> None:
    import subprocess as sp
    import sys

    folder = _folder(tmp_path)
    for args in (
        ["lint", "--json", "--latest", "2", str(folder)],
        ["lint", str(folder / "003_risky.sql")],
        ["lint", "--format", "sarif", str(folder)],
        ["lint", "--explain", "set-not-null"],
    ):
        fast = sp.run([sys.executable, "-m", "pgwarden.cli.entry", *args], capture_output=True, text=True, cwd=tmp_path)
        slow = run_cli(*args, cwd=tmp_path)
        assert (fast.returncode, fast.stdout) == (slow.returncode, slow.stdout), args
    bad = sp.run(
        [sys.executable, "-m", "pgwarden.cli.entry", "lint", str(tmp_path / "missing.sql")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("pgwarden: error: ") and "missing.sql" in bad.stderr
