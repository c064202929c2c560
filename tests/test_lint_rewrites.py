"""Every rule with a rewrite: the rewrite names the statement's own objects, parses, and, applied instead, passes lint.

Each scenario is an applied context file (the tables exist, size unknown) and a new file with
the bad statement. The rewrite is split into migrations at its "-- next migration" lines and
linted in place of the bad file (the context stays): the rule must not fire any more, and no
error may remain.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pgwarden.lint.api import lint_paths
from pgwarden.lint.registry import all_rules

CONTEXT = """
CREATE TABLE ledger_entries (entry_id bigint PRIMARY KEY, amount_cents integer, memo varchar(40),
                             booked_on timestamptz, account_ref bigint, note_text text);
CREATE TABLE account_book (acct_no bigint PRIMARY KEY);
CREATE TYPE entry_kind AS ENUM ('debit', 'credit');
CREATE TABLE ledger_parts (entry_id bigint, booked_on date NOT NULL, note_text text) PARTITION BY RANGE (booked_on);
CREATE TABLE ledger_parts_2025 PARTITION OF ledger_parts FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE ledger_staging (entry_id bigint, booked_on date);
CREATE INDEX ledger_entries_memo_idx ON ledger_entries (memo);
CREATE MATERIALIZED VIEW ledger_totals AS SELECT account_ref, sum(amount_cents) AS total FROM ledger_entries
  GROUP BY account_ref;
"""

# rule -> (bad statement(s), the file's first line); "raw" files are plain .sql run by psql
SCENARIOS: dict[str, tuple[str, str]] = {
    "create-index-not-concurrently": ("CREATE INDEX ledger_entries_booked_idx ON ledger_entries (booked_on);", "up"),
    "concurrently-in-transaction": (
        "CREATE INDEX CONCURRENTLY ledger_entries_ref_idx ON ledger_entries (account_ref);",
        "up",
    ),
    "drop-index-not-concurrently": ("DROP INDEX ledger_entries_memo_idx;", "up"),
    "reindex-not-concurrently": ("REINDEX INDEX ledger_entries_memo_idx;", "up"),
    "add-column-not-null-no-default": ("ALTER TABLE ledger_entries ADD COLUMN region_code text NOT NULL;", "up"),
    "add-column-rewrites-table": (
        "ALTER TABLE ledger_entries ADD COLUMN trace_id uuid DEFAULT gen_random_uuid();",
        "up",
    ),
    "alter-column-type": ("ALTER TABLE ledger_entries ALTER COLUMN amount_cents TYPE bigint;", "up"),
    "set-not-null": ("ALTER TABLE ledger_entries ALTER COLUMN memo SET NOT NULL;", "up"),
    "add-foreign-key-without-not-valid": (
        "ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_acct_fk FOREIGN "
        "KEY (account_ref) REFERENCES account_book (acct_no);",
        "up",
    ),
    "add-check-without-not-valid": (
        "ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_amount_ck CHECK (amount_cents >= 0);",
        "up",
    ),
    "add-unique-without-index": (
        "ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_memo_key UNIQUE (memo);",
        "up",
    ),
    "validate-in-same-transaction": (
        "ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_amount_ck "
        "CHECK (amount_cents >= 0) NOT VALID;\nALTER TABLE ledger_entries VALIDATE "
        "CONSTRAINT ledger_entries_amount_ck;",
        "up",
    ),
    "drop-table": ("DROP TABLE ledger_staging;", "up"),
    "drop-column": ("ALTER TABLE ledger_entries DROP COLUMN note_text;", "up"),
    "drop-schema": ("DROP SCHEMA bookkeeping_archive CASCADE;", "up"),
    "truncate": ("TRUNCATE ledger_staging;", "up"),
    "delete-without-where": ("DELETE FROM ledger_staging;", "up"),
    "update-without-where": ("UPDATE ledger_entries SET memo = 'n/a';", "up"),
    "rename-table": ("ALTER TABLE ledger_staging RENAME TO ledger_inbox;", "up"),
    "rename-column": ("ALTER TABLE ledger_entries RENAME COLUMN amount_cents TO amount;", "up"),
    "rename-enum-value": ("ALTER TYPE entry_kind RENAME VALUE 'credit' TO 'credit_note';", "up"),
    "vacuum-full": ("VACUUM FULL ledger_entries;", "up transaction:false"),
    "cluster": ("CLUSTER ledger_entries USING ledger_entries_memo_idx;", "up"),
    "refresh-matview-not-concurrently": ("REFRESH MATERIALIZED VIEW ledger_totals;", "up"),
    "table-rewrite": ("ALTER TABLE ledger_entries SET UNLOGGED;", "up"),
    "data-change-with-ddl": (
        "ALTER TABLE ledger_entries ADD COLUMN region_code text;\n"
        "UPDATE ledger_entries SET region_code = 'eu' WHERE entry_id < 100;",
        "up",
    ),
    "partition-key-not-in-unique": (
        "CREATE TABLE ledger_moves (move_id bigint PRIMARY KEY, moved_on date NOT NULL) PARTITION BY RANGE (moved_on);",
        "up",
    ),
    "partition-of-non-partitioned": (
        "CREATE TABLE ledger_staging_2025 PARTITION OF ledger_staging FOR VALUES "
        "FROM ('2025-01-01') TO ('2026-01-01');",
        "up",
    ),
    "attach-partition-without-check": ("CREATE TABLE ledger_parts_2026 (LIKE ledger_parts);\n", "context+"),
    "detach-partition-not-concurrently": ("ALTER TABLE ledger_parts DETACH PARTITION ledger_parts_2025;", "up"),
    "concurrent-index-on-partitioned": (
        "CREATE INDEX CONCURRENTLY ledger_parts_note_idx ON ledger_parts (note_text);",
        "up transaction:false",
    ),
    "enum-value-used-in-same-transaction": (
        "ALTER TYPE entry_kind ADD VALUE 'refund';\nUPDATE ledger_entries SET memo = 'refund' WHERE entry_id = 7;",
        "up",
    ),
    "index-predicate-not-immutable": (
        "CREATE INDEX CONCURRENTLY ledger_entries_recent_idx ON ledger_entries "
        "(booked_on) WHERE booked_on > now() - interval '30 days';",
        "up transaction:false",
    ),
    "create-existing-table": (
        "CREATE TABLE ledger_parts_2025 PARTITION OF ledger_parts FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');",
        "up",
    ),
    "int-primary-key": ("CREATE TABLE ledger_tags (tag_id integer PRIMARY KEY, label text);", "up"),
    "timestamp-without-time-zone": ("ALTER TABLE ledger_entries ADD COLUMN settled_at timestamp;", "up"),
    "char-n": ("ALTER TABLE ledger_entries ADD COLUMN currency char(3);", "up"),
    "missing-lock-timeout": ("ALTER TABLE ledger_entries ADD COLUMN region_code text;", "raw"),
    "explicit-lock-table": (
        "BEGIN;\nLOCK TABLE ledger_entries IN ACCESS EXCLUSIVE MODE;\n"
        "UPDATE ledger_entries SET memo = 'x' WHERE entry_id = 1;\nCOMMIT;",
        "raw",
    ),
    "invalid-ignore": ("-- pgwarden:ignore drop-table\nDROP TABLE ledger_staging;", "up"),
    "partition-convert-arguments": (
        "-- pgwarden:partition-convert table=public.ledger_entries key=booked_on",
        "up transaction:false",
    ),
    "partition-convert-widens-unique": (
        "-- pgwarden:partition-convert table=public.ledger_entries key=booked_on interval='1 month' widen_unique=true",
        "up transaction:false",
    ),
}
# A partition to attach needs its own context line (the table must exist, unpartitioned data).
ATTACH = "ALTER TABLE ledger_parts ATTACH PARTITION ledger_parts_2026 FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');"
CANNED = {
    "users",
    "orders",
    "legacy_flag",
    "legacy_orders",
    "full_name",
    "sessions",
    "audit_logs",
    "events",
    "customers",
    "country",
    "daily_sales",
    "order_status",
    "email",
}
NEEDS_DATABASE = {r for r, rule in all_rules().items() if rule.needs_database}


def test_every_rule_has_a_scenario() -> None:
    assert set(all_rules()) - NEEDS_DATABASE == set(SCENARIOS)


def _write(folder: Path, name: str, body: str, header: str) -> None:
    text = body if header == "raw" or body.lstrip().startswith("-- migrate:up") else f"-- migrate:{header}\n{body}"
    (folder / name).write_text(text.rstrip() + "\n", encoding="utf-8")


def _project(tmp_path: Path, rule: str) -> tuple[Path, str, str]:
    folder = tmp_path / "migrations"
    folder.mkdir()
    bad, header = SCENARIOS[rule]
    context = CONTEXT
    if header == "context+":
        context, bad, header = CONTEXT + bad, ATTACH, "up"
    (folder / "001_context.sql").write_text(f"-- migrate:up\n{context}", encoding="utf-8")
    return folder, bad, header


def _parts(rewrite: str) -> list[str]:
    return [p.strip() for p in re.split(r"(?im)^--[^\n]*\bnext migration\b[^\n]*$", rewrite) if p.strip()]


@pytest.mark.parametrize("rule", sorted(SCENARIOS))
def test_rewrite_is_real_parses_and_passes(tmp_path: Path, rule: str) -> None:
    folder, bad, header = _project(tmp_path, rule)
    _write(folder, "002_change.sql", bad, header)
    report = lint_paths([folder], latest=1)
    findings = [f for f in report.findings if f.rule == rule and not f.suppressed]
    assert findings, (rule, [(f.rule, f.message) for f in report.findings])
    rewrite = findings[0].safe_rewrite
    assert rewrite, rule
    words = set(re.findall(r"[a-z_]+", rewrite.lower()))
    assert not words & CANNED, (rule, rewrite)
    # applied instead: each part becomes the next migration after the context
    (folder / "002_change.sql").unlink()
    parts = _parts(rewrite)
    for index, part in enumerate(parts, start=2):
        _write(folder, f"{index:03d}_rewrite.sql", part, header if header != "context+" else "up")
    after = lint_paths([folder], latest=len(parts))  # parses, or MigrationFileError fails the test
    left = [(f.rule, f.line, f.message) for f in after.active if f.rule == rule or f.severity == "error"]
    assert not left, (rule, rewrite, left)
