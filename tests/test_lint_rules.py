"""Every lint rule: its documented bad example is flagged and its safe rewrite is not; plus context tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pgwarden.errors import MigrationFileError
from pgwarden.lint.api import lint_paths
from pgwarden.lint.model import LintReport
from pgwarden.lint.registry import all_rules

RULES = all_rules()
STATIC = [rule for rule, meta in RULES.items() if not meta.needs_database]  # the others: test_lint_datachange


def lint_sql(tmp_path: Path, sql: str, name: str = "m.sql") -> LintReport:
    path = tmp_path / name
    path.write_text(textwrap.dedent(sql).strip() + "\n", encoding="utf-8")
    return lint_paths([path])


def active(report: LintReport, rule: str | None = None) -> list[tuple[str, str, int]]:
    return [
        (f.rule, f.severity, f.line) for f in report.findings if not f.suppressed and (rule is None or f.rule == rule)
    ]


@pytest.mark.parametrize("rule_id", STATIC)
def test_bad_example_is_flagged(tmp_path: Path, rule_id: str) -> None:
    report = lint_sql(tmp_path, RULES[rule_id].bad)
    hits = active(report, rule_id)
    assert hits, (rule_id, active(report))
    finding = next(f for f in report.findings if f.rule == rule_id)
    assert finding.safe_rewrite and finding.statement and finding.line >= 1 and finding.column >= 1
    assert finding.blocks in ("reads and writes", "writes", "nothing")


@pytest.mark.parametrize("rule_id", list(RULES))
def test_safe_rewrite_is_not_flagged(tmp_path: Path, rule_id: str) -> None:
    report = lint_sql(tmp_path, RULES[rule_id].safe)
    assert not active(report, rule_id), (rule_id, active(report))


def test_finding_carries_lock_blocks_and_location(tmp_path: Path) -> None:
    report = lint_sql(
        tmp_path,
        """
        SET lock_timeout = '2s';
        -- a comment
        CREATE INDEX orders_customer_idx ON orders (customer_id);
    """,
    )
    [finding] = report.findings
    assert (finding.rule, finding.severity, finding.line, finding.column) == (
        "create-index-not-concurrently",
        "error",
        3,
        1,
    )
    assert finding.lock == "SHARE" and finding.blocks == "writes"
    assert "CREATE INDEX CONCURRENTLY orders_customer_idx ON orders" in finding.safe_rewrite
    assert report.errors == [finding] and report.exit_code == 1


def test_raw_file_concurrently_only_fails_inside_begin(tmp_path: Path) -> None:
    outside = lint_sql(tmp_path, "CREATE INDEX CONCURRENTLY i ON t (a);", "a.sql")
    assert not active(outside, "concurrently-in-transaction")
    inside = lint_sql(
        tmp_path,
        """
        CREATE INDEX CONCURRENTLY i1 ON t (a);
        BEGIN;
        CREATE INDEX CONCURRENTLY i2 ON t (b);
        COMMIT;
        DROP INDEX CONCURRENTLY i3;
        START TRANSACTION;
        ALTER TABLE p DETACH PARTITION c CONCURRENTLY;
        ROLLBACK;
    """,
        "b.sql",
    )
    assert [line for _, _, line in active(inside, "concurrently-in-transaction")] == [3, 7]


def test_pgwarden_section_transaction_modes(tmp_path: Path) -> None:
    transactional = lint_sql(tmp_path, "-- migrate:up\nREINDEX INDEX CONCURRENTLY i;\n", "001_a.sql")
    assert active(transactional, "concurrently-in-transaction") == [("concurrently-in-transaction", "error", 2)]
    autocommit = lint_sql(tmp_path, "-- migrate:up transaction:false\nREINDEX INDEX CONCURRENTLY i;\n", "002_b.sql")
    assert not active(autocommit)


def test_validate_in_same_transaction_depends_on_context(tmp_path: Path) -> None:
    sql = (
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES customers (id) NOT VALID;\n"
        "ALTER TABLE orders VALIDATE CONSTRAINT fk;\n"
    )
    assert active(lint_sql(tmp_path, "-- migrate:up\n" + sql, "001_x.sql"), "validate-in-same-transaction")
    assert not active(lint_sql(tmp_path, "-- migrate:up transaction:false\n" + sql, "002_x.sql"))
    assert not active(lint_sql(tmp_path, sql, "plain.sql"), "validate-in-same-transaction")
    assert active(lint_sql(tmp_path, "BEGIN;\n" + sql + "COMMIT;\n", "begin.sql"), "validate-in-same-transaction")


def test_new_tables_are_known_across_files(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_create.sql").write_text(
        "-- migrate:up\nCREATE TABLE widgets (id bigint PRIMARY KEY, name varchar(20));\n"
    )
    (folder / "002_index.sql").write_text(
        "-- migrate:up\nCREATE INDEX widgets_name_idx ON widgets (name);\n"
        "ALTER TABLE widgets ALTER COLUMN name SET NOT NULL;\n"
        "ALTER TABLE widgets ADD CONSTRAINT widgets_name_key UNIQUE (name);\n"
        "ALTER TABLE widgets ALTER COLUMN id TYPE numeric;\n"
        "CREATE INDEX gadgets_idx ON gadgets (id);\n"
    )
    report = lint_paths([folder])
    assert active(report) == [("create-index-not-concurrently", "error", 6)]
    assert report.files == [str(folder / "001_create.sql"), str(folder / "002_index.sql")]


def test_type_changes_use_known_column_types(tmp_path: Path) -> None:
    report = lint_sql(
        tmp_path,
        """
        -- migrate:up
        SELECT 1;
    """,
        "000_noop.sql",
    )
    assert not report.findings
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "001_a.sql").write_text("CREATE TABLE t (a varchar(50), b numeric(10,2), c text, d integer);\n")
    (folder / "002_b.sql").write_text("-- pgwarden:ignore all pretend t is old and large\nSELECT 1;\n")
    # plain file run: t is new in the same run, so nothing is flagged at all
    (folder / "003_c.sql").write_text("ALTER TABLE t ALTER COLUMN a TYPE varchar(20);\n")
    assert not active(lint_paths([folder]), "alter-column-type")


def test_varchar_and_numeric_widening_rules() -> None:
    from pgwarden.lint.rules.columns import _type_change_is_safe as safe

    assert safe("varchar(20)", "varchar", (40,)) and safe("varchar(20)", "text", ())
    assert safe("varchar(20)", "varchar", ()) and safe("numeric(10,2)", "numeric", (12, 2))
    assert not safe(None, "text", ()) and not safe(None, "varchar", (320,))  # unknown old type: a rewrite
    # exact when known: the narrowing rewrites squawk is right about
    assert not safe("varchar(255)", "varchar", (50,)) and not safe("text", "varchar", (512,))
    assert not safe("bytea", "text", ()) and not safe("char(36)", "varchar", (36,))
    assert safe("cidr", "inet", ()) and safe("text", "varchar", ())
    assert not safe("varchar(40)", "varchar", (20,)) and not safe("integer", "text", ())
    assert not safe("numeric(10,2)", "numeric", (12, 3)) and not safe(None, "bigint", ())
    assert not safe("text", "varchar", (10,))


def test_not_null_recipe_has_no_false_alarm(tmp_path: Path) -> None:
    report = lint_sql(
        tmp_path,
        """
        ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;
        ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;
        ALTER TABLE users ALTER COLUMN email SET NOT NULL;
        ALTER TABLE users DROP CONSTRAINT users_email_nn;
        ALTER TABLE users ALTER COLUMN name SET NOT NULL;
    """,
    )
    assert [r for r, s, _ in active(report) if s != "info"] == ["set-not-null"]
    assert active(report, "set-not-null")[0][2] == 5


def test_volatile_and_stable_defaults(tmp_path: Path) -> None:
    report = lint_sql(
        tmp_path,
        """
        ALTER TABLE t ADD COLUMN a timestamptz DEFAULT now();
        ALTER TABLE t ADD COLUMN b timestamptz DEFAULT CURRENT_TIMESTAMP;
        ALTER TABLE t ADD COLUMN c jsonb NOT NULL DEFAULT '{}'::jsonb;
        ALTER TABLE t ADD COLUMN d text DEFAULT 'x' || 'y';
        ALTER TABLE t ADD COLUMN e double precision DEFAULT random();
        ALTER TABLE t ADD COLUMN f text DEFAULT md5(random()::text);
        ALTER TABLE t ADD COLUMN g int GENERATED ALWAYS AS (a_int * 2) VIRTUAL;
        ALTER TABLE t ADD COLUMN h bigint GENERATED BY DEFAULT AS IDENTITY;
        ALTER TABLE t ADD COLUMN i timestamp DEFAULT timezone('utc', now());
        ALTER TABLE t ADD COLUMN j text DEFAULT app.next_code();
    """,
    )
    assert [line for _, _, line in active(report, "add-column-rewrites-table")] == [5, 6, 8, 10]
    unknown = [f for f in report.findings if f.line == 10 and f.rule == "add-column-rewrites-table"][0]
    assert "next_code() which is VOLATILE unless declared" in unknown.message.replace(",", "")


def test_down_sections_are_one_severity_lower(tmp_path: Path) -> None:
    report = lint_sql(
        tmp_path,
        """
        -- migrate:up
        ALTER TABLE users ADD COLUMN nickname text;
        -- migrate:down
        ALTER TABLE users DROP COLUMN nickname;
        DROP TABLE legacy;
    """,
        "001_x.sql",
    )
    assert [(f.rule, f.severity, f.section) for f in report.findings] == [("drop-table", "warning", "down")]
    assert report.exit_code == 0


def test_ignore_comment_needs_a_reason(tmp_path: Path) -> None:
    report = lint_sql(
        tmp_path,
        """
        -- pgwarden:ignore drop-table archived to s3 in ticket OPS-12
        DROP TABLE legacy_a;
        -- pgwarden:ignore drop-table
        DROP TABLE legacy_b;
        -- pgwarden:ignore no-such-rule because
        DROP TABLE legacy_c;
    """,
    )
    suppressed = [(f.rule, f.line, f.reason) for f in report.findings if f.suppressed]
    assert suppressed == [("drop-table", 2, "archived to s3 in ticket OPS-12")]
    assert [a for a in active(report) if a[1] != "info"] == [
        ("drop-table", "error", 4),
        ("invalid-ignore", "warning", 3),
        ("drop-table", "error", 6),
        ("invalid-ignore", "warning", 5),
    ]


def test_config_disables_rules_and_overrides_severity(tmp_path: Path) -> None:
    from pgwarden.config import load_config

    (tmp_path / "pgwarden.toml").write_text(
        '[lint]\ndisable = ["destructive"]\nseverity = { "create-index-not-concurrently" = "warning" }\n'
    )
    config = load_config(tmp_path / "pgwarden.toml")
    path = tmp_path / "m.sql"
    path.write_text("DROP TABLE a;\nCREATE INDEX i ON b (c);\n")
    report = lint_paths([path], config=config)
    assert [(f.rule, f.severity, f.line) for f in report.active] == [
        ("missing-lock-timeout", "info", 1),
        ("create-index-not-concurrently", "warning", 2),
    ]
    assert report.exit_code == 0


def test_parse_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.sql"
    path.write_text("SELECT 1;\n\nALTER TABLE t ADD COLUMN;\n")
    with pytest.raises(MigrationFileError) as info:
        lint_paths([path])
    assert f"{path}:3:" in info.value.message and info.value.exit_code == 2


def test_lock_timeout_is_info_once_per_raw_file(tmp_path: Path) -> None:
    report = lint_sql(
        tmp_path,
        """
        ALTER TABLE a ADD COLUMN x text;
        ALTER TABLE b ADD COLUMN y text;
    """,
    )
    assert active(report) == [("missing-lock-timeout", "info", 1)]
    assert not lint_sql(tmp_path, "-- migrate:up\nALTER TABLE a ADD COLUMN x text;\n", "001_p.sql").findings
    assert not lint_sql(tmp_path, "SET lock_timeout TO '1s';\nALTER TABLE a ADD COLUMN x text;\n", "t.sql").findings


def test_data_change_with_ddl_in_either_order(tmp_path: Path) -> None:
    report = lint_sql(
        tmp_path,
        """
        -- migrate:up
        UPDATE accounts SET plan = 'free' WHERE plan IS NULL;
        ALTER TABLE accounts ALTER COLUMN plan SET DEFAULT 'free';
    """,
        "001_d.sql",
    )
    assert active(report, "data-change-with-ddl") == [("data-change-with-ddl", "warning", 3)]
    seeded = lint_sql(
        tmp_path,
        """
        -- migrate:up
        CREATE TABLE plans (code text PRIMARY KEY);
        INSERT INTO plans VALUES ('free'), ('pro');
        INSERT INTO plans SELECT DISTINCT plan FROM accounts WHERE plan IS NOT NULL;
    """,
        "002_e.sql",
    )
    assert not active(seeded)


def test_partitioned_recipes(tmp_path: Path) -> None:
    report = lint_sql(
        tmp_path,
        """
        CREATE TABLE m (id bigint, at timestamptz NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
        CREATE TABLE m_1 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
        ALTER TABLE m ADD CONSTRAINT m_id_key UNIQUE (id);
        CREATE UNIQUE INDEX m_id_at ON m (id, at);
        CREATE INDEX CONCURRENTLY m_id ON m (id);
    """,
    )
    assert [(r, line) for r, _, line in active(report) if r != "missing-lock-timeout"] == [
        ("partition-key-not-in-unique", 3),
        ("concurrent-index-on-partitioned", 5),
    ]


def test_psql_meta_commands_and_lock_outside_transaction(tmp_path: Path) -> None:
    report = lint_sql(
        tmp_path,
        """
        \\set ON_ERROR_STOP on
        SET lock_timeout = '2s';
        LOCK TABLE accounts IN SHARE MODE;
        BEGIN;
        LOCK TABLE accounts IN ROW EXCLUSIVE MODE;
        COMMIT;
    """,
    )
    assert active(report) == [("explicit-lock-table", "error", 3)]
    assert "can only be used in transaction blocks" in report.findings[0].message


def test_index_rewrites_keep_the_users_sql(tmp_path: Path) -> None:
    report = lint_sql(
        tmp_path,
        """
        CREATE TABLE m (id bigint, at date NOT NULL) PARTITION BY RANGE (at);
        COMMIT;
        CREATE UNIQUE INDEX m_idx ON orders USING btree (lower(email)) WHERE deleted_at IS NULL;
    """,
    )
    [finding] = [f for f in report.active if f.rule == "create-index-not-concurrently"]
    assert (
        "CREATE UNIQUE INDEX CONCURRENTLY m_idx ON orders USING btree (lower(email)) WHERE deleted_at IS NULL;"
    ) in finding.safe_rewrite
