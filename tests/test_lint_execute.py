"""`pgwarden lint --execute`: migrations applied on a scratch database, run-time failures reported like lint errors.

Corpus cases (tests/lint_corpus/runtime and tests/lint_corpus/data) are folders of migration
files: the last file is linted and executed, the earlier ones are context, replayed first.
A runtime case named ..._<SQLSTATE> must fail with that SQLSTATE when executed (the static
runtime rules are switched off to prove that execution finds it); ..._extension cases must
warn that the extension is not available on the scratch server.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pgwarden.lint.api import lint_paths
from pgwarden.lint.registry import all_rules

CORPUS = Path(__file__).parent / "lint_corpus"
STATIC_RUNTIME = [r.id for r in all_rules().values() if r.family == "runtime" and not r.needs_database]
EXTENSIONS = {"pg_cron": "pg_cron", "uuid_ossp": "uuid-ossp", "pgcrypto": "pgcrypto"}


def cases(*parts: str) -> list[Path]:
    return sorted(p for p in CORPUS.joinpath(*parts).iterdir() if p.is_dir())


def _config(project, extra: str = ""):  # type: ignore[no-untyped-def]
    project.write_config(extra)
    return project.config()


@pytest.mark.parametrize("case", cases("runtime", "dangerous"), ids=lambda p: p.name)
def test_runtime_failure_is_caught_by_execution(project, case: Path) -> None:  # type: ignore[no-untyped-def]
    disabled = ", ".join(f'"{r}"' for r in STATIC_RUNTIME)
    config = _config(project, f"[lint]\ndisable = [{disabled}]\n")
    report = lint_paths([case], config=config, latest=1, execute=True)
    executed = [f for f in report.active if f.rule in ("runtime-error", "extension-not-available")]
    last = sorted(case.glob("*.sql"))[-1]
    assert executed and all(f.path == str(last) for f in executed), [(f.rule, f.message) for f in report.active]
    if case.name.endswith("_extension"):
        extension = next(v for k, v in EXTENSIONS.items() if case.name.startswith(k))
        assert any(
            f.rule == "extension-not-available"
            and f"needs extension {extension}," in f.message
            and "not available on the scratch server" in f.message
            and f.severity == "warning"
            for f in executed
        )
        assert extension in report.execution.missing_extensions  # type: ignore[union-attr]
    else:
        sqlstate = case.name.rsplit("_", 1)[1]
        [failure] = [f for f in executed if f.rule == "runtime-error"]
        assert failure.severity == "error" and f"(SQLSTATE {sqlstate})" in failure.message
        statement_lines = range(failure.line - failure.statement.count("\n"), failure.line + 1)
        assert last.read_text().splitlines()[failure.line - 1].strip() and failure.line >= 2, statement_lines
    assert report.execution is not None and report.execution.executed == 1 and report.execution.replayed >= 1
    assert report.execution.seconds > 0


@pytest.mark.parametrize("case", cases("runtime", "dangerous"), ids=lambda p: p.name)
def test_runtime_case_is_flagged_with_every_rule_on(project, case: Path) -> None:  # type: ignore[no-untyped-def]
    report = lint_paths([case], config=_config(project), latest=1, execute=True)
    assert any(f.severity in ("error", "warning") for f in report.active)


@pytest.mark.parametrize("case", [*cases("runtime", "safe"), *cases("data", "safe")], ids=lambda p: p.name)
def test_safe_case_executes_cleanly(project, case: Path) -> None:  # type: ignore[no-untyped-def]
    report = lint_paths([case], config=_config(project), latest=1, execute=True)
    assert not [f for f in report.active if f.severity in ("error", "warning")], [
        (f.rule, f.message) for f in report.active
    ]
    assert report.execution is not None and not report.execution.replay_failures


@pytest.mark.parametrize("case", cases("data", "dangerous"), ids=lambda p: p.name)
def test_big_data_change_is_graded_on_the_scratch(project, case: Path) -> None:  # type: ignore[no-untyped-def]
    report = lint_paths([case], config=_config(project), latest=1, execute=True)
    [finding] = [f for f in report.active if f.rule == "large-data-change"]
    assert finding.severity == "error" and "EXPLAIN on the scratch database" in finding.message
    rows = re.search(r"about ([\d.]+)k rows", finding.message)
    assert rows and float(rows.group(1)) > 10, finding.message
    # the rewrite is a keyset-batched loop over the real table and key
    table = re.search(r"(?:UPDATE|DELETE FROM|FROM) (\w+)", finding.statement.split(" SELECT ")[-1])
    assert table and "transaction:false" in finding.safe_rewrite
    if finding.statement.startswith("UPDATE"):  # the backfill directive: resumable, batched by key
        assert f"-- pgwarden:backfill table=public.{table.group(1)} set=" in finding.safe_rewrite
    else:  # a keyset loop that commits each batch
        assert f"FROM {table.group(1)}" in finding.safe_rewrite and "COMMIT;" in finding.safe_rewrite


def test_execute_leaves_the_target_untouched_and_replays_applied(project, db) -> None:  # type: ignore[no-untyped-def]
    from pgwarden.migrations.api import up

    project.write_migration("001_people.sql", "CREATE TABLE people (id bigint PRIMARY KEY, name text);")
    up(project.config(), "test")
    project.write_migration(
        "002_touch.sql",
        """
        ALTER TABLE people ADD COLUMN updated_at timestamptz;
        CREATE TRIGGER people_touch BEFORE UPDATE ON people FOR EACH ROW EXECUTE FUNCTION touch();
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
    """,
    )
    out = project.cli("lint", "--env", "test", "--execute", check_exit=1)
    lines = out.stdout.splitlines()
    assert lines[0].startswith("linting 1 file(s) (pending in test); 1 earlier file(s) are context")
    assert any(
        re.search(
            r"002_touch\.sql:3:\d+: error \[runtime-error\] fails when executed: function touch\(\) "
            r"does not exist \(SQLSTATE 42883\)",
            line,
        )
        for line in lines
    ), out.stdout
    assert re.search(r"executed 1 file\(s\) on a scratch database in [\d.]+ s \(after replaying 1 earlier", out.stdout)
    # nothing ran on the target
    assert db.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'people' AND column_name = 'updated_at'"
    ).fetchone() == (0,)
    assert db.execute("SELECT version FROM pgwarden.migrations").fetchall() == [("001",)]
    doc = json.loads(project.cli("lint", "--env", "test", "--execute", "--json", check_exit=1).stdout)
    assert doc["execution"]["executed"] == 1 and doc["execution"]["seconds"] > 0
    # a file given by path, graded on test: the migrations applied there are replayed first
    extra = project.root / "hotfix.sql"
    extra.write_text("CREATE INDEX CONCURRENTLY people_name_idx ON people (name);\n")
    given = json.loads(project.cli("lint", "--env", "test", "--execute", "--json", str(extra), check_exit=0).stdout)
    assert given["execution"]["replayed"] == 1 and given["summary"]["errors"] == 0, given


def test_ignore_comment_silences_an_execution_finding(project) -> None:  # type: ignore[no-untyped-def]
    (project.migrations / "001_cron.sql").write_text(
        "-- migrate:up\n-- pgwarden:ignore extension-not-available pg_cron is installed on every server we use\n"
        "CREATE EXTENSION IF NOT EXISTS pg_cron;\n"
    )
    report = lint_paths([project.migrations], config=project.config(), execute=True)
    [finding] = report.findings
    assert finding.rule == "extension-not-available" and finding.suppressed and report.exit_code == 0
